package labnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"
)

// EnvLinks names the links file a lab-built hushd reads.
const EnvLinks = "HUSH_LAB_LINKS"

// ErrConfig reports a links file that cannot be used.
var ErrConfig = errors.New("labnet: bad links file")

// Profile is what a link does to the traffic crossing it.
type Profile struct {
	// RTT is the link's round trip; each direction gets half.
	RTT time.Duration `json:"rtt"`
	// Jitter moves each chunk's delay by up to ± this much.
	Jitter time.Duration `json:"jitter"`
	// Loss is the chance a segment (about 1,448 bytes) is lost.
	Loss float64 `json:"loss"`
	// Rate is the link's bandwidth in bits per second each way, 0 for
	// the veth's own. This package does not apply it: the lab shapes a
	// host's veth with `tc tbf` (internal/lab, Lab.Shape), since a
	// bandwidth is a host's link's, not a pair's.
	Rate int64 `json:"rate"`
}

// The lab's named profiles. The rates are a host's access link: a
// datacentre's (continental), a slower long-haul share, a mobile uplink.
var (
	LAN              = Profile{RTT: time.Millisecond}
	Continental      = Profile{RTT: 30 * time.Millisecond, Rate: 100_000_000}
	Intercontinental = Profile{RTT: 150 * time.Millisecond, Rate: 20_000_000}
	Mobile           = Profile{RTT: 80 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.02, Rate: 2_000_000}
)

// Profiles names the built-in profiles for links files.
var Profiles = map[string]Profile{
	"lan": LAN, "continental": Continental, "intercontinental": Intercontinental, "mobile": Mobile,
}

// IsZero reports whether the wrapper has nothing to do on the link (it
// leaves Rate to the lab).
func (p Profile) IsZero() bool { return p.RTT == 0 && p.Jitter == 0 && p.Loss == 0 }

// Rule gives the links between A and B (prefixes, either direction) a
// profile.
type Rule struct {
	A, B    netip.Prefix
	Profile Profile
}

// Config is a links file: the first rule that matches a connection's
// two addresses gives its profile, else Default.
type Config struct {
	Default Profile
	Rules   []Rule
}

// For returns the profile of the link between local and remote.
func (c *Config) For(local, remote netip.Addr) Profile {
	local, remote = local.Unmap(), remote.Unmap()
	for _, r := range c.Rules {
		if (r.A.Contains(local) && r.B.Contains(remote)) || (r.A.Contains(remote) && r.B.Contains(local)) {
			return r.Profile
		}
	}
	return c.Default
}

// jsonProfile is a profile in a links file: a built-in's name, or
// numbers in milliseconds.
type jsonProfile struct {
	Name     string  `json:"name,omitempty"`
	RTTms    float64 `json:"rtt_ms,omitempty"`
	JitterMs float64 `json:"jitter_ms,omitempty"`
	Loss     float64 `json:"loss,omitempty"`
	RateMbit float64 `json:"rate_mbit,omitempty"`
}

type jsonRule struct {
	A       string      `json:"a"`
	B       string      `json:"b"`
	Profile jsonProfile `json:"profile"`
}

type jsonConfig struct {
	Default jsonProfile `json:"default"`
	Rules   []jsonRule  `json:"rules"`
}

func (j jsonProfile) profile() (Profile, error) {
	if j.Name != "" {
		p, ok := Profiles[j.Name]
		if !ok {
			return Profile{}, fmt.Errorf("%w: no profile %q", ErrConfig, j.Name)
		}
		return p, nil
	}
	if j.RTTms < 0 || j.JitterMs < 0 || j.Loss < 0 || j.Loss >= 1 || j.RateMbit < 0 {
		return Profile{}, fmt.Errorf("%w: profile out of range", ErrConfig)
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	return Profile{RTT: ms(j.RTTms), Jitter: ms(j.JitterMs), Loss: j.Loss, Rate: int64(j.RateMbit * 1e6)}, nil
}

func prefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return p.Masked(), nil
}

// ParseConfig reads a links file:
//
//	{"default": {"name": "lan"},
//	 "rules": [{"a": "10.77.20.1", "b": "0.0.0.0/0", "profile": {"name": "mobile"}},
//	           {"a": "10.77.1.0/24", "b": "10.77.2.0/24", "profile": {"rtt_ms": 30}}]}
func ParseConfig(b []byte) (*Config, error) {
	var j jsonConfig
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := &Config{}
	var err error
	if c.Default, err = j.Default.profile(); err != nil {
		return nil, err
	}
	for _, r := range j.Rules {
		var rule Rule
		if rule.A, err = prefix(r.A); err != nil {
			return nil, err
		}
		if rule.B, err = prefix(r.B); err != nil {
			return nil, err
		}
		if rule.Profile, err = r.Profile.profile(); err != nil {
			return nil, err
		}
		c.Rules = append(c.Rules, rule)
	}
	return c, nil
}

// File is a links file as the lab writes it.
type File struct {
	Default string     `json:"-"`
	Rules   []FileRule `json:"-"`
}

// FileRule is one rule of a [File]: prefixes or addresses, and a
// built-in profile's name.
type FileRule struct{ A, B, Profile string }

// Marshal encodes f as a links file.
func (f File) Marshal() ([]byte, error) {
	j := jsonConfig{Default: jsonProfile{Name: f.Default}, Rules: []jsonRule{}}
	for _, r := range f.Rules {
		j.Rules = append(j.Rules, jsonRule{A: r.A, B: r.B, Profile: jsonProfile{Name: r.Profile}})
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := ParseConfig(b); err != nil {
		return nil, err
	}
	return b, nil
}

// LoadConfig reads the links file at path.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ParseConfig(b)
}
