package paths

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the JSON `hush path --json` prints:
//
//	{"paths": [{"hops": [{"pubkey_ed25519", "address"}, …], "last_ok": …}],
//	 "bad_nodes": [{"pubkey_ed25519", "reason", "at"}, …]}
//
// with the three relays of each path in order, guard first, and last_ok
// an RFC 3339 time or null; bad_nodes lists the nodes the client caught
// misbehaving (a garbled answer, a clock far off, endless paging…),
// newest first.
type Report struct {
	Paths    []PathInfo `json:"paths"`
	BadNodes []BadNode  `json:"bad_nodes"`
}

// WriteJSON writes ps and the bad nodes as a [Report].
func WriteJSON(w io.Writer, ps []PathInfo, bad ...BadNode) error {
	if ps == nil {
		ps = []PathInfo{}
	}
	if bad == nil {
		bad = []BadNode{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{Paths: ps, BadNodes: bad})
}

// WriteBad writes one line per bad node for `hush path`.
func WriteBad(w io.Writer, bad []BadNode, now time.Time) error {
	for _, b := range bad {
		if _, err := fmt.Fprintf(w, "bad node %s, %s ago: %s\n", b.Ed25519, ago(now.Sub(b.At)), b.Reason); err != nil {
			return err
		}
	}
	return nil
}

// WriteText writes one line per path for `hush path`:
//
//	guard 3f2a…9c1d (10.0.0.1:22021) → 77b0…e401 (10.0.4.2:22021) → c19e…02aa (10.0.9.7:22021)   last worked 2m ago
func WriteText(w io.Writer, ps []PathInfo, now time.Time) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "no onion paths yet: they are built on the first request")
		return err
	}
	for _, p := range ps {
		hops := make([]string, len(p.Hops))
		for i, h := range p.Hops {
			k := h.Ed25519.String()
			hops[i] = fmt.Sprintf("%s…%s (%s)", k[:4], k[len(k)-4:], h.Address)
		}
		when := "never used"
		if p.LastOK != nil {
			when = "last worked " + ago(now.Sub(*p.LastOK)) + " ago"
		}
		if _, err := fmt.Fprintf(w, "guard %s   %s\n", strings.Join(hops, " → "), when); err != nil {
			return err
		}
	}
	return nil
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
