package daemon

import (
	"net/http"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/protocol/transparency"
)

// The web UI's "Network" page: every steward server's signed transparency
// report (DESIGN §10), fetched through onion paths and verified against
// the network file, side by side. GET /api/v1/network/transparency answers
// the list `hush network transparency --json` prints, in the same order
// (registry hosts, push, files, turn).

// networkReportJSON is one server's entry, as the CLI's --json has it.
type networkReportJSON struct {
	Server    string                  `json:"server"`
	Address   string                  `json:"address"`
	Key       string                  `json:"pubkey_ed25519,omitempty"`
	Verified  bool                    `json:"verified"`
	Error     string                  `json:"error,omitempty"`
	Statement *transparency.Statement `json:"statement,omitempty"`
}

func (d *Daemon) getNetworkTransparency(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	reps, err := c.TransparencyReports(r.Context())
	if err != nil {
		return err
	}
	out := make([]networkReportJSON, 0, len(reps))
	for _, rep := range reps {
		j := networkReportJSON{Server: rep.Server, Address: rep.Address}
		if !rep.Key.IsZero() {
			j.Key = rep.Key.String()
		}
		if rep.Err != nil {
			j.Error = rep.Err.Error()
		} else {
			j.Verified, j.Statement = true, &rep.Report.Statement
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
