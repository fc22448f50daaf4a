package lab

import (
	"testing"

	"github.com/hushnet/hush/client"
)

func TestLedgerBalance(t *testing.T) {
	in := func(texts ...string) []client.Message {
		var ms []client.Message
		for _, s := range texts {
			ms = append(ms, client.Message{Text: s})
		}
		return ms
	}
	for _, tc := range []struct {
		name                        string
		received                    []string
		ok                          bool
		missing, duplicated, queued int
	}{
		{"every acknowledged once", []string{"a", "b"}, true, 0, 0, 0},
		{"queued one arrived too", []string{"a", "b", "q"}, true, 0, 0, 1},
		{"one lost", []string{"a"}, false, 1, 0, 0},
		{"one shown twice", []string{"a", "b", "b"}, false, 0, 1, 0},
		{"a queued one shown twice", []string{"a", "b", "q", "q"}, false, 0, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLedger()
			l.Sent("bob", "a", true)
			l.Sent("bob", "b", true)
			l.Sent("bob", "q", false)
			l.Received("bob", in(tc.received...))
			// Outgoing copies are the sender's, never a receipt.
			l.Received("bob", []client.Message{{Text: "a", Outgoing: true}})
			b := l.Balance()
			if b.OK() != tc.ok || len(b.Missing) != tc.missing || len(b.Duplicated) != tc.duplicated || b.QueuedReceived != tc.queued {
				t.Fatalf("balance %s (%s)", b, b.Details())
			}
		})
	}
	l := NewLedger()
	l.Received("bob", in("never sent"))
	if b := l.Balance(); b.OK() || len(b.Unknown) != 1 {
		t.Fatalf("an unknown message balances: %s", b)
	}
}
