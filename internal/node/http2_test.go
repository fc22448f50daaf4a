package node

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// connHeap opens conns HTTP/2 connections to a TLS server configured by
// cfg, sends two bodies of size bytes on each and returns the heap the
// idle connections then keep, client and server side, per connection.
func connHeap(b *testing.B, cfg *http.HTTP2Config, conns, size int) float64 {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	srv.EnableHTTP2 = true
	srv.Config.HTTP2 = cfg
	srv.StartTLS()
	defer srv.Close()
	body := make([]byte, size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var trs []*http.Transport
	for range conns {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		trs = append(trs, tr)
		// Twice: the first body may go before the server's settings
		// arrive, in frames of the protocol's initial 16 KiB.
		for range 2 {
			resp, err := (&http.Client{Transport: tr}).Post(srv.URL, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				b.Fatalf("HTTP/%d, want 2", resp.ProtoMajor)
			}
		}
	}
	body = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, tr := range trs {
		tr.CloseIdleConnections()
	}
	return float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(conns)
}

// BenchmarkHTTP2ConnMemory reports the heap an idle HTTP/2 connection
// keeps (both ends, in one process) after carrying a 1 MiB body, with the
// node's configuration (MaxFrameSize) against Go's default 1 MiB frames,
// in the same run.
func BenchmarkHTTP2ConnMemory(b *testing.B) {
	const conns, size = 32, 1 << 20
	var node, dflt float64
	for range b.N {
		node += connHeap(b, HTTP2Config(), conns, size)
		dflt += connHeap(b, &http.HTTP2Config{MaxConcurrentStreams: MaxStreamsPerConn}, conns, size)
	}
	node, dflt = node/float64(b.N), dflt/float64(b.N)
	b.ReportMetric(node/1024, "node_KiB/conn")
	b.ReportMetric(dflt/1024, "default_KiB/conn")
	b.ReportMetric(node/dflt, "node/default")
}
