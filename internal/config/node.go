package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Node is everything `hushd node` can be told. Every field is also a
// flag, named after its TOML key with dashes (max_body_bytes →
// --max-body-bytes). The toml tag names the key and the flag; help is the
// flag's usage text.
type Node struct {
	Data       string `toml:"data" help:"data directory (keys, database)"`
	Listen     string `toml:"listen" help:"address to listen on for client and node traffic"`
	Advertise  string `toml:"advertise" help:"host:port others should use to reach this node (default: listen address; required for a wildcard listen outside standalone)"`
	Standalone bool   `toml:"standalone" help:"run a one-node network that owns every account"`
	NetworkID  string `toml:"network_id" help:"network ID (standalone default: standalone-<first 8 hex of the node key>)"`
	Metrics    string `toml:"metrics" help:"address for Prometheus metrics (empty: off)"`
	// Network and Registration make a registry-backed node.
	Network      string `toml:"network" help:"network file (JSON) naming the registry hosts and seeds (default: $HUSH_NETWORK, else the default devnet's)"`
	Registration string `toml:"registration" help:"file with a steward's signed admission of this node's key (JSON; not needed where the registry admits every node, as a devnet's does)"`

	InsecureHTTP    bool   `toml:"insecure_http" help:"serve plain HTTP instead of TLS (debugging only)"`
	DebugLogPrivate bool   `toml:"debug_log_private" help:"allow IP addresses, Account IDs and sizes in logs"`
	PublicStats     bool   `toml:"public_stats" help:"report the node's total stored message count in info (devnets; off by default: it shows traffic volume to anyone)"`
	LogLevel        string `toml:"log_level" help:"debug, info, warn or error"`

	RateLimitBurst     int     `toml:"rate_limit_burst" help:"per-IP burst of client requests"`
	RateLimitPerSecond float64 `toml:"rate_limit_per_second" help:"per-IP sustained client requests per second (0: no limit)"`
	// RelayNodeBurst and RelayNodePerSecond budget the onion frames each
	// relay node identity may forward to this node (internal/relay
	// "Budgets"): the aggregate of the clients behind it.
	RelayNodeBurst     int     `toml:"relay_node_burst" help:"onion requests one relay node identity may burst to this node (0: 20 × the relay's client burst)"`
	RelayNodePerSecond float64 `toml:"relay_node_per_second" help:"onion requests per second one relay node identity may send this node (0: 20 × the relay's client rate)"`
	MaxBodyBytes       int64   `toml:"max_body_bytes" help:"largest request body"`
	MaxHeaderBytes     int     `toml:"max_header_bytes" help:"largest request header block"`
	MaxConnections     int     `toml:"max_connections" help:"most client and node connections open at once; more wait to be accepted"`

	ReadHeaderTimeout Duration `toml:"read_header_timeout" help:"time to read request headers"`
	ReadTimeout       Duration `toml:"read_timeout" help:"time to read a whole request"`
	WriteTimeout      Duration `toml:"write_timeout" help:"time to write a response"`
	IdleTimeout       Duration `toml:"idle_timeout" help:"keep-alive idle time"`
	ShutdownTimeout   Duration `toml:"shutdown_timeout" help:"time in-flight requests get to finish on SIGTERM"`
	SweepInterval     Duration `toml:"sweep_interval" help:"how often expired messages are deleted"`
	// AntiEntropyInterval zero leaves replication's default (30 s).
	AntiEntropyInterval Duration `toml:"anti_entropy_interval" help:"time between anti-entropy rounds with the swarm's other members (0: 30s)"`
	// MaxHold and MaxHeldRelayed shape the onion relay's holds (fast
	// mode's long-polls, internal/relay "Holds"). write_timeout should
	// cover max_hold plus the relay's ordinary deadline (about 23 s).
	MaxHold        Duration `toml:"max_hold" help:"longest hold of an onion request this node honours as a relay or destination (0: none; at most 30s)"`
	MaxHeldRelayed int      `toml:"max_held_relayed" help:"most held onion requests in flight at once, apart from ordinary ones"`

	AccountQuotaBytes    int64  `toml:"account_quota_bytes" help:"most data bytes one account may hold in its owner-only namespaces together (0: store default)"`
	AccountQuotaMessages int64  `toml:"account_quota_messages" help:"most messages one account may hold in its owner-only namespaces together (0: store default)"`
	PublicQuotaBytes     int64  `toml:"public_quota_bytes" help:"most data bytes one account may hold in each public namespace, apart from the owner's quota (0: store default)"`
	PublicQuotaMessages  int64  `toml:"public_quota_messages" help:"most messages one account may hold in each public namespace (0: store default)"`
	MaxDBBytes           int64  `toml:"max_db_bytes" help:"database size cap (0: store default, negative: disk only)"`
	FloodPolicy          string `toml:"flood_policy" help:"full public inbox: evict (oldest) or refuse"`
	ReplayCacheSize      int    `toml:"replay_cache_size" help:"signatures remembered to refuse replays"`

	// Held retrieves (fast mode): each holds a connection or an HTTP/2
	// stream and a handler goroutine for up to rpc.MaxWait.
	MaxHeldRetrieves  int `toml:"max_held_retrieves" help:"most retrieves held open at once waiting for a message (fast mode); past it a retrieve that would wait is answered hold_full"`
	MaxHeldPerAccount int `toml:"max_held_per_account" help:"most retrieves held open at once for one account"`

	// Push notifications (internal/pushnotify): the node notifies the
	// network file's push server of new deposits for subscribed accounts.
	PushNotifyInterval Duration `toml:"push_notify_interval" help:"least time between two push notifies of one subscription; deposits in between go in the next one"`
	PushNotifyQueue    int      `toml:"push_notify_queue" help:"most new deposits waiting for the push notifier; more are dropped and counted (a store never waits)"`
}

