package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/hushnet/hush/protocol/files"
)

func TestFilesValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Files)
		field string // "" when valid
	}{
		{"defaults", func(*Files) {}, ""},
		{"no data", func(c *Files) { c.Data = "" }, "data"},
		{"bad listen", func(c *Files) { c.Listen = "nowhere" }, "listen"},
		{"blob over MaxPiece", func(c *Files) { c.MaxBlobBytes = files.MaxPiece + 1 }, "max_blob_bytes"},
		{"capacity below a blob", func(c *Files) { c.CapacityBytes = 10 }, "capacity_bytes"},
		{"default ttl over max", func(c *Files) { c.DefaultTTL = c.MaxTTL + 1 }, "default_ttl"},
		{"max ttl over the wire's", func(c *Files) { c.MaxTTL = Duration(2 * files.MaxTTL); c.DefaultTTL = Duration(time.Hour) }, "max_ttl"},
		{"no relay rate", func(c *Files) { c.RelayRatePerSecond = 0 }, "relay_rate_per_second"},
		{"no total burst", func(c *Files) { c.TotalBurst = 0 }, "total_rate_per_second"},
		{"metrics on listen", func(c *Files) { c.Metrics = c.Listen }, "metrics"},
		{"zero sweep", func(c *Files) { c.SweepInterval = 0 }, "sweep_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultFiles()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Fatal(err)
			case tt.field != "" && (err == nil || !strings.Contains(err.Error(), "config field "+tt.field+":")):
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

func TestFilesLoadAndFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "files.toml")
	os.WriteFile(path, []byte("capacity_bytes = 5000000\nmax_ttl = \"48h\"\n"), 0o600)
	c, err := LoadFiles(path)
	if err != nil || c.CapacityBytes != 5_000_000 || c.MaxTTL.D() != 48*time.Hour || c.DefaultTTL != DefaultFiles().DefaultTTL {
		t.Fatalf("LoadFiles = %+v, %v", c, err)
	}
	os.WriteFile(path, []byte("capacity = 1\n"), 0o600)
	if _, err := LoadFiles(path); err == nil || !strings.Contains(err.Error(), "unknown field capacity") {
		t.Fatalf("unknown key: %v", err)
	}
	flags := DefaultFiles()
	fs := pflag.NewFlagSet("files", pflag.ContinueOnError)
	flags.RegisterFlags(fs)
	if err := fs.Parse([]string{"--relay-burst", "7", "--default-ttl", "1h"}); err != nil {
		t.Fatal(err)
	}
	got := DefaultFiles()
	ApplyFilesFlags(&got, &flags, fs)
	if got.RelayBurst != 7 || got.DefaultTTL.D() != time.Hour || got.CapacityBytes != DefaultFiles().CapacityBytes {
		t.Fatalf("flags applied: %+v", got)
	}
}
