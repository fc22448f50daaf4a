//go:build lab

package labnet

import (
	"fmt"
	"net"
	"os"
	"sync"
)

var loaded = sync.OnceValues(func() (*Config, error) {
	path := os.Getenv(EnvLinks)
	if path == "" {
		return nil, nil
	}
	return LoadConfig(path)
})

// Listen is net.Listen with every accepted connection slowed by the
// links file $HUSH_LAB_LINKS names (no file: not slowed).
func Listen(network, address string) (net.Listener, error) {
	cfg, err := loaded()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLinks, err)
	}
	ln, err := net.Listen(network, address)
	if err != nil || cfg == nil {
		return ln, err
	}
	return WrapListener(ln, cfg), nil
}

// ListenPacket is net.ListenPacket with datagrams delayed and dropped
// by the links file $HUSH_LAB_LINKS names.
func ListenPacket(network, address string) (net.PacketConn, error) {
	cfg, err := loaded()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLinks, err)
	}
	pc, err := net.ListenPacket(network, address)
	if err != nil || cfg == nil {
		return pc, err
	}
	return WrapPacketConn(pc, cfg), nil
}
