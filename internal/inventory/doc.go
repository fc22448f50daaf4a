// Package inventory reads a hush server's live state into a transparency
// report (protocol/transparency), and serves a steward server's signed
// report as an onion destination.
//
// # Reading the state
//
// [Tables] lists every table of a SQLite database, read from
// sqlite_schema, with its columns and row count; [Files] puts every file
// of a data directory into exactly one kind, and one it cannot place into
// a kind named "other". Neither starts from a list of what the server is
// supposed to hold, so a table or file added later shows up in the export
// even when nobody described it (it is then "undocumented", which the
// completeness tests refuse). Both only read: an export may run beside a
// live server.
//
// # Serving the signed report
//
// [Endpoint] is the handler of POST transparency.Target: it peels the
// final onion layer with the server's X25519 key, refuses replays of the
// layer's ephemeral key, checks the request, and answers with the signed
// report sealed under the layer. [Signer] builds that report at most once
// a minute: it reads the state, the steward's requests file
// ([LoadRequests]), and signs. The report is public, so the endpoint has
// no per-relay budget beyond a bound on requests in flight; what a peel
// costs is what any onion destination spends.
package inventory
