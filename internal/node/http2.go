package node

import "net/http"

// MaxStreamsPerConn bounds the HTTP/2 streams one connection may have
// open at once, so that one connection holds no more requests than that
// (an HTTP/1.1 connection holds one). 100 is the least RFC 9113 asks a
// server to allow; a relay with more to send opens another connection,
// which the relay's per-node budget still counts.
const MaxStreamsPerConn = 100

// HTTP2Config is the node's HTTP/2 server configuration.
func HTTP2Config() *http.HTTP2Config {
	return &http.HTTP2Config{MaxConcurrentStreams: MaxStreamsPerConn}
}
