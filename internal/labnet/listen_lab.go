//go:build lab

package labnet

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// reloadEvery is how often a lab process looks at its links file, so
// a test can change a link's profile while the network runs.
const reloadEvery = 250 * time.Millisecond

// links is the current links file, nil when $HUSH_LAB_LINKS is unset.
var links = sync.OnceValues(func() (func() *Config, error) {
	path := os.Getenv(EnvLinks)
	if path == "" {
		return nil, nil
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	var cur atomic.Pointer[Config]
	cur.Store(cfg)
	fi, _ := os.Stat(path)
	go func() {
		// Lives as long as the process: a lab server's listeners do.
		for range time.Tick(reloadEvery) {
			nfi, err := os.Stat(path)
			if err != nil || (fi != nil && nfi.ModTime().Equal(fi.ModTime()) && nfi.Size() == fi.Size()) {
				continue
			}
			if c, err := LoadConfig(path); err == nil {
				fi = nfi
				cur.Store(c)
			}
			// A half-written file is read again at the next tick.
		}
	}()
	return cur.Load, nil
})

// Listen is net.Listen with every accepted connection slowed by the
// links file $HUSH_LAB_LINKS names (no file: not slowed).
func Listen(network, address string) (net.Listener, error) {
	src, err := links()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLinks, err)
	}
	ln, err := net.Listen(network, address)
	if err != nil || src == nil {
		return ln, err
	}
	return WrapListenerFunc(ln, src), nil
}

// ListenPacket is net.ListenPacket with datagrams delayed and dropped
// by the links file $HUSH_LAB_LINKS names.
func ListenPacket(network, address string) (net.PacketConn, error) {
	src, err := links()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLinks, err)
	}
	pc, err := net.ListenPacket(network, address)
	if err != nil || src == nil {
		return pc, err
	}
	return WrapPacketConnFunc(pc, src), nil
}
