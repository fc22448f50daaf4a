package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
)

// networkCommand is `hush network`, which holds commands about the
// network itself rather than the account.
func (a *app) networkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Commands about the network: what its steward servers hold",
	}
	cmd.AddCommand(a.networkTransparencyCommand())
	return cmd
}

func (a *app) networkTransparencyCommand() *cobra.Command {
	var (
		f    netFlags
		full bool
	)
	cmd := &cobra.Command{
		Use:   "transparency",
		Short: "Fetch and verify every steward server's signed transparency report",
		Long: `Fetch the signed transparency report of every steward server the network
file names (registry hosts, push server, file server, TURN server) through
onion paths, so that no steward sees your address; check each signature
against the key the network file gives for that server; and print them side
by side. A report says, from the server's live state, every kind of record
it holds, how many, their fields and how long they are kept, what its logs
carry, and the steward's own statement of requests for data received and
answered. Service nodes sign no report; their operators print a node's
export with "hushd node transparency".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			reps, err := fetchReports(ctx, c.TransparencyReports)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(transparencyJSON(reps))
			}
			fmt.Fprint(a.stdout, sideBySide(reps))
			if full {
				for _, r := range reps {
					if r.Report != nil {
						fmt.Fprintf(a.stdout, "\n== %s %s ==\n%s", r.Server, r.Address, r.Report.Text())
					}
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&full, "full", false, "also print each report in full (descriptions, fields, retention, log streams)")
	return cmd
}

// reportTries is how many times fetchReports asks for a report that
// failed.
const reportTries = 3

// fetchReports returns fetch's reports, asking again (reportTries times in
// all) while one failed for another reason than having none to give
// ([client.ErrNoReport]), and keeping the first that came for each
// server: each fetch goes through a fresh onion path, and one through a
// busy or failing relay is lost (cli devnet.txt under load).
func fetchReports(ctx context.Context, fetch func(context.Context) ([]client.StewardReport, error)) ([]client.StewardReport, error) {
	reps, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	failed := func(r client.StewardReport) bool { return r.Err != nil && !errors.Is(r.Err, client.ErrNoReport) }
	for try := 1; try < reportTries && slices.ContainsFunc(reps, failed) && ctx.Err() == nil; try++ {
		again, err := fetch(ctx)
		if err != nil || len(again) != len(reps) {
			break
		}
		for i := range reps {
			if failed(reps[i]) {
				reps[i] = again[i]
			}
		}
	}
	return reps, nil
}

// reportJSON is one server in `hush network transparency --json`.
type reportJSON struct {
	Server    string `json:"server"`
	Address   string `json:"address"`
	Key       string `json:"pubkey_ed25519,omitempty"`
	Verified  bool   `json:"verified"`
	Error     string `json:"error,omitempty"`
	Statement any    `json:"statement,omitempty"`
}

func transparencyJSON(reps []client.StewardReport) []reportJSON {
	out := []reportJSON{}
	for _, r := range reps {
		j := reportJSON{Server: r.Server, Address: r.Address}
		if !r.Key.IsZero() {
			j.Key = r.Key.String()
		}
		if r.Err != nil {
			j.Error = r.Err.Error()
		} else {
			j.Verified, j.Statement = true, r.Report.Statement
		}
		out = append(out, j)
	}
	return out
}

// columnWidth is the width of one server's column.
const columnWidth = 36

// sideBySide lays the reports out in columns, one per server: who it is,
// whether its signature verified, its period and statement, and each kind
// of record with its count.
func sideBySide(reps []client.StewardReport) string {
	cols := make([][]string, len(reps))
	for i, r := range reps {
		c := []string{r.Server + " " + r.Address}
		if !r.Key.IsZero() {
			c = append(c, "key "+r.Key.String()[:16]+"…")
		}
		if r.Err != nil {
			c = append(c, "NO VERIFIED REPORT:")
			c = append(c, wrap(r.Err.Error(), columnWidth)...)
			cols[i] = c
			continue
		}
		s := r.Report
		c = append(c, "signature verified", "signed "+time.UnixMilli(s.Issued).UTC().Format("2006-01-02 15:04Z"))
		if s.Period.Start != "" {
			c = append(c, "period "+s.Period.Start+"…"+s.Period.End)
		} else {
			c = append(c, "period: none stated")
		}
		req := strings.TrimSpace(s.Requests)
		if req == "" {
			req = "(no requests statement)"
		}
		c = append(c, "requests:")
		c = append(c, wrap(req, columnWidth)...)
		c = append(c, "", "holds:")
		for _, k := range s.Report.Records {
			c = append(c, fmt.Sprintf("%s %s: %d", k.Kind, k.Name, k.Count))
		}
		logs := "logs: " + s.Report.Logs.Level
		if s.Report.Logs.Private {
			logs += ", PRIVATE DATA ON"
		}
		c = append(c, "", logs)
		cols[i] = c
	}
	var b strings.Builder
	for i := 0; ; i++ {
		any := false
		var line strings.Builder
		for _, c := range cols {
			cell := ""
			if i < len(c) {
				cell, any = c[i], true
			}
			line.WriteString(pad(cell, columnWidth))
			line.WriteString("  ")
		}
		if !any {
			break
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// pad cuts s to w characters (marking the cut) or fills it with spaces.
func pad(s string, w int) string {
	n := utf8.RuneCountInString(s)
	if n > w {
		r := []rune(s)
		return string(r[:w-1]) + "…"
	}
	return s + strings.Repeat(" ", w-n)
}

// wrap breaks s into lines of at most w characters at spaces.
func wrap(s string, w int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > w {
				out = append(out, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += word
		}
		out = append(out, line)
	}
	return out
}
