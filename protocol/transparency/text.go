package transparency

import (
	"fmt"
	"strings"
	"time"
)

// Text renders r for a person: one paragraph per record kind, then the
// log streams. Every server's `transparency` command prints this, so
// that exports read alike.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hushd %s holds %d kinds of record", r.Server, len(r.Records))
	if r.AsOf > 0 {
		fmt.Fprintf(&b, " (as of %s)", time.UnixMilli(r.AsOf).UTC().Format(time.RFC3339))
	}
	b.WriteString(":\n")
	for _, k := range r.Records {
		fmt.Fprintf(&b, "\n%s %s: %d", k.Kind, k.Name, k.Count)
		if k.Bytes > 0 {
			fmt.Fprintf(&b, " (%d bytes)", k.Bytes)
		}
		fmt.Fprintf(&b, "\n  %s\n  fields: %s\n  kept: %s\n", k.Description, strings.Join(k.Fields, ", "), k.Retention)
	}
	private := "no IP address or Account ID"
	if r.Logs.Private {
		private = "debug_log_private is ON: addresses and Account IDs may appear"
	}
	fmt.Fprintf(&b, "\nlogs at level %s (%s):\n", r.Logs.Level, private)
	for _, s := range r.Logs.Streams {
		fmt.Fprintf(&b, "\n%s\n  %s\n  fields: %s\n  kept: %s\n", s.Name, s.Description, strings.Join(s.Fields, ", "), s.Retention)
	}
	return b.String()
}

// Text renders a signed report's envelope and its report.
func (s *Signed) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s server %s, network %s, signed %s (signature verified)\n", s.Server, s.Key, s.NetworkID,
		time.UnixMilli(s.Issued).UTC().Format(time.RFC3339))
	if s.Period.Start != "" {
		fmt.Fprintf(&b, "period %s to %s\n", s.Period.Start, s.Period.End)
	} else {
		b.WriteString("period: none stated\n")
	}
	req := strings.TrimSpace(s.Requests)
	if req == "" {
		req = "(the steward wrote no statement)"
	}
	fmt.Fprintf(&b, "requests received and answered:\n  %s\n\n", strings.ReplaceAll(req, "\n", "\n  "))
	b.WriteString(s.Report.Text())
	return b.String()
}
