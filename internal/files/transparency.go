package files

import (
	"context"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/protocol/transparency"
)

// tableDocs say what each table of files.db is for and how long a row
// stays; a table without one is listed as undocumented, which
// TestTransparencyAndPrivacy refuses.
var tableDocs = map[string]inventory.Doc{
	"blobs": {
		Description: "one row per stored blob: its random ID, its size, its expiry and the SHA-256 of its delete/extend token; no uploader, relay, upload time or download count",
		Retention:   "until the blob expires or its uploader deletes it (default 3 weeks, at most max_ttl); expired rows are swept every sweep_interval",
	},
}

// fileKinds classify the files of a data directory; the first match wins.
var fileKinds = []inventory.FileKind{
	{Name: BlobDir + "/ab/cd/<blob id in hex>", Match: inventory.Prefix(BlobDir + "/"),
		Fields: []string{"blob bytes: what the client uploaded, encrypted before upload and opaque to the server"},
		Doc:    inventory.Doc{Description: "the encrypted pieces of attachments, one file per blob", Retention: "as its row in blobs: removed with it"}},
	{Name: TempDir + "/upload-*", Match: inventory.Prefix(TempDir + "/"),
		Fields: []string{"an upload being written"},
		Doc:    inventory.Doc{Description: "uploads in progress", Retention: "renamed into blobs/ when complete; removed at start if a crash left one"}},
	{Name: DBFile + "*", Match: inventory.Prefix(DBFile),
		Fields: []string{"the tables listed above, with SQLite's journal"},
		Doc:    inventory.Doc{Description: "the metadata database", Retention: "as its rows"}},
	{Name: KeyFile, Match: inventory.Exactly(KeyFile),
		Fields: []string{"the server's Ed25519 seed (its TLS identity; the onion key derives from it)"},
		Doc:    inventory.Doc{Description: "the server's secret key", Retention: "for the server's life"}},
	{Name: SnapshotFile + "*", Match: inventory.Prefix(SnapshotFile),
		Fields: []string{"the network's newest signed snapshot: public node list, no client data"},
		Doc:    inventory.Doc{Description: "the registry's snapshot, to know which relays are nodes", Retention: "replaced by each newer snapshot"}},
	{Name: "transparency.toml", Match: inventory.Exactly("transparency.toml"),
		Fields: []string{"period_start", "period_end", "text"},
		Doc:    inventory.Doc{Description: "the steward's statement of requests received and answered, signed into the published report", Retention: "as the steward edits it"}},
}

// filesMemory is what the server keeps only in memory.
var filesMemory = []transparency.Record{
	inventory.OnionReplayCache,
}

// Transparency reports what the data directory dir holds (DESIGN §10),
// and what the server logs under cfg (its log level, debug_log_private,
// metrics). It reads the database without changing it, so it may run
// beside a live server.
func Transparency(ctx context.Context, dir string, cfg config.Files) (*transparency.Report, error) {
	return inventory.Store{Server: "files", DB: DBFile, Tables: tableDocs, Files: fileKinds, Memory: filesMemory}.Report(ctx, dir, filesLogs(cfg))
}

func filesLogs(cfg config.Files) transparency.Logs {
	var fields []string
	switch cfg.LogLevel {
	case "debug":
		fields = []string{"op (upload, download, info, extend, delete)", "code (the answer's error code)", "err (store errors, without file names)"}
	case "info", "warn", "error":
		fields = []string{"err (store errors, without file names)", "listen (the server's own address)"}
	}
	l := transparency.Logs{Level: cfg.LogLevel, Private: cfg.DebugLogPrivate, Streams: []transparency.LogStream{inventory.Stderr(fields)}}
	if cfg.Metrics != "" {
		l.Streams = append(l.Streams, inventory.Metrics([]string{
			"hush_files_requests_total{op,result}", "hush_files_refused_total{reason}", "hush_files_uploaded_bytes_total",
			"hush_files_downloaded_bytes_total", "hush_files_swept_total", "hush_files_blobs", "hush_files_bytes"}))
	}
	return l
}
