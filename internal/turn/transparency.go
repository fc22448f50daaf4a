package turn

import (
	"context"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/protocol/transparency"
)

// fileKinds classify the files of the data directory; the first match
// wins. The server has no database.
var fileKinds = []inventory.FileKind{
	{Name: KeyFile, Match: inventory.Exactly(KeyFile),
		Fields: []string{"the server's Ed25519 seed (its TLS identity; the credential endpoint's onion key derives from it)"},
		Doc:    inventory.Doc{Description: "the server's secret key", Retention: "for the server's life"}},
	{Name: SecretFile, Match: inventory.Exactly(SecretFile),
		Fields: []string{"the HMAC-SHA1 secret credentials are made with"},
		Doc:    inventory.Doc{Description: "the credential secret; no issued credential is stored", Retention: "for the server's life (replace it to void every issued credential)"}},
	{Name: SnapshotFile + "*", Match: inventory.Prefix(SnapshotFile),
		Fields: []string{"the network's newest signed snapshot: public node list, no client data"},
		Doc:    inventory.Doc{Description: "the registry's snapshot, to know which relays are nodes", Retention: "replaced by each newer snapshot"}},
	{Name: "turn.toml", Match: inventory.Exactly("turn.toml"),
		Fields: []string{"the server's configuration"},
		Doc:    inventory.Doc{Description: "the configuration, when kept in the data directory (a devnet's)", Retention: "as the operator keeps it"}},
	{Name: "transparency.toml", Match: inventory.Exactly("transparency.toml"),
		Fields: []string{"period_start", "period_end", "text"},
		Doc:    inventory.Doc{Description: "the steward's statement of requests received and answered, signed into the published report", Retention: "as the steward edits it"}},
}

// memory is what the server keeps only in memory; counts are filled from
// the live server when it makes the report.
func memory(allocs, creds int) []transparency.Record {
	return []transparency.Record{
		{Kind: transparency.KindMemory, Name: "allocations", Count: int64(allocs),
			Description: "live TURN relay allocations (pion/turn): what relaying a call needs",
			Fields: []string{"client transport address (IP and port) and transport", "relayed address (this server's)", "username (expiry:random, names nobody)",
				"permissions: peer IP addresses", "channel bindings: peer address and channel number", "lifetime"},
			Retention: "while the allocation lives (refreshed by the client, at most 10 minutes past its last refresh); never written to disk"},
		{Kind: transparency.KindMemory, Name: "credential quota counts", Count: int64(creds),
			Description: "how many allocations each username holds, to enforce max_allocations_per_credential",
			Fields:      []string{"username", "live allocations"}, Retention: "while the username holds an allocation"},
		{Kind: transparency.KindMemory, Name: "issuance budgets", Count: 0,
			Description: "token buckets of credentials issued per relaying node and in total (not counted by this export)",
			Fields:      []string{"relaying node's Ed25519 key (a public node, not a client)", "tokens", "last refill"}, Retention: "in memory; idle buckets are dropped"},
		{Kind: transparency.KindMemory, Name: "nonces", Count: 0,
			Description: "pion/turn's STUN nonces (not counted by this export)",
			Fields:      []string{"nonce", "time issued"}, Retention: "one hour, in memory only"},
		inventory.OnionReplayCache,
	}
}

// Transparency reports what the data directory dir holds and what a
// server with cfg logs (DESIGN §10); a stopped server holds no
// allocations, which its memory records say with count 0.
func Transparency(ctx context.Context, dir string, cfg config.TURN) (*transparency.Report, error) {
	return inventory.Store{Server: "turn", Files: fileKinds, Memory: memory(0, 0)}.Report(ctx, dir, turnLogs(cfg))
}

// Transparency reports the live server: its data directory and its
// allocations now.
func (s *Server) Transparency(ctx context.Context) (*transparency.Report, error) {
	return inventory.Store{Server: "turn", Files: fileKinds, Memory: memory(s.Allocations(), s.allocs.credentials())}.Report(ctx, s.cfg.Data, turnLogs(s.cfg))
}

func turnLogs(cfg config.TURN) transparency.Logs {
	var fields []string
	switch cfg.LogLevel {
	case "debug":
		fields = []string{"pion (the TURN library's scope) with its per-allocation messages, addresses, usernames and sizes filtered out (its per-datagram lines only with debug_log_private)", "err", "epoch", "nodes"}
	case "info", "warn", "error":
		fields = []string{"err", "listen, endpoint, tls_listen, relay_ip (the server's own addresses)", "ed25519, x25519 (its public keys)"}
	}
	l := transparency.Logs{Level: cfg.LogLevel, Private: cfg.DebugLogPrivate, Streams: []transparency.LogStream{inventory.Stderr(fields)}}
	if cfg.Metrics != "" {
		l.Streams = append(l.Streams, inventory.Metrics(metricNames))
	}
	return l
}
