package node

import "net/http"

// MaxStreamsPerConn bounds the HTTP/2 streams one connection may have
// open at once, so that one connection holds no more requests than that
// (an HTTP/1.1 connection holds one). 100 is the least RFC 9113 asks a
// server to allow; a relay with more to send opens another connection,
// which the relay's per-node budget still counts.
const MaxStreamsPerConn = 100

// MaxFrameSize is the largest HTTP/2 frame a node reads: 16 KiB, the
// protocol's initial value (RFC 9113 §4.2). Go's server otherwise
// advertises 1 MiB, and each connection then keeps a read buffer of the
// largest frame it was sent (the server framer's) and each client
// connection a write buffer as large (startWriteDataPadded): they were
// 60–68% of an overloaded devnet's heap, held by idle connections long
// after. A TLS record carries at most 16 KiB anyway, so smaller frames
// cost no extra record or syscall, only a 9-byte header per 16 KiB.
// BenchmarkHTTP2ConnMemory measures what a connection keeps.
const MaxFrameSize = 16 << 10

// HTTP2Config is the node's HTTP/2 server configuration.
func HTTP2Config() *http.HTTP2Config {
	return &http.HTTP2Config{MaxConcurrentStreams: MaxStreamsPerConn, MaxReadFrameSize: MaxFrameSize}
}
