package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestLoadPush(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantErr string // substring; "" means success
		check   func(t *testing.T, c Push)
	}{
		{name: "defaults", toml: "data = \"d\"\n", check: func(t *testing.T, c Push) {
			if c.Listen != ":7400" || c.PerSubscriptionBurst != 10 || c.WebPushTTL.D() != 24*time.Hour || c.TestAllowLoopback {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "unknown key", toml: "data = \"d\"\napns_key = \"x\"\n", wantErr: "unknown field apns_key"},
		{name: "wrong type", toml: "test_allow_loopback = \"yes\"\n", wantErr: "test_allow_loopback"},
		{name: "bad subject", toml: "webpush_subject = \"ops@example.org\"\n", wantErr: "config field webpush_subject"},
		{name: "apns without team", toml: "apns_key_file = \"k.p8\"\napns_key_id = \"K\"\napns_topic = \"t\"\n", wantErr: "config field apns_team_id"},
		{name: "apns over http", toml: "apns_key_file = \"k.p8\"\napns_base_url = \"http://apns\"\n", wantErr: "config field apns_base_url"},
		{name: "apns push type", toml: "apns_key_file = \"k.p8\"\napns_team_id = \"T\"\napns_key_id = \"K\"\napns_topic = \"t\"\napns_push_type = \"voip\"\n", wantErr: "config field apns_push_type"},
		{name: "fcm token url", toml: "fcm_service_account = \"sa.json\"\nfcm_token_url = \"http://token\"\n", wantErr: "config field fcm_token_url"},
		{name: "zero budget", toml: "per_subscription_per_second = 0.0\n", wantErr: "config field per_subscription_burst"},
		{name: "bad listen", toml: "listen = \"nowhere\"\n", wantErr: "config field listen"},
		{name: "bad log level", toml: "log_level = \"loud\"\n", wantErr: "config field log_level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadPush(writeFile(t, tt.toml))
			if err == nil {
				err = c.Validate()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			case tt.check != nil:
				tt.check(t, c)
			}
		})
	}
}

// TestPushFlagsOverride: a flag set on the command line wins over the
// file; one not set leaves the file's value.
func TestPushFlagsOverride(t *testing.T) {
	c, err := LoadPush(writeFile(t, "listen = \"127.0.0.1:1\"\nper_host_burst = 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	var flags Push
	fs := pflag.NewFlagSet("push", pflag.ContinueOnError)
	flags = DefaultPush()
	flags.RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:2", "--test-allow-loopback"}); err != nil {
		t.Fatal(err)
	}
	ApplyPushFlags(&c, &flags, fs)
	if c.Listen != "127.0.0.1:2" || !c.TestAllowLoopback || c.PerHostBurst != 7 {
		t.Fatalf("%+v", c)
	}
}
