package config

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// TURN configures `hushd turn` (internal/turn): the STUN/TURN server and
// its credential endpoint, an onion destination.
type TURN struct {
	Data         string `toml:"data" help:"data directory (keys, the credential secret, the saved snapshot)"`
	Listen       string `toml:"listen" help:"STUN/TURN address, on UDP and TCP (the network file's services.turn.address)"`
	TLSListen    string `toml:"tls_listen" help:"TURN over TLS address (services.turn.tls_address; empty: off)"`
	Endpoint     string `toml:"endpoint" help:"credential endpoint for relays, HTTPS (services.turn.endpoint)"`
	RelayIP      string `toml:"relay_ip" help:"the public IP relayed addresses are on and announced with (empty: listen's host, which must then be an IP other than 0.0.0.0)"`
	RelayPortMin int    `toml:"relay_port_min" help:"lowest UDP port of relayed addresses (0 with relay_port_max 0: any)"`
	RelayPortMax int    `toml:"relay_port_max" help:"highest UDP port of relayed addresses"`
	Network      string `toml:"network" help:"network file (JSON): issue credentials only to the nodes of its verified snapshots (empty: any relay, for tests)"`
	Metrics      string `toml:"metrics" help:"address for Prometheus metrics (empty: off)"`
	Realm        string `toml:"realm" help:"the TURN realm"`

	DebugLogPrivate      bool   `toml:"debug_log_private" help:"allow IP addresses and usernames in logs"`
	LogLevel             string `toml:"log_level" help:"debug, info, warn or error"`
	TransparencyRequests string `toml:"transparency_requests" help:"TOML file with the steward's requests statement (period_start, period_end, text) for the signed transparency report (empty: transparency.toml in the data directory)"`

	CredentialTTL Duration `toml:"credential_ttl" help:"how long an issued credential is accepted"`
	// Issuance budgets: credentials are anonymous, so what a relay (one
	// node identity) and everyone together may obtain is what is limited.
	RelayRatePerSecond float64 `toml:"relay_rate_per_second" help:"credentials each relaying node may obtain per second, sustained"`
	RelayBurst         int     `toml:"relay_burst" help:"each relaying node's burst of credentials"`
	TotalRatePerSecond float64 `toml:"total_rate_per_second" help:"credentials issued per second in total, sustained"`
	TotalBurst         int     `toml:"total_burst" help:"burst of credentials in total"`
	ReplayCacheSize    int     `toml:"replay_cache_size" help:"onion layers remembered to refuse replays"`

	MaxAllocationsPerCredential int   `toml:"max_allocations_per_credential" help:"relay allocations one credential may hold at once"`
	MaxAllocations              int   `toml:"max_allocations" help:"relay allocations in total"`
	AllocationBytesPerSecond    int64 `toml:"allocation_bytes_per_second" help:"bytes per second one allocation may relay (each way together); more is dropped"`
	TotalBytesPerSecond         int64 `toml:"total_bytes_per_second" help:"bytes per second relayed in total; more is dropped"`

	// AllowPrivatePeers lets allocations relay to loopback, private and
	// link-local peers: a devnet on 127.0.0.1 needs it; a public server
	// must not, or it becomes a way into the steward's own network.
	AllowPrivatePeers bool `toml:"allow_private_peers" help:"DEVNETS ONLY: relay to loopback, private and link-local peers"`

	ReadHeaderTimeout Duration `toml:"read_header_timeout" help:"credential endpoint: time to read request headers"`
	ReadTimeout       Duration `toml:"read_timeout" help:"credential endpoint: time to read a request"`
	WriteTimeout      Duration `toml:"write_timeout" help:"credential endpoint: time to write a response"`
	IdleTimeout       Duration `toml:"idle_timeout" help:"credential endpoint: keep-alive idle time"`
	ShutdownTimeout   Duration `toml:"shutdown_timeout" help:"time in-flight requests get to finish on SIGTERM"`
}

// DefaultTURNPort is the standard STUN/TURN port (RFC 8489), and
// DefaultTURNEndpointPort the credential endpoint's.
const (
	DefaultTURNPort         = 3478
	DefaultTURNEndpointPort = 22050
)

