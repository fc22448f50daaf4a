package linkpreview

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"utm", "https://example.com/a?utm_source=x&id=3&utm_medium=y", "https://example.com/a?id=3"},
		{"fbclid only", "https://example.com/?fbclid=abc", "https://example.com/"},
		{"gclid upper", "https://example.com/p?GCLID=1&q=go", "https://example.com/p?q=go"},
		{"fragment utm", "https://example.com/p#utm_source=x", "https://example.com/p"},
		{"untouched", "https://example.com/p?q=1#top", "https://example.com/p?q=1#top"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Clean(tt.in)
			if !ok || got != tt.want {
				t.Errorf("Clean(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
	for _, bad := range []string{"ftp://x/y", "javascript:alert(1)", "https://", "/relative"} {
		if _, ok := Clean(bad); ok {
			t.Errorf("Clean(%q) accepted", bad)
		}
	}
}

func TestFindURLs(t *testing.T) {
	got := FindURLs("see https://a.example/x, and (http://b.example/y). not ftp://c")
	want := []string{"https://a.example/x", "http://b.example/y"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseHTML(t *testing.T) {
	tests := []struct {
		name, page string
		want       Meta
	}{
		{"og", `<html><head><meta property="og:title" content="T &amp; U"><meta property="og:description" content="D"><meta property="og:image" content="/i.png"><title>other</title></head><body><meta property="og:title" content="late"></body>`,
			Meta{Title: "T & U", Description: "D", Image: "/i.png"}},
		{"title and description", "<title>\n  Hello\t world </title><meta name=description content='About'>", Meta{Title: "Hello world", Description: "About"}},
		{"script is not a title", `<script>var t = "<title>x</title>"</script><title>real</title>`, Meta{Title: "real"}},
		{"control characters", "<title>a\x01b\u202ec</title>", Meta{Title: "a b c"}},
		{"long title cut", "<title>" + strings.Repeat("é", 400) + "</title>", Meta{Title: strings.Repeat("é", MaxTitle/2)}},
		{"nothing", "<p>hi</p>", Meta{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseHTML([]byte(tt.page)); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseHTML: any bytes parse without panic into text within the
// limits, valid UTF-8.
func FuzzParseHTML(f *testing.F) {
	f.Add([]byte(`<meta property="og:title" content="x"><title>t</title>`))
	f.Add([]byte("<title>" + strings.Repeat("<", 100)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := ParseHTML(b)
		if len(m.Title) > MaxTitle || len(m.Description) > MaxDescription || len(m.Image) > maxURL {
			t.Fatalf("over the limits: %d %d %d", len(m.Title), len(m.Description), len(m.Image))
		}
		if !strings.HasPrefix(strings.ToValidUTF8(m.Title, "?"), m.Title) {
			t.Fatal("invalid UTF-8 in title")
		}
	})
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFetch(t *testing.T) {
	var hits atomic.Int32
	pic := pngBytes(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<head><meta property="og:title" content="Page"><meta property="og:image" content="/pic.png"></head>`))
	})
	mux.HandleFunc("/pic.png", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(pic)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<title>big</title>"))
		w.Write(bytes.Repeat([]byte("x"), MaxHTML*2))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	f := Fetcher{AllowLoopbackHTTP: true}
	p, err := f.Fetch(ctx, srv.URL+"/page")
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Page" || len(p.Image) == 0 || !bytes.HasPrefix(p.Image, []byte{0xff, 0xd8}) {
		t.Errorf("preview %q with %d image bytes; want a title and a JPEG", p.Title, len(p.Image))
	}
	if p, err := f.Fetch(ctx, srv.URL+"/big"); err != nil || p.Title != "big" {
		t.Errorf("a long page: %+v, %v; want its head read", p.Title, err)
	}
	hits.Store(0)
	if _, err := f.Fetch(ctx, srv.URL+"/loop"); !errors.Is(err, ErrNoPreview) || hits.Load() != MaxRedirects+1 {
		t.Errorf("redirect loop: %v after %d requests, want ErrNoPreview after %d", err, hits.Load(), MaxRedirects+1)
	}
	// Without the test option: plain http and loopback are refused
	// before any request.
	hits.Store(0)
	var strict Fetcher
	if _, err := strict.Fetch(ctx, srv.URL+"/page"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("http without the option: %v, want ErrNotAllowed", err)
	}
	tls := httptest.NewTLSServer(mux)
	defer tls.Close()
	if _, err := strict.Fetch(ctx, tls.URL+"/page"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("https to loopback without the option: %v, want ErrNotAllowed", err)
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests reached the server", hits.Load())
	}
}
