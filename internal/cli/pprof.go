//go:build pprof

package cli

import (
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles, on the default mux
	"os"
)

// A build with -tags pprof serves net/http/pprof on the loopback address
// HUSH_PPROF names (for example 127.0.0.1:6061), so that a long run of
// `hush devnet up` or `hush tool load` can be profiled while it runs
// (issue 23's heap profiles). Release builds have no such listener.
func init() {
	addr := os.Getenv("HUSH_PPROF")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return
	}
	go http.ListenAndServe(addr, nil)
}
