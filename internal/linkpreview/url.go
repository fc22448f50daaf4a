package linkpreview

import (
	"net/url"
	"strings"
)

// trackingParams are query parameters that identify a click, not a page
// (the lists of Firefox's query stripping and ClearURLs; utm_ is a prefix).
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "gclsrc": true, "dclid": true, "gbraid": true, "wbraid": true,
	"msclkid": true, "mc_cid": true, "mc_eid": true, "yclid": true, "_hsenc": true, "_hsmi": true,
	"igshid": true, "twclid": true, "ttclid": true, "li_fat_id": true, "mkt_tok": true, "oly_anon_id": true,
	"oly_enc_id": true, "vero_id": true, "rb_clickid": true, "s_cid": true, "ref_src": true, "si": true,
}

// Clean returns rawURL without tracking parameters (utm_*, fbclid, gclid,
// ...) and without a fragment's utm_ part; ok is false for anything but an
// absolute http(s) URL of sane length.
func Clean(rawURL string) (string, bool) {
	if len(rawURL) > maxURL {
		return "", false
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", false
	}
	if u.RawQuery != "" {
		var kept []string
		for _, kv := range strings.Split(u.RawQuery, "&") {
			k, _, _ := strings.Cut(kv, "=")
			if dk, err := url.QueryUnescape(k); err == nil {
				k = dk
			}
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "utm_") || trackingParams[lk] {
				continue
			}
			kept = append(kept, kv)
		}
		u.RawQuery = strings.Join(kept, "&")
		u.ForceQuery = false
	}
	if strings.HasPrefix(strings.ToLower(u.Fragment), "utm_") {
		u.Fragment, u.RawFragment = "", ""
	}
	return u.String(), true
}

// FindURLs returns the http(s) URLs in text, in order, as they appear
// (trailing punctuation that usually ends a sentence is not part of one).
func FindURLs(text string) []string {
	var out []string
	for _, w := range strings.Fields(text) {
		i := strings.Index(w, "https://")
		if j := strings.Index(w, "http://"); i < 0 || (j >= 0 && j < i) {
			i = j
		}
		if i < 0 {
			continue
		}
		w = strings.TrimRight(w[i:], ".,;:!?)]}>'\"")
		if len(w) > len("https://") && len(w) <= maxURL {
			out = append(out, w)
		}
	}
	return out
}
