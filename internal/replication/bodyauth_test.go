package replication_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/protocol/rpc"
)

// hugeBody is a body of size bytes that exists only as it is read, and
// counts how much was.
type hugeBody struct {
	size int64
	read atomic.Int64
}

func (b *hugeBody) Read(p []byte) (int, error) {
	left := b.size - b.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), left)], xs[:])
	b.read.Add(int64(n))
	return n, nil
}

var xs = [64 << 10]byte{}

// signedNodeRequest builds a node RPC request carrying body, signed by key
// over bodySHA (which the headers announce) at ts.
func signedNodeRequest(key ed25519.PrivateKey, recipient identity.Ed25519PublicKey, ts time.Time, bodySHA [32]byte, body io.Reader) *http.Request {
	sender := identity.Ed25519PublicKeyOf(key)
	sig := ed25519.Sign(key, rpc.SigNodeRequest(testNetwork, sender, recipient, ts, bodySHA))
	req := httptest.NewRequest(http.MethodPost, rpc.NodeRPCPath, body)
	req.Header.Set(rpc.HeaderNode, sender.String())
	req.Header.Set(rpc.HeaderTimestamp, itoa(ts.UnixMilli()))
	req.Header.Set(rpc.HeaderBodySHA256, hex.EncodeToString(bodySHA[:]))
	req.Header.Set(rpc.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return req
}

// TestNodeRPCAuthenticatesBeforeReadingTheBody: a request from a
// stranger, with a stale time or a bad signature is refused on its
// headers alone, without reading a byte of its (64 MiB) body; a member's
// body is read only up to the request cap.
func TestNodeRPCAuthenticatesBeforeReadingTheBody(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	target, member := c.nodes[0], c.nodes[1]
	c.start(target)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	const huge = 64 << 20
	someSHA := sha256.Sum256([]byte("whatever"))
	now := time.Now()
	tests := []struct {
		name       string
		req        func(body io.Reader) *http.Request
		wantStatus int
		maxRead    int64
	}{
		{"unregistered node", func(b io.Reader) *http.Request {
			return signedNodeRequest(stranger, target.pub(), now, someSHA, b)
		}, http.StatusForbidden, 0},
		{"member, stale timestamp", func(b io.Reader) *http.Request {
			return signedNodeRequest(member.key, target.pub(), now.Add(-2*rpc.SigTolerance), someSHA, b)
		}, http.StatusUnauthorized, 0},
		{"member's key, forged signature", func(b io.Reader) *http.Request {
			r := signedNodeRequest(member.key, target.pub(), now, someSHA, b)
			r.Header.Set(rpc.HeaderSignature, base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize)))
			return r
		}, http.StatusUnauthorized, 0},
		{"member, signed for another node", func(b io.Reader) *http.Request {
			return signedNodeRequest(member.key, c.nodes[2].pub(), now, someSHA, b)
		}, http.StatusUnauthorized, 0},
		{"member, no body hash header", func(b io.Reader) *http.Request {
			r := signedNodeRequest(member.key, target.pub(), now, someSHA, b)
			r.Header.Del(rpc.HeaderBodySHA256)
			return r
		}, http.StatusUnauthorized, 0},
		{"member, body over the cap", func(b io.Reader) *http.Request {
			return signedNodeRequest(member.key, target.pub(), now, someSHA, b)
		}, http.StatusRequestEntityTooLarge, rpc.MaxNodeRequestBody + 64<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &hugeBody{size: huge}
			w := httptest.NewRecorder()
			target.repl.Handler().ServeHTTP(w, tt.req(body))
			if w.Code != tt.wantStatus {
				t.Errorf("status %d (%s), want %d", w.Code, w.Body, tt.wantStatus)
			}
			if got := body.read.Load(); got > tt.maxRead {
				t.Errorf("read %d bytes of the body before refusing, want at most %d", got, tt.maxRead)
			}
		})
	}
	t.Run("member, body not matching its hash", func(t *testing.T) {
		body := applyBody(t, identity.NewAccount().ID(), "mismatch")
		w := httptest.NewRecorder()
		target.repl.Handler().ServeHTTP(w, signedNodeRequest(member.key, target.pub(), time.Now(), someSHA, bytesReader(body)))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("status %d (%s), want 401", w.Code, w.Body)
		}
	})
}

// TestNodeRPCInFlightIsPerNodeIdentity: a member that holds its cap of
// requests open (bodies trickling) gets 503 for one more, refused before
// its body is read, while another member is still served.
func TestNodeRPCInFlightIsPerNodeIdentity(t *testing.T) {
	const cap = 2
	c := newCluster(t, 3, func(cfg *replication.Config) { cfg.PeerInFlight = cap })
	c.oneSwarm()
	target, greedy, other := c.nodes[0], c.nodes[1], c.nodes[2]
	c.start(target)
	acct := identity.NewAccount().ID()
	type held struct {
		w    *io.PipeWriter
		rest []byte
		done chan int
	}
	var open []held
	for i := range cap {
		body := applyBody(t, acct, "held "+itoa(int64(i)))
		pr, pw := io.Pipe()
		h := held{w: pw, rest: body[1:], done: make(chan int, 1)}
		req := signedNodeRequest(greedy.key, target.pub(), time.Now(), sha256.Sum256(body), pr)
		go func() {
			w := httptest.NewRecorder()
			target.repl.Handler().ServeHTTP(w, req)
			h.done <- w.Code
		}()
		// The write returns once the handler reads: it holds a slot.
		if _, err := pw.Write(body[:1]); err != nil {
			t.Fatal(err)
		}
		open = append(open, h)
	}
	send := func(n *testNode, data string) (int, int64) {
		body := applyBody(t, acct, data)
		hb := &countingReader{r: bytesReader(body)}
		w := httptest.NewRecorder()
		target.repl.Handler().ServeHTTP(w, signedNodeRequest(n.key, target.pub(), time.Now(), sha256.Sum256(body), hb))
		return w.Code, hb.n
	}
	if code, read := send(greedy, "one too many"); code != http.StatusServiceUnavailable || read != 0 {
		t.Errorf("greedy member's extra request: status %d after reading %d bytes, want 503 after none", code, read)
	}
	if code, _ := send(other, "other member"); code != http.StatusOK {
		t.Errorf("other member: status %d, want 200", code)
	}
	for _, h := range open {
		h.w.Write(h.rest)
		h.w.Close()
		if code := <-h.done; code != http.StatusOK {
			t.Errorf("held request finished with %d, want 200", code)
		}
	}
	if code, _ := send(greedy, "after the others finished"); code != http.StatusOK {
		t.Errorf("greedy member once its requests finished: status %d, want 200", code)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
