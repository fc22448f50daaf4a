package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

func TestLoadConfig(t *testing.T) {
	const base = `network_id = "testnet"
data_dir = "data"
raft_listen = "127.0.0.1:7001"
api_listen = "127.0.0.1:7002"
`
	host := "\n[[hosts]]\nkey = \"" + identity.Ed25519PublicKeyOf(testKey("h")).String() + "\"\nraft_address = \"127.0.0.1:7001\"\napi_address = \"127.0.0.1:7002\"\n"
	// Tables come last in TOML, so each case's top-level keys go before the host.
	with := func(extra string) string { return base + extra + host }
	tests := []struct {
		name    string
		toml    string
		wantErr string // a field name the error must mention; "" for success
	}{
		{"minimal", with(""), ""},
		{"joining without hosts", base, "hosts"},
		{"unknown key", with("epoch_intervall = \"1s\"\n"), "epoch_intervall"},
		{"unknown nested key", with("") + "[raft]\nheartbeat = \"1s\"\n", "raft.heartbeat"},
		{"bad duration", with("probe_interval = \"soon\"\n"), "probe_interval"},
		{"bad network", strings.Replace(with(""), "testnet", "Test Net", 1), "network_id"},
		{"bootstrap without hosts", base + "bootstrap = true\n", "hosts"},
		{"bootstrap", with("bootstrap = true\n"), ""},
		{"bad steward", with("stewards = [\"zz\"]\n"), "stewards[0]"},
		{"swarm too small", with("swarm_min_size = 2\nswarm_ideal_size = 2\n"), "swarm_min_size"},
		{"lifetime below epoch", with("epoch_interval = \"1m\"\nsnapshot_lifetime = \"30s\"\n"), "snapshot_lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "registry.toml")
			if err := os.WriteFile(path, []byte(tt.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.DataDir != filepath.Join(filepath.Dir(path), "data") || time.Duration(c.EpochInterval) != time.Minute || c.SwarmMinSize != 5 {
					t.Fatalf("defaults not applied: %+v", c)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an ErrConfig naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadKey(dir); !errors.Is(err, ErrNoKey) {
		t.Fatalf("LoadKey on an empty dir: %v", err)
	}
	k, err := CreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateKey(dir); err == nil {
		t.Fatal("CreateKey replaced an existing key")
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	got, err := LoadKey(dir)
	if err != nil || !got.Equal(k) {
		t.Fatalf("LoadKey: %v", err)
	}
}
