package turn

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/protocol/transparency"
)

// TestTransparencyAndPrivacy fills the server through a real flow (a
// credential from the onion endpoint, two allocations relaying to a peer,
// a refused permission, a wrong password) and checks that the export is
// complete: every file of the data directory in a described kind, every
// memory record listed with the live counts, the log streams at the
// level; and that neither the logs (at debug) nor the data directory
// hold a client's address or a username.
func TestTransparencyAndPrivacy(t *testing.T) {
	h := start(t, func(c *config.TURN) { c.AllowPrivatePeers = true; c.Metrics = "127.0.0.1:0"; c.LogLevel = "debug" })
	cred, err := h.ask(t, h.relay)
	if err != nil {
		t.Fatal(err)
	}
	p := peer(t)
	var clientAddrs []string
	for range 2 {
		c := h.client(t, cred.Username, cred.Password)
		relayed, err := c.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		defer relayed.Close()
		if err := echo(t, relayed, p.LocalAddr(), []byte("media")); err != nil {
			t.Fatal(err)
		}
		clientAddrs = append(clientAddrs, relayed.LocalAddr().String())
	}
	bad := h.client(t, cred.Username, "d3JvbmcgcGFzc3dvcmQgaGVyZQ==")
	if _, err := bad.Allocate(); err == nil {
		t.Fatal("a wrong password allocated")
	}
	os.WriteFile(filepath.Join(h.dir, "transparency.toml"), []byte("period_start = \"2026-01-01\"\nperiod_end = \"2026-06-30\"\ntext = \"none\"\n"), 0o600)

	rep, err := h.s.Transparency(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	if r, ok := rep.Record(inventory.OtherName); ok {
		t.Errorf("files in no described kind: %+v", r)
	}
	// Every file on disk is counted, in its kind.
	var onDisk int64
	filepath.Walk(h.dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			onDisk++
		}
		return nil
	})
	var counted int64
	for _, r := range rep.Records {
		if r.Kind == transparency.KindFiles {
			counted += r.Count
		}
	}
	if counted != onDisk {
		t.Errorf("the export counts %d files, the directory has %d", counted, onDisk)
	}
	for _, want := range []struct {
		name  string
		count int64
	}{{KeyFile, 1}, {SecretFile, 1}, {"transparency.toml", 1}, {"allocations", 2}, {"credential quota counts", 1}, {"issuance budgets", 0}, {"nonces", 0}, {"replay cache", 0}} {
		r, ok := rep.Record(want.name)
		if !ok || r.Count != want.count || len(r.Fields) == 0 || r.Retention == "" {
			t.Errorf("record %q: %+v (listed %v), want count %d with fields and retention", want.name, r, ok, want.count)
		}
	}
	streams := map[string]bool{}
	for _, s := range rep.Logs.Streams {
		streams[s.Name] = true
	}
	if rep.Logs.Level != "debug" || !streams["stderr"] || !streams["metrics"] {
		t.Errorf("logs %+v", rep.Logs)
	}

	// Metrics: allocations and bytes relayed, no address.
	resp, err := http.Get("http://" + h.s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hush_turn_allocations 2", `hush_turn_credentials_total{result="issued"} 1`, "hush_turn_allocations_total 2", `hush_turn_relayed_bytes_total{direction="to_peer"}`, `hush_turn_relayed_bytes_total{direction="to_client"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	logs := h.logs.String()
	if !strings.Contains(logs, "turn server ready") {
		t.Fatalf("no logs?\n%s", logs)
	}
	if strings.Contains(logs, " bytes") {
		t.Errorf("a size is in the logs:\n%s", logs)
	}
	secrets := append([]string{cred.Username, p.LocalAddr().String()}, clientAddrs...)
	for _, s := range secrets {
		if strings.Contains(logs, s) || strings.Contains(string(body), s) {
			t.Errorf("%q is in the logs or metrics", s)
		}
	}
	filepath.Walk(h.dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		for _, s := range append(secrets, "127.0.0.1") {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds %q", path, s)
			}
		}
		return nil
	})
}
