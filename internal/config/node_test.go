package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadNode(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantErr string // substring; "" means success
		check   func(t *testing.T, c Node)
	}{
		{name: "minimal standalone", toml: "standalone = true\nlisten = \"127.0.0.1:9000\"\n", check: func(t *testing.T, c Node) {
			if c.Advertise != "127.0.0.1:9000" || c.RateLimitBurst != 600 || c.SweepInterval.D() != time.Minute {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "durations", toml: "standalone = true\nread_timeout = \"3s\"\n", check: func(t *testing.T, c Node) {
			if c.ReadTimeout.D() != 3*time.Second || c.Advertise != "127.0.0.1:22021" {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "unknown key", toml: "standalone = true\nlisten_addr = \"x\"\n", wantErr: "unknown field listen_addr"},
		{name: "wrong type", toml: "standalone = \"yes\"\n", wantErr: "standalone"},
		{name: "bad duration", toml: "standalone = true\nread_timeout = \"soon\"\n", wantErr: "read_timeout"},
		{name: "no network file", toml: "listen = \"127.0.0.1:1\"\nnetwork_id = \"x\"\n", wantErr: "config field network"},
		{name: "standalone with network file", toml: "standalone = true\nnetwork = \"n.json\"\n", wantErr: "config field network"},
		{name: "network node", toml: "listen = \"127.0.0.1:1\"\nnetwork = \"n.json\"\n", check: func(t *testing.T, c Node) {
			if c.Network != "n.json" || c.Advertise != "127.0.0.1:1" {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "bad listen", toml: "standalone = true\nlisten = \"nowhere\"\n", wantErr: "config field listen"},
		{name: "bad network id", toml: "standalone = true\nnetwork_id = \"Bad ID\"\n", wantErr: "config field network_id"},
		{name: "bad advertise", toml: "standalone = true\nadvertise = \"example.com\"\n", wantErr: "config field advertise"},
		{name: "bad log level", toml: "standalone = true\nlog_level = \"loud\"\n", wantErr: "config field log_level"},
		{name: "bad flood policy", toml: "standalone = true\nflood_policy = \"drop\"\n", wantErr: "config field flood_policy"},
		{name: "too few connections", toml: "standalone = true\nmax_connections = 2\n", wantErr: "config field max_connections"},
		{name: "negative public quota", toml: "standalone = true\npublic_quota_messages = -1\n", wantErr: "config field public_quota_messages"},
		{name: "zero timeout", toml: "standalone = true\nwrite_timeout = \"0s\"\n", wantErr: "config field write_timeout"},
		{name: "anti-entropy interval", toml: "standalone = true\nanti_entropy_interval = \"300ms\"\n", check: func(t *testing.T, c Node) {
			if c.AntiEntropyInterval.D() != 300*time.Millisecond {
				t.Fatalf("anti_entropy_interval %v", c.AntiEntropyInterval.D())
			}
		}},
		{name: "negative anti-entropy interval", toml: "standalone = true\nanti_entropy_interval = \"-1s\"\n", wantErr: "config field anti_entropy_interval"},
		{name: "held retrieve bounds", toml: "standalone = true\nmax_held_retrieves = 100\nmax_held_per_account = 2\n", check: func(t *testing.T, c Node) {
			if c.MaxHeldRetrieves != 100 || c.MaxHeldPerAccount != 2 {
				t.Fatalf("max_held_retrieves %d, max_held_per_account %d", c.MaxHeldRetrieves, c.MaxHeldPerAccount)
			}
		}},
		{name: "held retrieve defaults", toml: "standalone = true\n", check: func(t *testing.T, c Node) {
			if c.MaxHeldRetrieves != 4096 || c.MaxHeldPerAccount != 8 {
				t.Fatalf("max_held_retrieves %d, max_held_per_account %d", c.MaxHeldRetrieves, c.MaxHeldPerAccount)
			}
		}},
		{name: "relay node budget", toml: "standalone = true\nrelay_node_burst = 100\nrelay_node_per_second = 5\n", check: func(t *testing.T, c Node) {
			if c.RelayNodeBurst != 100 || c.RelayNodePerSecond != 5 {
				t.Fatalf("relay_node_burst %d, relay_node_per_second %v", c.RelayNodeBurst, c.RelayNodePerSecond)
			}
		}},
		{name: "relay node burst without rate", toml: "standalone = true\nrelay_node_burst = 100\n", wantErr: "config field relay_node_burst"},
		{name: "no held retrieves", toml: "standalone = true\nmax_held_retrieves = 0\n", wantErr: "config field max_held_retrieves"},
		{name: "no held retrieves per account", toml: "standalone = true\nmax_held_per_account = -1\n", wantErr: "config field max_held_per_account"},
		{name: "push notify defaults", toml: "standalone = true\n", check: func(t *testing.T, c Node) {
			if c.PushNotifyInterval.D() != 5*time.Second || c.PushNotifyQueue != 4096 {
				t.Fatalf("push_notify_interval %v, push_notify_queue %d", c.PushNotifyInterval, c.PushNotifyQueue)
			}
		}},
		{name: "push notify", toml: "standalone = true\npush_notify_interval = \"2s\"\npush_notify_queue = 100\n", check: func(t *testing.T, c Node) {
			if c.PushNotifyInterval.D() != 2*time.Second || c.PushNotifyQueue != 100 {
				t.Fatalf("push_notify_interval %v, push_notify_queue %d", c.PushNotifyInterval, c.PushNotifyQueue)
			}
		}},
		{name: "push notify interval too long", toml: "standalone = true\npush_notify_interval = \"2m\"\n", wantErr: "config field push_notify_interval"},
		{name: "push notify queue too small", toml: "standalone = true\npush_notify_queue = 1\n", wantErr: "config field push_notify_queue"},
		{name: "hold defaults", toml: "standalone = true\n", check: func(t *testing.T, c Node) {
			if c.MaxHold.D() != 30*time.Second || c.MaxHeldRelayed != 4096 {
				t.Fatalf("max_hold %v, max_held_relayed %d", c.MaxHold, c.MaxHeldRelayed)
			}
		}},
		{name: "max hold", toml: "standalone = true\nmax_hold = \"5s\"\nmax_held_relayed = 10\n", check: func(t *testing.T, c Node) {
			if c.MaxHold.D() != 5*time.Second || c.MaxHeldRelayed != 10 {
				t.Fatalf("max_hold %v, max_held_relayed %d", c.MaxHold, c.MaxHeldRelayed)
			}
		}},
		{name: "max hold off", toml: "standalone = true\nmax_hold = \"0s\"\n", check: func(t *testing.T, c Node) {}},
		{name: "max hold above the protocol's", toml: "standalone = true\nmax_hold = \"31s\"\n", wantErr: "config field max_hold"},
		{name: "negative max hold", toml: "standalone = true\nmax_hold = \"-1s\"\n", wantErr: "config field max_hold"},
		{name: "no held requests", toml: "standalone = true\nmax_held_relayed = 0\n", wantErr: "config field max_held_relayed"},
		{name: "syntax error", toml: "standalone = \n", wantErr: "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadNode(writeFile(t, tt.toml))
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	file, err := LoadNode(writeFile(t, "standalone = true\nlisten = \"127.0.0.1:9000\"\nlog_level = \"warn\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	flags := DefaultNode()
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	flags.RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:9001", "--read-timeout", "7s", "--debug-log-private", "--max-held-retrieves", "50", "--max-held-per-account", "3"}); err != nil {
		t.Fatal(err)
	}
	ApplyFlags(&file, &flags, fs)
	if file.Listen != "127.0.0.1:9001" || file.ReadTimeout.D() != 7*time.Second || !file.DebugLogPrivate || file.MaxHeldRetrieves != 50 || file.MaxHeldPerAccount != 3 {
		t.Fatalf("flags not applied: %+v", file)
	}
	if file.LogLevel != "warn" || !file.Standalone {
		t.Fatalf("unset flags overrode the file: %+v", file)
	}
}

func TestEveryFieldHasAFlag(t *testing.T) {
	c := DefaultNode()
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	c.RegisterFlags(fs)
	for _, name := range []string{"data", "listen", "advertise", "standalone", "metrics", "insecure-http", "debug-log-private", "validate-config"} {
		if fs.Lookup(name) == nil && name != "validate-config" {
			t.Errorf("no flag --%s", name)
		}
	}
}
