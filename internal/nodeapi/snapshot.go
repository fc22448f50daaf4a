package nodeapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/strictjson"
)

// Snapshot methods. protocol/rpc stays free of the registry's formats, so
// the names live here. MethodSnapshot is the name internal/paths sends;
// both answer the same.
const (
	MethodGetSnapshot = "get_snapshot"
	MethodSnapshot    = "snapshot"
)

// SnapshotSource returns the node's current verified registry snapshot,
// exactly as the registry hosts signed it, and its epoch; nil when the
// node has none yet. It must be safe for concurrent use.
type SnapshotSource func() (raw []byte, epoch uint64)

// Readiness is implemented by a [Membership] that can lack a usable view
// of the network (no snapshot yet, or only an expired one). Ready returns
// nil when Owns and SwarmOf can be trusted at now, else an error whose
// text tells a client why; the handler then answers account requests with
// 503 instead of a 421 that would point at a stale swarm.
type Readiness interface {
	Ready(now time.Time) error
}

// getSnapshot answers with the snapshot's bytes verbatim, not wrapped in
// an object: clients verify the registry signatures over exactly those
// bytes. Params are optional: {"after": EPOCH} gets 204 and no body when
// the node has nothing newer, so a client polling it downloads nothing.
func (h *Handler) getSnapshot(params json.RawMessage, now time.Time) (int, any, error) {
	var p struct {
		After *uint64 `json:"after"`
	}
	if len(params) > 0 && string(params) != "null" {
		if err := decodeParams(params, &p); err != nil {
			return 0, nil, err
		}
	}
	if h.cfg.Snapshot == nil {
		return 0, nil, rpc.Errorf(rpc.CodeUnknownMethod, "this node serves no registry snapshots (standalone)")
	}
	raw, epoch := h.cfg.Snapshot()
	if raw == nil {
		return 0, nil, rpc.Errorf(rpc.CodeUnavailable, "this node has no registry snapshot yet; retry shortly")
	}
	if p.After != nil && epoch <= *p.After {
		return http.StatusNoContent, nil, nil
	}
	return http.StatusOK, verbatim(raw), nil
}

// verbatim is a JSON document written out byte for byte at the top
// level; encoding/json would re-compact and HTML-escape it. Inside a
// batch it is embedded like any JSON value.
type verbatim []byte

// MarshalJSON implements json.Marshaler.
func (v verbatim) MarshalJSON() ([]byte, error) { return v, nil }

// decodeParams decodes params strictly, as protocol/rpc does its own.
func decodeParams(b []byte, v any) error {
	if err := strictjson.Decode(b, v); err != nil {
		return rpc.Errorf(rpc.CodeBadJSON, "params: %s", "want {\"after\": EPOCH} or nothing")
	}
	return nil
}
