// Package linkpreview fetches a web page's title, description and image
// for a link preview, as the sender of a message does when the user turned
// link previews on (issue 22 item 8). The receiver never fetches: the
// preview travels in the message.
//
// Fetching reveals the user's IP address to the linked site, and the
// site's name to the system's DNS resolver (onion paths
// reach only hush nodes), so the fetch is kept small: https only (plain
// http only to a loopback address, and only when a test allows it), no
// private, loopback or link-local address unless so allowed (checked on
// the resolved address at connection time, so DNS cannot point a public
// name inward), at most [MaxRedirects] redirects, [MaxHTML] bytes of HTML
// and [MaxImage] bytes of image, and [Timeout] in all. No cookies are
// kept and no Referer is sent. Tracking parameters (utm_*, fbclid, gclid,
// ...) are stripped from the URL before anything is fetched ([Clean]).
//
// The HTML parser ([ParseHTML]) reads untrusted bytes with
// golang.org/x/net/html's tokenizer and keeps only og:title,
// og:description, og:image, the description meta tag and <title>.
package linkpreview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/hushnet/hush/internal/attach"
)

// Limits of one preview fetch.
const (
	MaxHTML      = 256 << 10
	MaxImage     = 1 << 20
	Timeout      = 5 * time.Second
	MaxRedirects = 3
	// Title and description are cut to these many bytes (envelope's
	// limits), at a rune boundary.
	MaxTitle       = 300
	MaxDescription = 1000
	// maxURL bounds a URL taken from text or a page.
	maxURL = 2048
)

// Errors returned (wrapped) by Fetch.
var (
	// ErrNotAllowed: the URL's scheme or address may not be fetched.
	ErrNotAllowed = errors.New("link preview not allowed for this URL")
	// ErrNoPreview: the page had nothing to show, or did not answer in
	// time or within the limits.
	ErrNoPreview = errors.New("no link preview")
)

// Preview is what a page offers for its preview.
type Preview struct {
	URL         string
	Title       string
	Description string
	// Image is a small JPEG without metadata (at most
	// envelope.MaxThumbnailSize bytes), or nil.
	Image []byte
}

// Fetcher fetches previews. The zero value fetches https from public
// addresses only.
type Fetcher struct {
	// AllowLoopbackHTTP allows http and https to loopback addresses
	// (tests with a local server); every other private address stays
	// refused.
	AllowLoopbackHTTP bool
	// Transport replaces the default transport (tests with their own
	// TLS roots); its dialer is then the caller's to restrict.
	Transport http.RoundTripper
}

// Fetch fetches the preview of rawURL, which must be [Clean]ed already.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Preview, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		return Preview{}, fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	if err := f.allowedURL(u); err != nil {
		return Preview{}, err
	}
	hc := f.client()
	body, final, err := get(ctx, hc, u.String(), MaxHTML, "text/html")
	if err != nil {
		return Preview{}, err
	}
	m := ParseHTML(body)
	p := Preview{URL: rawURL, Title: m.Title, Description: m.Description}
	if p.Title == "" && p.Description == "" {
		return Preview{}, fmt.Errorf("%w: the page has no title", ErrNoPreview)
	}
	if m.Image != "" {
		if iu, err := final.Parse(m.Image); err == nil && f.allowedURL(iu) == nil {
			if img, _, err := get(ctx, hc, iu.String(), MaxImage, "image/"); err == nil {
				// Re-encoded without metadata; the thumbnail is the
				// preview's image. A bad image leaves the preview
				// without one.
				if _, _, _, _, thumb, err := attach.PrepareImage(bytes.NewReader(img), attach.ImageLimits{MaxSide: 4096, MaxPixels: 8_000_000}); err == nil {
					p.Image = thumb
				}
			}
		}
	}
	return p, nil
}

// Meta is what ParseHTML found.
type Meta struct {
	Title, Description, Image string
}

