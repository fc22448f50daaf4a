package client

import (
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// TestForgedInnerTime: a message whose Content claims a sent_at_ms later
// than the time sealed (and signed) by protocol v2 is shown and timed by
// the sealed time: an after-send message dated ten years ahead still
// disappears an hour after it was sealed. One dated a year back is
// clamped to the longest an outbox holds a message before sealing it.
func TestForgedInnerTime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		forged time.Duration // added to the sealed time in sent_at_ms
		shown  time.Duration // the time shown, from the sealed time
		timer  bool
	}{
		{"ten years ahead", 10 * 365 * 24 * time.Hour, 0, true},
		{"a year behind", -365 * 24 * time.Hour, -maxQueueDelay, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			for _, c := range []*Client{p.alice, p.bob} {
				c.seal = &v2{c: c}
				if err := c.SetReceipts(true); err != nil {
					t.Fatal(err)
				}
			}
			p.send(p.bob, p.aliceID, "hi") // both accepted
			p.read(p.alice)
			if _, err := p.alice.SetTimer(p.ctx, p.bobID, DisappearAfterSend, time.Hour); err != nil {
				t.Fatal(err)
			}
			p.read(p.bob)

			// Alice's client, modified, writes a time of its choosing into
			// the Content; the seal carries the real one.
			sealedAt := p.alice.now()
			var mid clientdb.MessageID
			rand.Read(mid[:])
			var exp *envelope.ExpirationSettings
			if tc.timer {
				exp = &envelope.ExpirationSettings{Mode: envelope.ExpirationSettings_MODE_AFTER_SEND, Seconds: 3600}
			} else if _, err := p.alice.SetTimer(p.ctx, p.bobID, DisappearOff, 0); err != nil {
				t.Fatal(err)
			}
			p.read(p.bob)
			encoded, err := envelope.MarshalContent(&envelope.Content{
				MessageId: mid[:],
				SentAtMs:  uint64(sealedAt.Add(tc.forged).UnixMilli()),
				Body: &envelope.Content_Data{Data: &envelope.DataMessage{
					Body: "forged time", Expiration: exp,
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			data := sealV2(t, p.alice, p.bob, encoded, sealedAt)
			if _, err := p.alice.store(p.ctx, p.bobID, NamespaceInbox, time.Hour, data); err != nil {
				t.Fatal(err)
			}
			got := p.read(p.bob)
			if len(got) != 1 || got[0].Text != "forged time" {
				t.Fatalf("bob got %+v", got)
			}
			if d := got[0].SentAt.Sub(sealedAt.Add(tc.shown)); d < -time.Second || d > time.Second {
				t.Fatalf("shown as sent at %v, sealed at %v", got[0].SentAt, sealedAt)
			}
			if !tc.timer {
				return
			}
			p.clock.Advance(61 * time.Minute)
			p.restart()
			p.sync(p.bob)
			if h, _ := p.bob.History(p.aliceID); slices.Contains(texts(h), "forged time") {
				t.Fatalf("the message outlived its sealed time + timer: %v", texts(h))
			}
		})
	}
}
