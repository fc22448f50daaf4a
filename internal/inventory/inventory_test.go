package inventory

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/transparency"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"data/a/1", "data/b/2", "key", "stray.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o700)
		os.WriteFile(filepath.Join(dir, p), []byte("xyz"), 0o600)
	}
	kinds := []FileKind{
		{Name: "data/<x>", Match: Prefix("data/"), Fields: []string{"bytes"}, Doc: Doc{"d", "r"}},
		{Name: "key", Match: Exactly("key"), Fields: []string{"seed"}, Doc: Doc{"k", "r"}},
		{Name: "absent", Match: Exactly("absent"), Fields: []string{"x"}, Doc: Doc{"a", "r"}},
	}
	recs, err := Files(dir, kinds)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range recs {
		got[r.Name] = r.Count
	}
	want := map[string]int64{"data/<x>": 2, "key": 1, "absent": 0, OtherName: 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d (%v)", k, got[k], v, got)
		}
	}
	if recs, _ := Files(filepath.Join(dir, "missing"), kinds); len(recs) != 3 {
		t.Errorf("a missing directory: %+v", recs)
	}
}

func TestLoadRequests(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"good", "period_start = \"2026-10-01\"\nperiod_end = \"2026-12-31\"\ntext = \"none\"\n", false},
		{"no period", "text = \"none\"\n", false},
		{"half a period", "period_start = \"2026-10-01\"\n", true},
		{"unknown key", "txt = \"none\"\n", true},
		{"not toml", "text = ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".toml")
			os.WriteFile(p, []byte(tt.body), 0o600)
			_, err := LoadRequests(p)
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadRequests: %v", err)
			}
		})
	}
	if r, err := LoadRequests(filepath.Join(dir, "missing.toml")); err != nil || r.Text != "" {
		t.Fatalf("a missing file: %+v %v", r, err)
	}
}

// TestSigner: the signed report verifies, carries the requests file, and
// is rebuilt only after cacheFor.
func TestSigner(t *testing.T) {
	dir := t.TempDir()
	req := filepath.Join(dir, "transparency.toml")
	os.WriteFile(req, []byte("text = \"first\"\n"), 0o600)
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	now := time.UnixMilli(1_764_979_200_000)
	builds := 0
	s := &Signer{NetworkID: "testnet", Server: "files", Key: key, RequestsFile: req, Clock: func() time.Time { return now },
		Report: func(context.Context) (*transparency.Report, error) {
			builds++
			return &transparency.Report{Format: transparency.Format, Server: "files", Records: []transparency.Record{},
				Logs: transparency.Logs{Level: "info", Streams: []transparency.LogStream{Stderr(nil)}}}, nil
		}}
	check := func(want string) {
		t.Helper()
		b, err := s.Signed(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st, err := transparency.Verify(b, "testnet", "files", identity.Ed25519PublicKeyOf(key))
		if err != nil || st.Requests != want {
			t.Fatalf("report %+v %v, want requests %q", st, err, want)
		}
	}
	check("first")
	os.WriteFile(req, []byte("text = \"second\"\n"), 0o600)
	check("first") // cached
	now = now.Add(cacheFor)
	check("second")
	if builds != 2 {
		t.Fatalf("%d builds", builds)
	}
}
