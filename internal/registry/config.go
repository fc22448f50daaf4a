package registry

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// ErrConfig is wrapped by every error [LoadConfig] and [Config.Validate]
// return; the message names the offending field.
var ErrConfig = errors.New("invalid registry config")

// HostConfig names a registry host in a config file.
type HostConfig struct {
	Key         string `toml:"key"`
	RaftAddress string `toml:"raft_address"`
	APIAddress  string `toml:"api_address"`
}

// Config is one registry host's configuration. Only the genesis fields
// (Hosts with Bootstrap, Stewards, OpenAdmission, swarm sizes) reach the
// registry's state, through the genesis entry the first leader writes; a
// host that joins later takes them from the log, not from its config.
type Config struct {
	NetworkID string `toml:"network_id"`
	// DataDir holds the host key, the Raft log and stable store
	// (raft.db), and Raft snapshots (snapshots/).
	DataDir string `toml:"data_dir"`
	// RaftListen and APIListen are bound; the advertised forms are what
	// other hosts and nodes dial (default: the listen addresses).
	RaftListen    string `toml:"raft_listen"`
	RaftAdvertise string `toml:"raft_advertise"`
	APIListen     string `toml:"api_listen"`
	APIAdvertise  string `toml:"api_advertise"`

	// Bootstrap founds a new registry whose first hosts are Hosts (this
	// host among them; every founding host has the same list). Without
	// it the host waits to be added with `hushd registry join` and
	// trusts Hosts, the existing hosts, to replicate to it.
	Bootstrap bool         `toml:"bootstrap"`
	Hosts     []HostConfig `toml:"hosts"`
	// Stewards may admit nodes (hex Ed25519 keys).
	Stewards []string `toml:"stewards"`
	// OpenAdmission registers nodes without an admission: devnets only.
	OpenAdmission  bool `toml:"open_admission"`
	SwarmMinSize   int  `toml:"swarm_min_size"`
	SwarmIdealSize int  `toml:"swarm_ideal_size"`

	// EpochInterval is the time between epochs (snapshots).
	EpochInterval config.Duration `toml:"epoch_interval"`
	// SnapshotLifetime is how long after issue a snapshot stays valid;
	// several epochs, so a missed epoch does not strand clients.
	SnapshotLifetime config.Duration `toml:"snapshot_lifetime"`
	// ProbeInterval is how often this host tests every node.
	ProbeInterval config.Duration `toml:"probe_interval"`
	// UnreachableAfter is how long a node must fail every probe before
	// this host votes it unreachable.
	UnreachableAfter config.Duration `toml:"unreachable_after"`

	// TransparencyRequests is the steward's statement of requests for
	// data (TOML: period_start, period_end, text) that the host signs
	// into its transparency report; empty: transparency.toml in DataDir.
	TransparencyRequests string `toml:"transparency_requests"`

	Raft RaftConfig `toml:"raft"`
	API  APIConfig  `toml:"api"`
}

// APIConfig bounds what clients of the HTTPS API may hold: nodes,
// operators' tools and other hosts share it, so one source that opens
// idle connections, trickles its requests or long-polls many times gets
// a 503 past its share instead of taking the API from everyone.
type APIConfig struct {
	// ReadTimeout bounds reading a request, headers and body, and the TLS
	// handshake before it; IdleTimeout how long a kept-alive connection
	// may wait for its next request.
	ReadTimeout config.Duration `toml:"read_timeout"`
	IdleTimeout config.Duration `toml:"idle_timeout"`
	// MaxConns bounds the open connections, MaxConnsPerSource those from
	// one IP address (one /64 for IPv6). A loopback devnet's nodes all
	// share one source, so the per-source caps allow a large devnet.
	MaxConns          int `toml:"max_conns"`
	MaxConnsPerSource int `toml:"max_conns_per_source"`
	// MaxPolls and MaxPollsPerSource bound the snapshot long-polls held
	// open (each node holds one to one host; past the cap it is told to
	// try another host).
	MaxPolls          int `toml:"max_polls"`
	MaxPollsPerSource int `toml:"max_polls_per_source"`
}

