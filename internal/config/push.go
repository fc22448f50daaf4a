package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Push is everything `hushd push` can be told; every field is also a flag
// (see [Node]). Providers are on when their fields are set: Web Push
// always (it needs only the server's own VAPID key), APNs with
// apns_key_file, FCM with fcm_service_account.
type Push struct {
	Data            string `toml:"data" help:"data directory (keys, database)"`
	Listen          string `toml:"listen" help:"address relays reach the push server at (the network file's services.push.address)"`
	Network         string `toml:"network" help:"network file: serve only relays of its verified snapshots (empty: any relay; tests and a local devnet only)"`
	Metrics         string `toml:"metrics" help:"address for Prometheus metrics (empty: off)"`
	LogLevel        string `toml:"log_level" help:"debug, info, warn or error"`
	DebugLogPrivate bool   `toml:"debug_log_private" help:"allow IP addresses in logs (the server has no Account IDs to log)"`
	// TransparencyRequests is the steward's statement of requests for
	// data, signed into the published transparency report.
	TransparencyRequests string `toml:"transparency_requests" help:"TOML file with the steward's requests statement (period_start, period_end, text) for the signed transparency report (empty: transparency.toml in the data directory)"`

	WebPushSubject string   `toml:"webpush_subject" help:"VAPID contact for push services (mailto: or https: URI)"`
	WebPushTTL     Duration `toml:"webpush_ttl" help:"how long push services keep an undelivered push"`

	APNsBaseURL  string `toml:"apns_base_url" help:"APNs server (https://api.push.apple.com, or api.sandbox.push.apple.com)"`
	APNsTeamID   string `toml:"apns_team_id" help:"Apple developer team ID (the provider token's iss)"`
	APNsKeyID    string `toml:"apns_key_id" help:"ID of the APNs signing key (the provider token's kid)"`
	APNsKeyFile  string `toml:"apns_key_file" help:"the APNs signing key (.p8, PKCS#8 PEM); empty: no APNs"`
	APNsTopic    string `toml:"apns_topic" help:"the app's bundle ID (apns-topic)"`
	APNsPushType string `toml:"apns_push_type" help:"alert (a notification the app's extension rewrites) or background"`

	FCMBaseURL        string `toml:"fcm_base_url" help:"FCM server (https://fcm.googleapis.com)"`
	FCMServiceAccount string `toml:"fcm_service_account" help:"Google service-account key file (JSON); empty: no FCM"`
	FCMTokenURL       string `toml:"fcm_token_url" help:"OAuth2 token endpoint (empty: the key file's token_uri)"`

	// The test setting: never in production.
	TestAllowLoopback bool   `toml:"test_allow_loopback" help:"TESTS ONLY: allow Web Push endpoints on loopback"`
	TestExtraRoots    string `toml:"test_extra_roots" help:"TESTS ONLY: PEM file of extra CAs trusted for providers (TLS is always verified)"`

	PerSubscriptionBurst     int     `toml:"per_subscription_burst" help:"pushes one subscription may get at once"`
	PerSubscriptionPerSecond float64 `toml:"per_subscription_per_second" help:"pushes per second one subscription gets sustained"`
	PerHostBurst             int     `toml:"per_host_burst" help:"pushes one Web Push endpoint host may get at once"`
	PerHostPerSecond         float64 `toml:"per_host_per_second" help:"pushes per second to one Web Push endpoint host"`
	RegistrationBurst        int     `toml:"registration_burst" help:"registrations at once, in total"`
	RegistrationPerSecond    float64 `toml:"registration_per_second" help:"registrations per second, in total"`
	RelayRegistrationBurst   int     `toml:"relay_registration_burst" help:"registrations at once through one relay"`
	RelayRegistrationRate    float64 `toml:"relay_registration_per_second" help:"registrations per second through one relay"`

	SweepInterval   Duration `toml:"sweep_interval" help:"how often expired subscriptions and old tags are deleted"`
	ShutdownTimeout Duration `toml:"shutdown_timeout" help:"time in-flight requests get to finish on SIGTERM"`
}

// DefaultPushPort is where a push server listens by default.
const DefaultPushPort = 7400

