package node

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
)

// TestTLS: TLS 1.3 with Go's hybrid post-quantum key exchange, and a
// certificate carrying the node's Ed25519 key.
func TestTLS(t *testing.T) {
	n, _ := start(t, testConfig(t, t.TempDir()))
	conn, err := tls.Dial("tcp", n.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	if st.Version != tls.VersionTLS13 || st.CurveID != tls.X25519MLKEM768 {
		t.Fatalf("version %x, key exchange %v", st.Version, st.CurveID)
	}
	pk, ok := st.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok || !bytes.Equal(n.Identity().Ed25519Public().Bytes(), pk) {
		t.Fatal("certificate does not carry the node key")
	}
	if _, err := tls.Dial("tcp", n.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("TLS 1.2 accepted")
	}
}

// TestHTTPLimits: an oversized header block is refused and a client that
// never finishes its headers is cut off after read_header_timeout.
func TestHTTPLimits(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.InsecureHTTP = true
	cfg.Metrics = ""
	cfg.ReadHeaderTimeout = config.Duration(300 * time.Millisecond)
	n, _ := start(t, cfg)

	req, _ := http.NewRequest(http.MethodPost, "http://"+n.Addr().String()+"/storage_rpc/v1", strings.NewReader(`{"method":"info"}`))
	req.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB header: %d", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(conn).ReadByte()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("slow client not cut off")
	}
}

// TestShutdownFinishesInFlight: a request whose body is still arriving
// when the node is told to stop is completed, and only then does Run
// return.
func TestShutdownFinishesInFlight(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.InsecureHTTP = true
	cfg.Metrics = ""
	n, stop := start(t, cfg)
	conn, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"method":"info"}`
	io.WriteString(conn, "POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+body[:5])
	time.Sleep(100 * time.Millisecond) // the server is now reading the body
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Run returned with a request in flight: %v", err)
	default:
	}
	io.WriteString(conn, body[5:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the request finished")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
