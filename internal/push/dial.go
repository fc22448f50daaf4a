package push

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Web Push endpoints come from subscribers, so the push server would
// otherwise POST wherever anyone asks: to its own loopback services, the
// operator's private network or a cloud metadata address. Every Web Push
// connection therefore goes through [safeDialer], whose Control hook sees
// the address after name resolution, on every dial: a name that resolved
// to a public address at registration and to 127.0.0.1 later (DNS
// rebinding) is refused then. No proxy is used, so the hook sees the real
// destination.

// publicAddr reports whether a may be a Web Push destination: a unicast
// global address outside the private, shared (100.64/10), benchmarking
// and documentation ranges. allowLoopback (the test setting) admits
// loopback too.
func publicAddr(a netip.Addr, allowLoopback bool) bool {
	a = a.Unmap()
	if allowLoopback && a.IsLoopback() {
		return true
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// nonPublic are global-unicast ranges that are still not the public
// internet (RFC 6890 and its updates).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fc00::/7"),
}

// safeDialer dials only public addresses (see [publicAddr]).
func safeDialer(allowLoopback bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: dial address %q", ErrUnsafeEndpoint, address)
			}
			if !publicAddr(ap.Addr(), allowLoopback) {
				// The address is not logged: it is derived from a
				// subscriber's endpoint.
				return fmt.Errorf("%w: resolves to a non-public address", ErrUnsafeEndpoint)
			}
			return nil
		},
	}
	return d.DialContext
}

// CheckEndpoint is the registration-time check of a Web Push endpoint:
// an absolute https URL with a host, no user info, and, when the host is
// an IP literal, a public address. Names are checked again on every send.
func CheckEndpoint(endpoint string, allowLoopback bool) error {
	if len(endpoint) > maxEndpoint {
		return fmt.Errorf("%w: longer than %d bytes", ErrUnsafeEndpoint, maxEndpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("%w: not a URL", ErrUnsafeEndpoint)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("%w: must be an https URL with a host", ErrUnsafeEndpoint)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		if !publicAddr(a, allowLoopback) {
			return fmt.Errorf("%w: not a public address", ErrUnsafeEndpoint)
		}
	} else if !allowLoopback && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return fmt.Errorf("%w: localhost", ErrUnsafeEndpoint)
	}
	return nil
}

// maxEndpoint bounds an endpoint URL; real ones are a few hundred bytes.
const maxEndpoint = 1024

// endpointHost is the host the per-host rate limit counts (lowercase, no
// port).
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}
