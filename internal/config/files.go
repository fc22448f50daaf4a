package config

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/hushnet/hush/protocol/files"
)

// Files is everything `hushd files` (internal/files) can be told. As for
// [Node], every field is also a flag named after its TOML key.
type Files struct {
	Data    string `toml:"data" help:"data directory (keys, blobs, metadata database)"`
	Listen  string `toml:"listen" help:"address to listen on for relays (HTTPS)"`
	Network string `toml:"network" help:"network file (JSON): serve only the nodes of its verified snapshots (empty: any relay, for tests)"`
	Metrics string `toml:"metrics" help:"address for Prometheus metrics (empty: off)"`

	DebugLogPrivate bool   `toml:"debug_log_private" help:"allow IP addresses, IDs and sizes in logs"`
	LogLevel        string `toml:"log_level" help:"debug, info, warn or error"`
	// TransparencyRequests is the steward's statement of requests for
	// data, signed into the published transparency report.
	TransparencyRequests string `toml:"transparency_requests" help:"TOML file with the steward's requests statement (period_start, period_end, text) for the signed transparency report (empty: transparency.toml in the data directory)"`

	MaxBlobBytes  int64    `toml:"max_blob_bytes" help:"largest blob (at most files.MaxPiece, the default)"`
	CapacityBytes int64    `toml:"capacity_bytes" help:"most blob bytes stored at once; past it uploads are refused with full (507)"`
	DefaultTTL    Duration `toml:"default_ttl" help:"expiry of an upload that asks none"`
	MaxTTL        Duration `toml:"max_ttl" help:"longest expiry an upload or extend is granted (longer asks are cut to it)"`

	// Budgets per relay node (per client address without a network) and
	// in total, in requests.
	RelayRatePerSecond float64 `toml:"relay_rate_per_second" help:"each relay's sustained requests per second"`
	RelayBurst         int     `toml:"relay_burst" help:"each relay's burst of requests"`
	TotalRatePerSecond float64 `toml:"total_rate_per_second" help:"all relays' sustained requests per second together"`
	TotalBurst         int     `toml:"total_burst" help:"all relays' burst of requests together"`
	MaxInFlight        int     `toml:"max_in_flight" help:"most requests read or served at once (each holds up to 2 MiB); relays share it fairly"`
	MaxConnections     int     `toml:"max_connections" help:"most relay connections open at once; more wait to be accepted"`
	ReplayCacheSize    int     `toml:"replay_cache_size" help:"onion layers remembered to refuse replays"`

	ReadHeaderTimeout Duration `toml:"read_header_timeout" help:"time to read request headers"`
	ReadTimeout       Duration `toml:"read_timeout" help:"time to read a whole request (a 2 MiB body)"`
	WriteTimeout      Duration `toml:"write_timeout" help:"time to write a response"`
	IdleTimeout       Duration `toml:"idle_timeout" help:"keep-alive idle time"`
	ShutdownTimeout   Duration `toml:"shutdown_timeout" help:"time in-flight requests get to finish on SIGTERM"`
	SweepInterval     Duration `toml:"sweep_interval" help:"how often expired blobs are deleted"`
}

// DefaultFilesPort is the port `hushd files` listens on by default.
const DefaultFilesPort = 22030

// DefaultFiles returns the file server's defaults.
func DefaultFiles() Files {
	data := "hushd-files"
	if home, err := os.UserHomeDir(); err == nil {
		data = filepath.Join(home, ".hushd", "files")
	}
	return Files{
		Data:          data,
		Listen:        ":" + strconv.Itoa(DefaultFilesPort),
		LogLevel:      "info",
		MaxBlobBytes:  files.MaxPiece,
		CapacityBytes: 10 << 30,
		// DESIGN §8: three weeks.
		DefaultTTL:         Duration(21 * 24 * time.Hour),
		MaxTTL:             Duration(30 * 24 * time.Hour),
		RelayRatePerSecond: 50,
		RelayBurst:         200,
		TotalRatePerSecond: 500,
		TotalBurst:         1000,
		// 256 requests of 2 MiB: about 512 MiB of bodies at the cap.
		MaxInFlight:       256,
		MaxConnections:    1024,
		ReplayCacheSize:   200_000,
		ReadHeaderTimeout: Duration(5 * time.Second),
		ReadTimeout:       Duration(30 * time.Second),
		WriteTimeout:      Duration(30 * time.Second),
		IdleTimeout:       Duration(2 * time.Minute),
		ShutdownTimeout:   Duration(10 * time.Second),
		SweepInterval:     Duration(time.Minute),
	}
}

// LoadFiles returns the defaults overlaid with the TOML file at path.
func LoadFiles(path string) (Files, error) {
	c := DefaultFiles()
	err := Load(path, &c)
	return c, err
}

// RegisterFlags adds a flag for every field, bound to c's fields.
func (c *Files) RegisterFlags(fs *pflag.FlagSet) { registerFlags(fs, c) }

// ApplyFilesFlags copies into dst every field whose flag was set, from
// src (the Files the flags were registered on).
func ApplyFilesFlags(dst, src *Files, fs *pflag.FlagSet) { applyFlags(dst, src, fs) }

// Validate checks every field and returns an error naming the first bad
// one.
func (c *Files) Validate() error {
	bad := func(field, format string, args ...any) error {
		return badField(field, format, args...)
	}
	if c.Data == "" {
		return bad("data", "required")
	}
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return bad("listen", "%q is not host:port", c.Listen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("listen", "bad port %q", port)
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
	switch {
	case c.MaxBlobBytes < 1 || c.MaxBlobBytes > files.MaxPiece:
		return bad("max_blob_bytes", "must be 1…%d", files.MaxPiece)
	case c.CapacityBytes < c.MaxBlobBytes:
		return bad("capacity_bytes", "must hold at least one blob of max_blob_bytes")
	case c.DefaultTTL < Duration(time.Second) || c.DefaultTTL > c.MaxTTL:
		return bad("default_ttl", "must be 1s…max_ttl")
	case c.MaxTTL.D() > files.MaxTTL:
		return bad("max_ttl", "at most %v", files.MaxTTL)
	case c.RelayRatePerSecond <= 0 || c.RelayBurst < 1:
		return bad("relay_rate_per_second", "rate and relay_burst must be positive")
	case c.TotalRatePerSecond <= 0 || c.TotalBurst < 1:
		return bad("total_rate_per_second", "rate and total_burst must be positive")
	case c.MaxInFlight < 1:
		return bad("max_in_flight", "at least 1")
	case c.MaxConnections < 16:
		return bad("max_connections", "at least 16")
	case c.ReplayCacheSize < 1000:
		return bad("replay_cache_size", "at least 1000")
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
	return nil
}

// RequestsFile is where a steward server reads the steward's requests
// statement: the configured file, else transparency.toml in data.
func RequestsFile(configured, data string) string {
	if configured != "" {
		return configured
	}
	return filepath.Join(data, "transparency.toml")
}