// RaftConfig are hashicorp/raft's timers; the defaults suit a WAN.
type RaftConfig struct {
	HeartbeatTimeout   config.Duration `toml:"heartbeat_timeout"`
	ElectionTimeout    config.Duration `toml:"election_timeout"`
	LeaderLeaseTimeout config.Duration `toml:"leader_lease_timeout"`
	CommitTimeout      config.Duration `toml:"commit_timeout"`
	// SnapshotThreshold is how many log entries trigger a Raft snapshot.
	SnapshotThreshold uint64 `toml:"snapshot_threshold"`
}

// LoadConfig reads a TOML config, rejects keys it does not know (naming
// them), applies overrides (command-line flags) in order, fills defaults
// and validates.
func LoadConfig(path string, overrides ...func(*Config)) (*Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
		c.DataDir = filepath.Join(filepath.Dir(path), c.DataDir)
	}
	for _, o := range overrides {
		o(&c)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// SetDefaults fills every unset field that has a default.
func (c *Config) SetDefaults() {
	def := func(d *config.Duration, v time.Duration) {
		if *d == 0 {
			*d = config.Duration(v)
		}
	}
	if c.SwarmMinSize == 0 && c.SwarmIdealSize == 0 {
		p := swarm.DefaultParams()
		c.SwarmMinSize, c.SwarmIdealSize = p.MinSize, p.IdealSize
	}
	if c.RaftAdvertise == "" {
		c.RaftAdvertise = c.RaftListen
	}
	if c.APIAdvertise == "" {
		c.APIAdvertise = c.APIListen
	}
	def(&c.EpochInterval, time.Minute)
	def(&c.ProbeInterval, 30*time.Second)
	def(&c.UnreachableAfter, 5*time.Minute)
	def(&c.SnapshotLifetime, 10*time.Duration(c.EpochInterval))
	def(&c.Raft.HeartbeatTimeout, time.Second)
	def(&c.Raft.ElectionTimeout, time.Second)
	def(&c.Raft.LeaderLeaseTimeout, 500*time.Millisecond)
	def(&c.Raft.CommitTimeout, 50*time.Millisecond)
	if c.Raft.SnapshotThreshold == 0 {
		c.Raft.SnapshotThreshold = 8192
	}
	def(&c.API.ReadTimeout, 10*time.Second)
	def(&c.API.IdleTimeout, 30*time.Second)
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	// Each node holds about one connection and one long-poll to one host,
	// so the totals suit a few thousand nodes per host (raise the open
	// files limit above MaxConns); a loopback devnet of up to 64 nodes fits
	// the per-source caps.
	defInt(&c.API.MaxConns, 2048)
	defInt(&c.API.MaxConnsPerSource, 128)
	defInt(&c.API.MaxPolls, 1536)
	defInt(&c.API.MaxPollsPerSource, 64)
}

// Validate checks the config, naming the first bad field.
func (c *Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, a...))
	}
	if err := snapshot.CheckNetworkID(c.NetworkID); err != nil {
		return bad("network_id", "%v", err)
	}
	if c.DataDir == "" {
		return bad("data_dir", "required")
	}
	for _, a := range []struct{ field, addr string }{{"raft_advertise", c.RaftAdvertise}, {"api_advertise", c.APIAdvertise}} {
		if err := snapshot.CheckAddress(a.addr); err != nil {
			return bad(a.field, "%v", err)
		}
	}
	if c.RaftListen == "" {
		return bad("raft_listen", "required")
	}
	if c.APIListen == "" {
		return bad("api_listen", "required")
	}
	if _, err := c.hostInfos(); err != nil {
		return err
	}
	if _, err := c.stewardKeys(); err != nil {
		return err
	}
	if err := (swarm.Params{MinSize: c.SwarmMinSize, IdealSize: c.SwarmIdealSize}).Validate(); err != nil {
		return bad("swarm_min_size", "%v", err)
	}
	for _, d := range []struct {
		field string
		d     config.Duration
	}{{"epoch_interval", c.EpochInterval}, {"probe_interval", c.ProbeInterval},
		{"unreachable_after", c.UnreachableAfter}, {"snapshot_lifetime", c.SnapshotLifetime}} {
		if d.d <= 0 {
			return bad(d.field, "must be positive")
		}
	}
	for _, d := range []struct {
		field string
		d     config.Duration
	}{{"api.read_timeout", c.API.ReadTimeout}, {"api.idle_timeout", c.API.IdleTimeout}} {
		if d.d <= 0 {
			return bad(d.field, "must be positive")
		}
	}
	for _, v := range []struct {
		field string
		n     int
	}{{"api.max_conns", c.API.MaxConns}, {"api.max_conns_per_source", c.API.MaxConnsPerSource},
		{"api.max_polls", c.API.MaxPolls}, {"api.max_polls_per_source", c.API.MaxPollsPerSource}} {
		if v.n <= 0 {
			return bad(v.field, "must be positive")
		}
	}
	if c.SnapshotLifetime <= c.EpochInterval {
		return bad("snapshot_lifetime", "must exceed epoch_interval")
	}
	return nil
}

