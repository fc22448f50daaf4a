package node

import (
	"context"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/protocol/transparency"
)

// tableDocs say what each table of the message database holds and for
// how long. A service node holds Account IDs by its nature (it stores
// mail for them); what it does not hold is any sender, any client
// address, or anything it could read.
var tableDocs = map[string]inventory.Doc{
	"accounts": {
		Description: "one row per account with stored messages: its Account ID, and its message and byte totals (kept by triggers)",
		Retention:   "while the account has messages or tombstones here",
	},
	"messages": {
		Description: "end-to-end encrypted messages for the accounts of this node's swarm: account, namespace, hash, deposit timestamp, expiry, size and the sealed data; no sender, no client address",
		Retention:   "until the message expires (at most 14 days in public inboxes, 30 in owner-only namespaces) or its owner deletes it; swept on a timer",
	},
	"tombstones": {
		Description: "hashes of deleted messages, so that a replication forward or anti-entropy does not bring them back",
		Retention:   "until the deleted message would have expired",
	},
	"usage": {
		Description: "per account and namespace bucket, the count and bytes stored, for the per-account quota",
		Retention:   "as the messages it counts",
	},
}

var nodeFileKinds = []inventory.FileKind{
	{Name: DBFile + "*", Match: inventory.Prefix(DBFile), Fields: []string{"the tables listed above, with SQLite's write-ahead log"},
		Doc: inventory.Doc{Description: "the message database", Retention: "as its rows"}},
	{Name: KeyFile, Match: inventory.Exactly(KeyFile), Fields: []string{"the node's Ed25519 seed (its identity; the onion key derives from it)"},
		Doc: inventory.Doc{Description: "the node's secret key", Retention: "for the node's life"}},
	{Name: SnapshotFile + "*", Match: inventory.Prefix(SnapshotFile), Fields: []string{"the network's newest signed snapshot: public node list and swarms"},
		Doc: inventory.Doc{Description: "the registry's snapshot, served to clients and used to route", Retention: "replaced by each newer snapshot"}},
}

// nodeMemory are what a running node keeps only in memory. A separate
// process cannot count them, so their counts are 0 in the export.
var nodeMemory = []transparency.Record{
	{Kind: transparency.KindMemory, Name: "relay replay cache", Description: "ephemeral keys of recent onion layers, to refuse a replayed layer (not counted by this export)",
		Fields: []string{"ephemeral X25519 public key", "time seen"}, Retention: "one minute"},
	{Kind: transparency.KindMemory, Name: "signature replay cache", Description: "signatures of recent signed requests, to refuse a repeat (not counted by this export)",
		Fields: []string{"signature hash", "time seen"}, Retention: "the ±60 s signature window, about two minutes"},
	{Kind: transparency.KindMemory, Name: "rate limiters", Description: "token buckets per direct client address (only clients that skip onion paths, or a path's guard hop) and per relaying node key (not counted by this export)",
		Fields: []string{"client IP address or node key", "tokens", "last refill"}, Retention: "until the bucket is full again (seconds at the default rates); then dropped on a sweep"},
	{Kind: transparency.KindMemory, Name: "held retrieves", Description: "fast-mode long-polls waiting for a message (not counted by this export)",
		Fields: []string{"account", "namespace", "cursor"}, Retention: "at most the request's wait (25 s)"},
	{Kind: transparency.KindMemory, Name: "push notify queue", Description: "new deposits waiting to be notified to the push server, by subscription ID (not counted by this export)",
		Fields: []string{"sub_id", "message hash", "namespace"}, Retention: "a few seconds (push_notify_interval)"},
}

// Transparency is `hushd node transparency`: every table of the node's
// message database in dir, every file of dir, what it keeps in memory,
// and what it logs under cfg. It only reads, so it may run beside the
// live node.
func Transparency(ctx context.Context, dir string, cfg config.Node) (*transparency.Report, error) {
	return inventory.Store{Server: "node", DB: DBFile, Tables: tableDocs, Files: nodeFileKinds, Memory: nodeMemory}.Report(ctx, dir, nodeLogs(cfg))
}

func nodeLogs(cfg config.Node) transparency.Logs {
	fields := []string{"err (addresses and Account IDs filtered out)", "listen, advertise (the node's own addresses)", "epoch", "swarm", "peer node keys"}
	if cfg.LogLevel == "debug" {
		fields = append(fields, "method (storage RPC method)", "code (result code)", "namespace", "relay hop outcomes")
	}
	l := transparency.Logs{Level: cfg.LogLevel, Private: cfg.DebugLogPrivate, Streams: []transparency.LogStream{inventory.Stderr(fields)}}
	if cfg.Metrics != "" {
		l.Streams = append(l.Streams, inventory.Metrics([]string{
			"hush_store_messages", "hush_store_bytes", "hush_store_accounts", "hush_replication_forwards_queue_full_total",
			"hush_replication_forwards_failed_total", "hush_pushnotify_*", "storage RPC and relay totals by method and code"}))
	}
	return l
}