// DefaultTURN returns the defaults: a credential lives an hour; a call
// holds one allocation per transport tried, so five per credential; an
// audio call relays ~10 KB/s each way, a video call a few hundred KB/s.
func DefaultTURN() TURN {
	data := "hushd-turn"
	if home, err := os.UserHomeDir(); err == nil {
		data = filepath.Join(home, ".hushd", "turn")
	}
	return TURN{
		Data:                        data,
		Listen:                      ":" + strconv.Itoa(DefaultTURNPort),
		Endpoint:                    ":" + strconv.Itoa(DefaultTURNEndpointPort),
		Realm:                       "hush",
		LogLevel:                    "info",
		CredentialTTL:               Duration(time.Hour),
		RelayRatePerSecond:          2,
		RelayBurst:                  60,
		TotalRatePerSecond:          50,
		TotalBurst:                  500,
		ReplayCacheSize:             200_000,
		MaxAllocationsPerCredential: 5,
		MaxAllocations:              2000,
		AllocationBytesPerSecond:    1 << 20,
		TotalBytesPerSecond:         100 << 20,
		ReadHeaderTimeout:           Duration(5 * time.Second),
		ReadTimeout:                 Duration(10 * time.Second),
		WriteTimeout:                Duration(10 * time.Second),
		IdleTimeout:                 Duration(2 * time.Minute),
		ShutdownTimeout:             Duration(10 * time.Second),
	}
}

// LoadTURN reads a TOML file over the defaults.
func LoadTURN(path string) (TURN, error) {
	c := DefaultTURN()
	err := Load(path, &c)
	return c, err
}

// RegisterFlags registers a flag per field.
func (c *TURN) RegisterFlags(fs *pflag.FlagSet) { registerFlags(fs, c) }

// ApplyTURNFlags copies the flags set on the command line from src to dst.
func ApplyTURNFlags(dst, src *TURN, fs *pflag.FlagSet) { applyFlags(dst, src, fs) }

// RelayAddr is the IP relayed addresses are on: relay_ip, else listen's
// host. Valid after Validate.
func (c *TURN) RelayAddr() netip.Addr {
	if c.RelayIP != "" {
		a, _ := netip.ParseAddr(c.RelayIP)
		return a
	}
	host, _, _ := net.SplitHostPort(c.Listen)
	a, _ := netip.ParseAddr(host)
	return a
}

// Validate checks c; errors name the TOML key.
func (c *TURN) Validate() error {
	bad := badField
	if c.Data == "" {
		return bad("data", "required")
	}
	ports := map[string]string{}
	for _, a := range []struct{ name, v string }{{"listen", c.Listen}, {"tls_listen", c.TLSListen}, {"endpoint", c.Endpoint}, {"metrics", c.Metrics}} {
		if a.v == "" {
			if a.name == "listen" || a.name == "endpoint" {
				return bad(a.name, "required")
			}
			continue
		}
		_, port, err := net.SplitHostPort(a.v)
		if err != nil {
			return bad(a.name, "%q is not host:port", a.v)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return bad(a.name, "bad port %q", port)
		}
		if other, dup := ports[a.v]; dup && port != "0" {
			return bad(a.name, "must differ from %s", other)
		}
		ports[a.v] = a.name
	}
	relay := c.RelayAddr()
	switch {
	case c.RelayIP != "" && !relay.IsValid():
		return bad("relay_ip", "%q is not an IP address", c.RelayIP)
	case !relay.IsValid() || relay.IsUnspecified():
		return bad("relay_ip", "required when listen's host is not an IP address (relayed addresses are announced with it)")
	case c.RelayPortMin < 0 || c.RelayPortMax > 65535 || c.RelayPortMin > c.RelayPortMax || (c.RelayPortMin == 0) != (c.RelayPortMax == 0):
		return bad("relay_port_min", "relay_port_min…relay_port_max must be a port range, or both 0")
	case c.Realm == "":
		return bad("realm", "required")
	case !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel):
		return bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	case c.CredentialTTL < Duration(time.Minute) || c.CredentialTTL > Duration(48*time.Hour):
		return bad("credential_ttl", "must be 1m…48h")
	case c.RelayRatePerSecond <= 0 || c.RelayBurst < 1:
		return bad("relay_rate_per_second", "rate and relay_burst must be positive")
	case c.TotalRatePerSecond <= 0 || c.TotalBurst < 1:
		return bad("total_rate_per_second", "rate and total_burst must be positive")
	case c.ReplayCacheSize < 1000:
		return bad("replay_cache_size", "at least 1000")
	case c.MaxAllocationsPerCredential < 1:
		return bad("max_allocations_per_credential", "at least 1")
	case c.MaxAllocations < c.MaxAllocationsPerCredential:
		return bad("max_allocations", "at least max_allocations_per_credential")
	case c.AllocationBytesPerSecond < 10_000:
		return bad("allocation_bytes_per_second", "at least 10000 (an audio call)")
	case c.TotalBytesPerSecond < c.AllocationBytesPerSecond:
		return bad("total_bytes_per_second", "at least allocation_bytes_per_second")
	}
	for _, d := range []struct {
		name string
		d    Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout}, {"shutdown_timeout", c.ShutdownTimeout},
	} {
		if d.d <= 0 {
			return bad(d.name, "must be positive")
		}
	}
	return nil
}