// DefaultPort is the port a node listens on by default (Session's storage
// server HTTPS port).
const DefaultPort = 22021

// DefaultNode returns a node's defaults.
func DefaultNode() Node {
	data := "hushd-data"
	if home, err := os.UserHomeDir(); err == nil {
		data = filepath.Join(home, ".hushd", "node")
	}
	return Node{
		Data:               data,
		Listen:             ":" + strconv.Itoa(DefaultPort),
		LogLevel:           "info",
		RateLimitBurst:     ratelimit.DefaultBurst,
		RateLimitPerSecond: ratelimit.DefaultRate,
		MaxBodyBytes:       rpc.MaxBodySize,
		MaxHeaderBytes:     16 << 10,
		// Some 150 KiB each when idle over TLS: about 300 MiB at the cap.
		MaxConnections:    2048,
		ReadHeaderTimeout: Duration(5 * time.Second),
		ReadTimeout:       Duration(30 * time.Second),
		WriteTimeout:      Duration(30 * time.Second),
		IdleTimeout:       Duration(2 * time.Minute),
		ShutdownTimeout:   Duration(20 * time.Second),
		SweepInterval:     Duration(time.Minute),
		FloodPolicy:       "evict",
		ReplayCacheSize:   1_000_000,
		// nodeapi.DefaultMaxHeld and DefaultMaxHeldPerAccount: a few KiB
		// each, some 40 MiB at the cap; 8 covers an account's devices.
		MaxHeldRetrieves:  4096,
		MaxHeldPerAccount: 8,
		MaxHold:           Duration(onion.MaxHold),
		MaxHeldRelayed:    4096, // relay.DefaultMaxHeld (not imported: config stays a leaf)
		// pushnotify.DefaultInterval and DefaultQueueSize.
		PushNotifyInterval: Duration(5 * time.Second),
		PushNotifyQueue:    4096,
	}
}

// LoadNode returns a node's defaults overlaid with the TOML file at path
// (see [Load]).
func LoadNode(path string) (Node, error) {
	c := DefaultNode()
	err := Load(path, &c)
	return c, err
}

// RegisterFlags adds a flag for every field, bound to c's fields.
func (c *Node) RegisterFlags(fs *pflag.FlagSet) { registerFlags(fs, c) }

// ApplyFlags copies into dst every field whose flag was set on the command
// line, from src (the Node the flags were registered on).
func ApplyFlags(dst, src *Node, fs *pflag.FlagSet) { applyFlags(dst, src, fs) }

// registerFlags adds a flag for every field of the struct c points to,
// named after its toml tag, with its help tag as usage.
func registerFlags(fs *pflag.FlagSet, c any) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, help := flagName(f), f.Tag.Get("help")
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, help)
		case *bool:
			fs.BoolVar(p, name, *p, help)
		case *int:
			fs.IntVar(p, name, *p, help)
		case *int64:
			fs.Int64Var(p, name, *p, help)
		case *float64:
			fs.Float64Var(p, name, *p, help)
		case *Duration:
			fs.Var(p, name, help)
		default:
			panic("config: no flag type for " + f.Name)
		}
	}
}

func flagName(f reflect.StructField) string {
	return strings.ReplaceAll(f.Tag.Get("toml"), "_", "-")
}

// applyFlags copies into *dst every field whose flag was set, from *src;
// both point to the same struct type.
func applyFlags(dst, src any, fs *pflag.FlagSet) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := range dv.NumField() {
		if fs.Changed(flagName(dv.Type().Field(i))) {
			dv.Field(i).Set(sv.Field(i))
		}
	}
}