// ParseHTML reads a page's head for its preview: og:title (else <title>),
// og:description (else the description meta tag) and og:image. It reads
// at most the bytes given and stops at <body>. Text is unescaped,
// whitespace-collapsed, stripped of control characters and cut to the
// limits.
func ParseHTML(b []byte) Meta {
	z := html.NewTokenizer(bytes.NewReader(b))
	z.SetMaxBuf(MaxHTML)
	var m Meta
	var title, desc string
	inTitle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return m.finish(title, desc)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body:
				return m.finish(title, desc)
			case atom.Title:
				inTitle = true
			case atom.Meta:
				var prop, content string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch strings.ToLower(string(k)) {
					case "property", "name":
						prop = strings.ToLower(string(v))
					case "content":
						content = string(v)
					}
				}
				switch prop {
				case "og:title":
					if m.Title == "" {
						m.Title = content
					}
				case "og:description":
					if m.Description == "" {
						m.Description = content
					}
				case "description":
					if desc == "" {
						desc = content
					}
				case "og:image", "og:image:url", "og:image:secure_url":
					if m.Image == "" && len(content) <= maxURL {
						m.Image = strings.TrimSpace(content)
					}
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); atom.Lookup(name) == atom.Title {
				inTitle = false
			}
		case html.TextToken:
			if inTitle && len(title) < MaxTitle*4 {
				title += string(z.Text())
			}
		}
	}
}

func (m Meta) finish(title, desc string) Meta {
	if m.Title == "" {
		m.Title = title
	}
	if m.Description == "" {
		m.Description = desc
	}
	m.Title, m.Description = tidy(m.Title, MaxTitle), tidy(m.Description, MaxDescription)
	return m
}

// tidy collapses whitespace, drops control characters and invalid UTF-8,
// and cuts s to at most n bytes at a rune boundary.
func tidy(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' || r == '\u202d' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func (f *Fetcher) allowedURL(u *url.URL) error {
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && f.AllowLoopbackHTTP && isLoopbackHost(host):
	default:
		return fmt.Errorf("%w: %s (https only)", ErrNotAllowed, u.Scheme)
	}
	if host == "" || u.User != nil {
		return fmt.Errorf("%w: no host, or a user name", ErrNotAllowed)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func (f *Fetcher) client() *http.Client {
	tr := f.Transport
	if tr == nil {
		d := &net.Dialer{Timeout: Timeout, Control: f.control}
		tr = &http.Transport{
			DialContext: d.DialContext, TLSHandshakeTimeout: Timeout, ResponseHeaderTimeout: Timeout,
			MaxResponseHeaderBytes: 64 << 10, DisableKeepAlives: true, Proxy: nil,
		}
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrNoPreview, MaxRedirects)
			}
			return f.allowedURL(req.URL)
		},
	}
}

// control refuses a connection to an address a preview may not reach,
// after name resolution.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%w: %s", ErrNotAllowed, host)
	}
	if ip.IsLoopback() && f.AllowLoopbackHTTP {
		return nil
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("%w: a local or private address", ErrNotAllowed)
	}
	return nil
}

// get fetches u, reading at most limit bytes of a response whose type
// starts with wantType; a larger response is refused.
func get(ctx context.Context, hc *http.Client, u string, limit int64, wantType string) ([]byte, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	// A plain browser-like request: no cookies, no Referer, no
	// identifying client name beyond a generic one.
	req.Header.Set("User-Agent", "Mozilla/5.0 (compatible; link preview)")
	req.Header.Set("Accept", wantType+"*;q=0.9, */*;q=0.1")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoPreview, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%w: HTTP %d", ErrNoPreview, resp.StatusCode)
	}
	if ct := strings.ToLower(resp.Header.Get("Content-Type")); !strings.HasPrefix(ct, wantType) {
		return nil, nil, fmt.Errorf("%w: content type %q", ErrNoPreview, ct)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoPreview, err)
	}
	if int64(len(b)) > limit {
		if wantType == "text/html" {
			// The head is what matters; a long page is cut.
			b = b[:limit]
		} else {
			return nil, nil, fmt.Errorf("%w: larger than %d bytes", ErrNoPreview, limit)
		}
	}
	return b, resp.Request.URL, nil
}