func (c *Config) hostInfos() ([]entry.HostInfo, error) {
	var out []entry.HostInfo
	for i, h := range c.Hosts {
		var k identity.Ed25519PublicKey
		if err := k.UnmarshalText([]byte(h.Key)); err != nil {
			return nil, fmt.Errorf("%w: hosts[%d].key: %v", ErrConfig, i, err)
		}
		hi := entry.HostInfo{Key: k, RaftAddress: h.RaftAddress, APIAddress: h.APIAddress}
		if err := hi.Check(); err != nil {
			return nil, fmt.Errorf("%w: hosts[%d]: %v", ErrConfig, i, err)
		}
		out = append(out, hi)
	}
	switch {
	case c.Bootstrap && len(out) == 0:
		return nil, fmt.Errorf("%w: hosts: bootstrap needs the founding hosts, this one included", ErrConfig)
	case !c.Bootstrap && len(out) == 0:
		return nil, fmt.Errorf("%w: hosts: a joining host needs the existing hosts, to trust their Raft connections", ErrConfig)
	}
	return out, nil
}

func (c *Config) stewardKeys() ([]identity.Ed25519PublicKey, error) {
	var out []identity.Ed25519PublicKey
	for i, s := range c.Stewards {
		var k identity.Ed25519PublicKey
		if err := k.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("%w: stewards[%d]: %v", ErrConfig, i, err)
		}
		if err := snapshot.CheckEd25519(k); err != nil {
			return nil, fmt.Errorf("%w: stewards[%d]: %v", ErrConfig, i, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// genesis is the founding entry this host's config describes.
func (c *Config) genesis() (*entry.Genesis, error) {
	hosts, err := c.hostInfos()
	if err != nil {
		return nil, err
	}
	stewards, err := c.stewardKeys()
	if err != nil {
		return nil, err
	}
	return &entry.Genesis{NetworkID: c.NetworkID, Hosts: hosts, Stewards: stewards, OpenAdmission: c.OpenAdmission,
		SwarmMinSize: c.SwarmMinSize, SwarmIdealSize: c.SwarmIdealSize}, nil
}

// KeyFile is the host key's file name inside the data directory.
const KeyFile = "host.key"

// ErrNoKey is returned by [LoadKey] when the data directory has no key;
// `hushd registry init` creates one.
var ErrNoKey = errors.New("no key file (`hushd registry init` creates the host key)")

// LoadKey reads the host key from dataDir.
func LoadKey(dataDir string) (ed25519.PrivateKey, error) {
	return ReadKeyFile(filepath.Join(dataDir, KeyFile))
}

// ReadKeyFile reads an Ed25519 key stored as its hex seed, as host.key
// and steward key files are; a missing file is [ErrNoKey].
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoKey, path)
	}
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: want a %d-byte hex seed", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// CreateKey writes a fresh host key into dataDir (mode 0600), refusing
// to replace one that exists.
func CreateKey(dataDir string) (ed25519.PrivateKey, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, KeyFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(f, "%x\n", priv.Seed()); err != nil {
		f.Close()
		return nil, err
	}
	return priv, f.Close()
}
