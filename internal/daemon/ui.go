package daemon

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"rsc.io/qr"

	"github.com/hushnet/hush/client"
)

// The web UI is plain files (ES modules, one stylesheet) embedded in the
// binary, so it works offline and cannot be swapped on disk. It talks to
// the daemon only through the API and its event stream, like any script.

//go:embed ui
var uiFiles embed.FS

// uiCSP is the UI's Content-Security-Policy: its own scripts and styles
// only (no inline code, no remote origins), images from itself or made in
// the page (blob:, data: for thumbnails), media only from blobs it made
// (voice notes, fetched first), fetches to itself only, and it
// may not be framed, forms may not post anywhere, <base> may not move it.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; media-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiTypes are the content types of the files the UI ships, fixed here
// rather than read from the system's MIME tables (which differ between
// machines: a missing .js entry would make browsers refuse the modules).
var uiTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// handleUI serves the embedded UI under /ui/. The files hold nothing
// secret, so no session is needed to load them; the page asks for its
// session through the API and shows how to log in when it has none.
func (d *Daemon) handleUI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Security-Policy", uiCSP)
	if !d.hostAllowed(r.Host) {
		writeError(w, http.StatusMisdirectedRequest, "bad_host", "the Host header must name the daemon's loopback address")
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/ui/")
	if name == "" {
		name = "index.html"
	}
	typ, ok := uiTypes[path.Ext(name)]
	if !ok || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(uiFiles, "ui/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", typ)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// accountQR answers the own Account ID as a QR code in SVG, drawn here so
// the page needs no QR library and the ID never goes to another origin.
func (d *Daemon) accountQR(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	svg, err := qrSVG(c.Account().String())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	// Shown through <img> only; opened by itself it may run nothing.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
	w.Write(svg)
	return nil
}

// qrSVG draws text as a QR code (error correction M, a quiet zone of four
// modules), one path of unit squares.
func qrSVG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
