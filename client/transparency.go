package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/protocol/transparency"
)

// StewardReport is one steward server's transparency report (DESIGN §10)
// as [Client.TransparencyReports] fetched it: the server the network file
// names, and either its report, verified against the key the network file
// gives for it, or why there is none.
type StewardReport struct {
	// Server is "registry", "push", "files" or "turn".
	Server  string
	Address string
	Key     identity.Ed25519PublicKey
	// Report is the verified signed report; nil when Err is set.
	Report *transparency.Signed
	Err    error
}

// ErrNoReport is matched by a [StewardReport]'s Err when the server
// cannot be asked for a report: the network file gives no key to verify
// one with (or to seal the request to).
var ErrNoReport = errors.New("this server publishes no signed report")

// reportTimeout bounds each fetch, so one silent server does not hold up
// the others' reports.
const reportTimeout = 30 * time.Second

// TransparencyReports fetches the signed transparency report of every
// steward server the network file names (each registry host, the push
// and file servers, the TURN server), in that order, through onion paths
// so that no steward sees this client's address, and verifies each
// against the network file's key for that server. One server's failure
// is its entry's Err; the call fails only without a network or onion
// paths ([ErrNoNetwork]). Nodes sign no report: an operator prints a
// node's own export with `hushd node transparency`.
func (c *Client) TransparencyReports(ctx context.Context) ([]StewardReport, error) {
	tr, ok := c.tr.(pushTransport)
	if c.network == nil || !ok {
		return nil, ErrNoNetwork
	}
	type target struct {
		svc    netfile.Service
		server string
		x      *snapshot.X25519Key
	}
	var targets []target
	var out []StewardReport
	for _, r := range c.network.Registries {
		out = append(out, StewardReport{Server: "registry", Address: r.Address, Key: r.Ed25519})
		var x *snapshot.X25519Key
		// A registry host's onion key is its Ed25519 key's Montgomery
		// form (internal/registry), the conversion Account IDs use.
		if id, err := r.Ed25519.AccountID(); err == nil {
			k := snapshot.X25519Key(id[1:])
			x = &k
		}
		targets = append(targets, target{netfile.Service{Address: r.Address}, "registry", x})
	}
	for _, s := range []struct {
		name string
		svc  *netfile.Service
	}{{"push", c.network.Services.Push}, {"files", c.network.Services.Files}, {"turn", c.network.Services.TURN}} {
		if s.svc == nil {
			continue
		}
		// The TURN server's report, like its credentials, comes from its
		// endpoint (OnionTarget); Address stays the service's address.
		rep := StewardReport{Server: s.name, Address: s.svc.Address}
		if s.svc.Ed25519 != nil {
			rep.Key = *s.svc.Ed25519
		}
		out = append(out, rep)
		targets = append(targets, target{*s.svc, s.name, s.svc.X25519})
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		if t.x == nil || out[i].Key.IsZero() {
			out[i].Err = ErrNoReport
			continue
		}
		wg.Go(func() {
			fctx, cancel := context.WithTimeout(ctx, reportTimeout)
			defer cancel()
			status, body, err := tr.DoServer(fctx, t.svc.OnionTarget(transparency.Target), *t.x, transparency.MarshalRequest())
			switch {
			case err != nil:
				out[i].Err = fmt.Errorf("%s server: %w", t.server, err)
			case status != http.StatusOK:
				out[i].Err = fmt.Errorf("%s server answered %d: %.200q", t.server, status, body)
			default:
				out[i].Report, out[i].Err = transparency.Verify(body, c.network.ID, t.server, out[i].Key)
			}
		})
	}
	wg.Wait()
	return out, nil
}