// DefaultPush returns a push server's defaults; the rate limits are
// internal/push.DefaultLimits (not imported: config stays a leaf).
func DefaultPush() Push {
	data := "hushd-push"
	if home, err := os.UserHomeDir(); err == nil {
		data = filepath.Join(home, ".hushd", "push")
	}
	return Push{
		Data:                     data,
		Listen:                   ":" + strconv.Itoa(DefaultPushPort),
		LogLevel:                 "info",
		WebPushSubject:           "mailto:push-operator@invalid",
		WebPushTTL:               Duration(24 * time.Hour),
		APNsBaseURL:              "https://api.push.apple.com",
		APNsPushType:             "alert",
		FCMBaseURL:               "https://fcm.googleapis.com",
		PerSubscriptionBurst:     10,
		PerSubscriptionPerSecond: 0.5,
		PerHostBurst:             1000,
		PerHostPerSecond:         200,
		RegistrationBurst:        200,
		RegistrationPerSecond:    20,
		RelayRegistrationBurst:   20,
		RelayRegistrationRate:    2,
		SweepInterval:            Duration(time.Minute),
		ShutdownTimeout:          Duration(10 * time.Second),
	}
}

// LoadPush returns the defaults overlaid with the TOML file at path.
func LoadPush(path string) (Push, error) {
	c := DefaultPush()
	err := Load(path, &c)
	return c, err
}

// RegisterFlags adds a flag for every field, bound to c's fields.
func (c *Push) RegisterFlags(fs *pflag.FlagSet) { registerFlags(fs, c) }

// ApplyPushFlags copies into dst every field whose flag was set.
func ApplyPushFlags(dst, src *Push, fs *pflag.FlagSet) { applyFlags(dst, src, fs) }

// Validate checks every field and names the first bad one.
func (c *Push) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("config field %s: %s", field, fmt.Sprintf(format, args...))
	}
	if c.Data == "" {
		return bad("data", "required")
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "%q is not host:port", c.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("listen", "bad port %q", port)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", "%q: want debug, info, warn or error", c.LogLevel)
	}
	if !strings.HasPrefix(c.WebPushSubject, "mailto:") && !strings.HasPrefix(c.WebPushSubject, "https:") {
		return bad("webpush_subject", "%q: want a mailto: or https: URI", c.WebPushSubject)
	}
	if c.WebPushTTL.D() < 0 {
		return bad("webpush_ttl", "negative")
	}
	httpsURL := func(field, v string) error {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return bad(field, "%q: want an https URL", v)
		}
		return nil
	}
	if c.APNsKeyFile != "" {
		if err := httpsURL("apns_base_url", c.APNsBaseURL); err != nil {
			return err
		}
		for _, f := range []struct{ name, v string }{{"apns_team_id", c.APNsTeamID}, {"apns_key_id", c.APNsKeyID}, {"apns_topic", c.APNsTopic}} {
			if f.v == "" {
				return bad(f.name, "required with apns_key_file")
			}
		}
		if c.APNsPushType != "alert" && c.APNsPushType != "background" {
			return bad("apns_push_type", "%q: want alert or background", c.APNsPushType)
		}
	}
	if c.FCMServiceAccount != "" {
		if err := httpsURL("fcm_base_url", c.FCMBaseURL); err != nil {
			return err
		}
		if c.FCMTokenURL != "" {
			if err := httpsURL("fcm_token_url", c.FCMTokenURL); err != nil {
				return err
			}
		}
	}
	for _, r := range []struct {
		name  string
		burst int
		rate  float64
	}{
		{"per_subscription", c.PerSubscriptionBurst, c.PerSubscriptionPerSecond},
		{"per_host", c.PerHostBurst, c.PerHostPerSecond},
		{"registration", c.RegistrationBurst, c.RegistrationPerSecond},
		{"relay_registration", c.RelayRegistrationBurst, c.RelayRegistrationRate},
	} {
		if r.burst < 1 || r.rate <= 0 {
			return bad(r.name+"_burst", "burst must be at least 1 and the rate positive")
		}
	}
	if c.SweepInterval.D() <= 0 {
		return bad("sweep_interval", "must be positive")
	}
	return nil
}
