package nodeapi

import (
	"context"
	"time"

	"github.com/hushnet/hush/protocol/rpc"
)

// authorizeRetrieve checks a retrieve's signature and its time, except for
// an unsigned retrieve from a public-read namespace (rpc.NamespaceKeys),
// which anyone may make: protocol v2 senders fetch a contact's device
// records there before they can write to it. Writing there still needs the
// owner's signature, as in every namespace not divisible by 10, so the
// rule is public read, owner write. Nothing signed means nothing to check
// against the clock or the replay cache.
func (h *Handler) authorizeRetrieve(ctx context.Context, r *rpc.Retrieve, now time.Time) error {
	if r.Unsigned {
		if !rpc.IsPublicReadNamespace(r.Namespace) {
			// ParseRetrieve never yields this; refuse rather than trust it.
			return rpc.Errorf(rpc.CodeMissingField, "signature is required")
		}
		return nil
	}
	if err := h.timeCheck(rpc.CheckSigTime("timestamp", r.Timestamp, now)); err != nil {
		return err
	}
	return h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{rpc.MethodRetrieve, r.Namespace})
}
