package cli

import (
	"fmt"
	"os"

	"github.com/hushnet/hush/internal/netlookup"
	"github.com/hushnet/hush/protocol/netfile"
)

// loadNetwork reads the network file that flag, $HUSH_NETWORK or the
// default devnet names.
func loadNetwork(flag string) (*netfile.Network, string, error) {
	path, err := netlookup.Resolve(flag)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("network file: %w", err)
	}
	n, err := netfile.Parse(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return n, path, nil
}