// badField is a validation error naming the field by its TOML key.
func badField(field, format string, args ...any) error {
	return fmt.Errorf("config field %s: %s", field, fmt.Sprintf(format, args...))
}

// Validate checks every field and returns an error naming the first bad
// one. It fills in what follows from other fields (advertise from listen).
func (c *Node) Validate() error {
	bad := badField
	if c.Data == "" {
		return bad("data", "required")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return bad("listen", "%q is not host:port", c.Listen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("listen", "bad port %q", port)
	}
	if c.Advertise == "" {
		switch {
		case host != "" && host != "0.0.0.0" && host != "::" && port != "0":
			c.Advertise = c.Listen
		case c.Standalone:
			c.Advertise = net.JoinHostPort("127.0.0.1", port)
		default:
			return bad("advertise", "required when listening on a wildcard address (%q)", c.Listen)
		}
	}
	if err := snapshot.CheckAddress(c.Advertise); err != nil && !(c.Standalone && strings.HasSuffix(c.Advertise, ":0")) {
		return bad("advertise", "%v", err)
	}
	switch {
	case c.Standalone && (c.Network != "" || c.Registration != ""):
		return bad("network", "a standalone node has no network file or registration")
	case !c.Standalone && c.Network == "":
		return bad("network", "required unless standalone: pass --network FILE, set HUSH_NETWORK, or run --standalone")
	}
	if c.NetworkID != "" {
		if err := snapshot.CheckNetworkID(c.NetworkID); err != nil {
			return bad("network_id", "%v", err)
		}
	}
	if c.Metrics != "" {
		if _, _, err := net.SplitHostPort(c.Metrics); err != nil {
			return bad("metrics", "%q is not host:port", c.Metrics)
		}
		if c.Metrics == c.Listen && port != "0" {
			return bad("metrics", "must differ from listen")
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return bad("log_level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if c.RateLimitPerSecond < 0 || (c.RateLimitPerSecond > 0 && c.RateLimitBurst < 1) {
		return bad("rate_limit_burst", "must be at least 1 with a rate limit")
	}
	if c.RelayNodeBurst < 0 || c.RelayNodePerSecond < 0 || (c.RelayNodeBurst == 0) != (c.RelayNodePerSecond == 0) {
		return bad("relay_node_burst", "relay_node_burst and relay_node_per_second are both set (positive) or both 0")
	}
	if c.MaxBodyBytes < 1024 {
		return bad("max_body_bytes", "at least 1024")
	}
	if c.MaxHeaderBytes < 1024 {
		return bad("max_header_bytes", "at least 1024")
	}
	if c.MaxConnections < 16 {
		return bad("max_connections", "at least 16")
	}
	for _, d := range []struct {
		name string
		d    Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout},
		{"idle_timeout", c.IdleTimeout}, {"shutdown_timeout", c.ShutdownTimeout}, {"sweep_interval", c.SweepInterval},
	} {
		if d.d <= 0 {
			return bad(d.name, "must be positive")
		}
	}
	if c.AntiEntropyInterval < 0 {
		return bad("anti_entropy_interval", "must not be negative")
	}
	if c.MaxHold < 0 || c.MaxHold.D() > onion.MaxHold {
		return bad("max_hold", "must be 0…%v", onion.MaxHold)
	}
	if c.MaxHeldRelayed < 1 {
		return bad("max_held_relayed", "at least 1")
	}
	for _, q := range []struct {
		name string
		v    int64
	}{
		{"account_quota_bytes", c.AccountQuotaBytes}, {"account_quota_messages", c.AccountQuotaMessages},
		{"public_quota_bytes", c.PublicQuotaBytes}, {"public_quota_messages", c.PublicQuotaMessages},
	} {
		if q.v < 0 {
			return bad(q.name, "must not be negative")
		}
	}
	if c.FloodPolicy != "evict" && c.FloodPolicy != "refuse" {
		return bad("flood_policy", "%q is not evict or refuse", c.FloodPolicy)
	}
	if c.ReplayCacheSize < 1000 {
		return bad("replay_cache_size", "at least 1000")
	}
	if c.MaxHeldRetrieves < 1 {
		return bad("max_held_retrieves", "at least 1")
	}
	if c.MaxHeldPerAccount < 1 {
		return bad("max_held_per_account", "at least 1")
	}
	if c.PushNotifyInterval.D() < 100*time.Millisecond || c.PushNotifyInterval.D() > time.Minute {
		// Past a minute coalesced deposits would be older than what wakes
		// anyone, and every member's retries must stay within the push
		// server's memory of tags.
		return bad("push_notify_interval", "must be 100ms…1m")
	}
	if c.PushNotifyQueue < 16 {
		return bad("push_notify_queue", "at least 16")
	}
	return nil
}
