package registry

import (
	"context"
	"crypto/ecdh"
	"crypto/sha512"
	"net/http"
	"path/filepath"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/protocol/transparency"
)

// TransparencyPath is where the API serves the host's signed
// transparency report to a GET (`hushd registry transparency` on the
// host itself); clients fetch it through onion paths at
// transparency.Target.
const TransparencyPath = "/v1/transparency"

// registryFiles classify the data directory.
var registryFiles = []inventory.FileKind{
	{Name: "raft.db", Match: inventory.Exactly("raft.db"), Fields: []string{"the Raft log: every entry listed under state above", "Raft's term and vote"},
		Doc: inventory.Doc{Description: "the replicated log (bolt database)", Retention: "until compacted into a Raft snapshot (every snapshot_threshold entries)"}},
	{Name: "snapshots/<term>-<index>-<time>/", Match: inventory.Prefix("snapshots/"), Fields: []string{"the registry state: genesis, hosts, admissions, node descriptors, votes, departures, swarm assignment, epoch snapshots"},
		Doc: inventory.Doc{Description: "Raft snapshots of the registry state", Retention: "the newest two"}},
	{Name: KeyFile, Match: inventory.Exactly(KeyFile), Fields: []string{"the host's Ed25519 seed"},
		Doc: inventory.Doc{Description: "the host's secret key", Retention: "for the host's life"}},
	{Name: "registry.toml", Match: inventory.Exactly("registry.toml"), Fields: []string{"the host's configuration: public keys and addresses of hosts, timers"},
		Doc: inventory.Doc{Description: "the configuration `hushd registry init` writes", Retention: "as the operator keeps it"}},
	{Name: "transparency.toml", Match: inventory.Exactly("transparency.toml"), Fields: []string{"period_start", "period_end", "text"},
		Doc: inventory.Doc{Description: "the steward's statement of requests received and answered, signed into the published report", Retention: "as the steward edits it"}},
}

// counts are the registry state's records, for the report.
type counts struct {
	hosts, admitted, nodes, votes, left, swarms, signed int
}

func (f *fsm) counts() counts {
	f.mu.RLock()
	defer f.mu.RUnlock()
	c := counts{hosts: len(f.st.hosts), admitted: len(f.st.admitted), nodes: len(f.st.nodes), left: len(f.st.left), swarms: len(f.st.assignment.IDs())}
	for _, n := range f.st.nodes {
		c.votes += len(n.votes)
	}
	if f.st.signed != nil {
		c.signed = 1
	}
	return c
}

// Transparency is what this host holds (DESIGN §10), from its live state:
// the registry's records in the replicated state, the Raft log, every
// file of the data directory, and what it keeps in memory and logs.
func (h *Host) Transparency(ctx context.Context) (*transparency.Report, error) {
	c := h.fsm.counts()
	state := func(name, desc string, n int, fields ...string) transparency.Record {
		return transparency.Record{Kind: transparency.KindState, Name: name, Description: desc, Count: int64(n), Fields: fields,
			Retention: "in the replicated state for as long as it is current, and in the Raft log until compaction"}
	}
	rep := &transparency.Report{Format: transparency.Format, Server: "registry", AsOf: time.Now().UnixMilli(), Records: []transparency.Record{
		state("hosts", "the registry hosts", c.hosts, "host Ed25519 key", "Raft address", "API address"),
		state("admissions", "steward admissions of node keys", c.admitted, "node Ed25519 key", "steward key", "signature", "timestamp"),
		state("nodes", "registered service nodes: each node's signed descriptor, public in every snapshot", c.nodes, "Ed25519 key", "X25519 key", "advertised address", "version", "timestamp", "signature"),
		state("liveness votes", "hosts' votes that a node is unreachable", c.votes, "host key", "node key", "registration timestamp", "signature"),
		state("departures", "the time of each node's last deregistration, so it cannot be replayed", c.left, "node key", "timestamp"),
		state("swarms", "the swarm assignment", c.swarms, "swarm ID", "member node keys"),
		state("signed snapshot", "the newest snapshot a majority of hosts signed, with their signatures", c.signed, "epoch", "issue and expiry times", "nodes", "swarms", "host signatures"),
	}}
	h.mu.Lock()
	logs := h.logs
	h.mu.Unlock()
	if logs != nil {
		first, err1 := logs.FirstIndex()
		last, err2 := logs.LastIndex()
		if err1 == nil && err2 == nil {
			n := int64(0)
			if last >= first && last > 0 {
				n = int64(last - first + 1)
			}
			rep.Records = append(rep.Records, transparency.Record{Kind: transparency.KindState, Name: "raft log entries",
				Description: "log entries not yet compacted: genesis, admissions, registrations, deregistrations, votes, host changes, epoch ticks and signatures",
				Count:       n, Fields: []string{"index", "term", "entry (one of the records above)"}, Retention: "until compacted into a Raft snapshot"})
		}
	}
	files, err := inventory.Files(h.cfg.DataDir, registryFiles)
	if err != nil {
		return nil, err
	}
	rep.Records = append(rep.Records, files...)
	rep.Records = append(rep.Records,
		transparency.Record{Kind: transparency.KindMemory, Name: "probe results", Description: "when each node last answered this host's reachability probe (not counted)",
			Fields: []string{"node key", "first failure time"}, Retention: "while the node is registered"},
		transparency.Record{Kind: transparency.KindMemory, Name: "API budgets", Description: "connections and long-polls per source: node key, or address of a peer that is no node (not counted)",
			Fields: []string{"source", "count"}, Retention: "while the connection or poll lasts"},
	)
	rep.Logs = transparency.Logs{Level: h.logLevel, Streams: []transparency.LogStream{inventory.Stderr([]string{
		"host and node keys (never node addresses or Account IDs)", "epoch", "raft (warnings of the consensus library)", "err"})}}
	return rep, nil
}

// x25519 is the host's onion key, derived from its Ed25519 seed as a
// node's is, so that clients find it from the network file's Ed25519 key
// alone.
func (h *Host) x25519() (*ecdh.PrivateKey, error) {
	d := sha512.Sum512(h.key.Seed())
	return ecdh.X25519().NewPrivateKey(d[:32])
}

func (h *Host) initTransparency() error {
	x, err := h.x25519()
	if err != nil {
		return err
	}
	req := h.cfg.TransparencyRequests
	if req != "" && !filepath.IsAbs(req) {
		req = filepath.Join(h.cfg.DataDir, req)
	}
	h.report = &inventory.Signer{
		NetworkID: h.cfg.NetworkID, Server: "registry", Key: h.key, Clock: time.Now,
		RequestsFile: config.RequestsFile(req, h.cfg.DataDir), Report: h.Transparency,
	}
	h.endpoint = inventory.NewEndpoint(x, h.report.Signed, replay.New(10_000, time.Minute), time.Now, h.log)
	return nil
}

// SignedTransparency returns the host's current signed report.
func (h *Host) SignedTransparency(ctx context.Context) ([]byte, error) { return h.report.Signed(ctx) }

// withTransparency serves the signed report beside the API: through
// onion paths at transparency.Target, and to a GET at TransparencyPath.
func (h *Host) withTransparency(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+transparency.Target, h.endpoint)
	mux.HandleFunc("GET "+TransparencyPath, func(w http.ResponseWriter, r *http.Request) {
		b, err := h.report.Signed(r.Context())
		if err != nil {
			h.log.Error("building the transparency report", "err", err)
			http.Error(w, "the report could not be built", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.Handle("/", api)
	return mux
}
