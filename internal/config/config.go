// Package config is the configuration of hushd's servers, loaded in one
// step: defaults, then a strict TOML file ([Load]: unknown keys are
// refused), then command-line flags, then validation that names the bad
// field. [Node] is `hushd node`'s configuration; the registry host's
// (internal/registry.Config) is loaded with the same [Load] and written
// with the same [Duration].
//
// The pattern follows katzenpost's server/config and common/tomlstrict
// (strict TOML, validated in one place) and syncthing's
// flags-override-file order.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Duration is a time.Duration written as "10s" or "1m30s" in TOML and
// flags.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10s or 2m", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String returns the duration as time.Duration writes it ("1m0s"); with
// Set and Type it makes *Duration a pflag.Value.
func (d Duration) String() string { return time.Duration(d).String() }

// Set implements pflag.Value.
func (d *Duration) Set(s string) error { return d.UnmarshalText([]byte(s)) }

// Type implements pflag.Value.
func (d *Duration) Type() string { return "duration" }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Load decodes the TOML file at path into v, over whatever v already
// holds (its defaults). Unknown keys and wrongly typed values are errors
// that name the key (nested keys as table.key) and the line.
func Load(path string, v any) error {
	md, err := toml.DecodeFile(path, v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return fmt.Errorf("config %s: line %d: field %s: %s", path, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return fmt.Errorf("config %s: line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("config %s: unknown field %s", path, strings.Join(keys, ", "))
	}
	return nil
}
