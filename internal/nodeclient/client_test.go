package nodeclient_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
)

func startNode(t *testing.T) *node.Node {
	t.Helper()
	return nodetest.Start(t, nodetest.Standalone(t))
}

func TestPinning(t *testing.T) {
	n := startNode(t)
	url := "https://" + n.Addr().String()
	right := n.Identity().Ed25519Public()
	wrong := identity.NewAccount().Ed25519Public()
	tests := []struct {
		name    string
		key     identity.Ed25519PublicKey
		wantErr error
	}{
		{"pinned to the node's key", right, nil},
		{"trust on first use", identity.Ed25519PublicKey{}, nil},
		{"pinned to another key", wrong, keytls.ErrWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := nodeclient.New(url, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Info(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (info.PubkeyEd25519 != right.String() || !c.NodeKey().Equal(right)) {
				t.Fatalf("pinned %v, info %+v", c.NodeKey(), info)
			}
			if err != nil {
				// Nothing was sent: the refusal happened in the handshake.
				if _, err := c.Call(context.Background(), rpc.MethodInfo, nil); !errors.Is(err, keytls.ErrWrongKey) {
					t.Fatalf("second call: %v", err)
				}
			}
		})
	}
}

// TestOwnMessagesOnly is the done-when check at the client level:
// an account stores, retrieves, expires and deletes its own messages, and
// another account can neither read nor delete them.
func TestOwnMessagesOnly(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	url := "https://" + n.Addr().String()
	alice, mallory := identity.NewAccount(), identity.NewAccount()
	call := func(acct *identity.Account, method, params string, out any) {
		t.Helper()
		body, err := nodeclient.SignedCall(ctx, acct, url, identity.Ed25519PublicKey{}, method, json.RawMessage(params))
		if err != nil {
			t.Fatalf("%s: %v: %s", method, err, body)
		}
		if out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var st rpc.StoreResult
	call(alice, rpc.MethodStore, `{"namespace":1,"ttl":600000,"data":"`+base64.StdEncoding.EncodeToString([]byte("note"))+`"}`, &st)
	var got rpc.RetrieveResult
	call(alice, rpc.MethodRetrieve, `{"namespace":1}`, &got)
	if len(got.Messages) != 1 || got.Messages[0].Hash != st.Hash {
		t.Fatalf("alice retrieve: %+v", got)
	}
	var mal rpc.RetrieveResult
	call(mallory, rpc.MethodRetrieve, `{"namespace":1}`, &mal)
	if len(mal.Messages) != 0 {
		t.Fatal("mallory reads alice's messages")
	}
	// Mallory signing for alice's account is refused outright.
	forged, err := nodeclient.SignDraft(mallory, n.NetworkID(), rpc.MethodRetrieve, json.RawMessage(`{"namespace":1}`), nowFrom(t, url))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(forged, &m)
	m["pubkey"] = alice.ID().String()
	forged, _ = json.Marshal(m)
	c, _ := nodeclient.New(url, identity.Ed25519PublicKey{})
	if _, err := c.Call(ctx, rpc.MethodRetrieve, forged); !isCode(err, rpc.CodeKeyMismatch) {
		t.Fatalf("forged retrieve: %v", err)
	}
	var del rpc.DeleteResult
	call(mallory, rpc.MethodDelete, `{"messages":["`+st.Hash+`"]}`, &del)
	if len(del.Deleted) != 0 {
		t.Fatal("mallory deleted alice's message")
	}
	var ex rpc.ExpireResult
	call(alice, rpc.MethodExpire, `{"messages":["`+st.Hash+`"],"expiry":`+itoa(got.T+120_000)+`,"shorten":true}`, &ex)
	if ex.Updated[st.Hash] != got.T+120_000 {
		t.Fatalf("expire: %+v", ex)
	}
	call(alice, rpc.MethodDelete, `{"messages":["`+st.Hash+`"]}`, &del)
	if len(del.Deleted) != 1 {
		t.Fatalf("alice delete: %+v", del)
	}
}

func isCode(err error, c rpc.Code) bool {
	var e *nodeclient.Error
	return errors.As(err, &e) && e.Code == c
}

func nowFrom(t *testing.T, url string) (now timeT) {
	c, err := nodeclient.New(url, identity.Ed25519PublicKey{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c.Now()
}

type timeT = time.Time

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
