package push

import (
	"context"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/protocol/transparency"
)

// tableDocs say, in plain words, what each table is for and how long a
// row stays. A table without one is still listed ("undocumented"), and
// TestPrivacy fails.
var tableDocs = map[string]inventory.Doc{
	"subscriptions": {
		Description: "one per device subscription: a random ID, the hash of its notify secret, the provider and its token or Web Push endpoint and keys, its management public key, its expiry and last management time; no Account ID, no IP address, no swarm",
		Retention:   "until the subscription expires (14 days unless renewed) or is unsubscribed; expired rows are swept",
	},
	"tags": {
		Description: "tags of recent notifies (HMACs the server cannot link to a message), kept to send one push per message",
		Retention:   "a few minutes",
	},
	"server_keys": {
		Description: "the server's own VAPID signing key",
		Retention:   "for the server's life",
	},
}

var fileKinds = []inventory.FileKind{
	{Name: DBFile + "*", Match: inventory.Prefix(DBFile), Fields: []string{"the tables listed above, with SQLite's journal"},
		Doc: inventory.Doc{Description: "the database", Retention: "as its rows"}},
	{Name: node.KeyFile, Match: inventory.Exactly(node.KeyFile), Fields: []string{"the server's Ed25519 seed (TLS identity; the onion key derives from it)"},
		Doc: inventory.Doc{Description: "the server's secret key", Retention: "for the server's life"}},
	{Name: "push.toml", Match: inventory.Exactly("push.toml"), Fields: []string{"the server's configuration: addresses, limits, provider credentials' file names"},
		Doc: inventory.Doc{Description: "the configuration, when kept in the data directory (a devnet does)", Retention: "as the operator keeps it"}},
	{Name: "transparency.toml", Match: inventory.Exactly("transparency.toml"), Fields: []string{"period_start", "period_end", "text"},
		Doc: inventory.Doc{Description: "the steward's statement of requests received and answered, signed into the published report", Retention: "as the steward edits it"}},
}

// Transparency reads the report from the live database.
func (s *Store) Transparency(ctx context.Context) (*transparency.Report, error) {
	tables, err := inventory.Tables(ctx, s.db, tableDocs)
	if err != nil {
		return nil, err
	}
	cfg := config.DefaultPush()
	return &transparency.Report{Format: transparency.Format, Server: "push", AsOf: time.Now().UnixMilli(), Records: tables, Logs: pushLogs(cfg)}, nil
}

// pushMemory is what the server keeps only in memory.
var pushMemory = []transparency.Record{
	inventory.OnionReplayCache,
	{Kind: transparency.KindMemory, Name: "rate limiters", Count: 0,
		Description: "token buckets per subscription, per Web Push endpoint host and per relay node (not counted by this export)",
		Fields:      []string{"sub_id, endpoint host or relay key", "tokens", "last refill"}, Retention: "while in use, in memory only"},
	{Kind: transparency.KindMemory, Name: "snapshot", Count: 0,
		Description: "the network's newest verified snapshot (public node list), to serve only nodes as relays",
		Fields:      []string{"the snapshot"}, Retention: "replaced by each newer one, in memory only"},
}

// Transparency is `hushd push transparency`: every table of the push
// server's database in dir, every file of dir, what it keeps in memory,
// and what it logs under cfg. It only reads, beside a live server.
func Transparency(ctx context.Context, dir string, cfg config.Push) (*transparency.Report, error) {
	return inventory.Store{Server: "push", DB: DBFile, Tables: tableDocs, Files: fileKinds, Memory: pushMemory}.Report(ctx, dir, pushLogs(cfg))
}

func pushLogs(cfg config.Push) transparency.Logs {
	fields := []string{"err (without addresses)", "listen (the server's own address)"}
	if cfg.LogLevel == "debug" {
		fields = append(fields, "op (register, renew, update, unsubscribe, notify)", "code (the answer's code)", "provider", "result of a provider send")
	}
	l := transparency.Logs{Level: cfg.LogLevel, Private: cfg.DebugLogPrivate, Streams: []transparency.LogStream{inventory.Stderr(fields)}}
	if cfg.Metrics != "" {
		l.Streams = append(l.Streams, inventory.Metrics([]string{
			"hush_push_requests_total{op,code}", "hush_push_sends_total{provider,result}", "hush_push_send_seconds{provider}", "hush_push_dedupe_dropped_total"}))
	}
	return l
}
