package nodeclient

import (
	"encoding/json"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// SignDraft signs hand-written params (what `hush tool rpc` takes) for
// acct on networkID: [rpc.ParseDraft] reads them, with the times they
// leave out set to now, and the request signs itself. A nil acct signs
// nothing, for the requests that act for no account (info). Programs that
// build their requests sign them with [rpc.Outgoing.Sign] instead.
func SignDraft(acct *identity.Account, networkID, method string, params json.RawMessage, now time.Time) (json.RawMessage, error) {
	var id identity.AccountID
	if acct != nil {
		id = acct.ID()
	}
	req, err := rpc.ParseDraft(method, params, id, now)
	if err != nil {
		return nil, err
	}
	if acct != nil {
		req.Sign(networkID, acct)
	}
	return req.Params(), nil
}
