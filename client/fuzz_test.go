package client

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// FuzzAccept feeds what a node could return for the own swarm to the
// receive path: it must never panic, and every failure must be a drop
// (ErrDropped), never a database error that would stop the poll.
func FuzzAccept(f *testing.F) {
	c := openV2(f, newHome(f), Options{})
	peer := openV2(f, newHome(f), Options{})
	now := time.Now()
	id := func(b byte) []byte { return append(make([]byte, 15), b) }
	content := func(body string) []byte {
		b, err := envelope.MarshalContent(&envelope.Content{
			MessageId: id(byte(len(body))), SentAtMs: uint64(now.UnixMilli()),
			Body: &envelope.Content_Data{Data: &envelope.DataMessage{Body: body}},
		})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	good := sealV2(f, peer, c, content("hello"), now)
	self := c.Account()
	pid := peer.Account()
	sync, _ := envelope.MarshalContent(&envelope.Content{
		MessageId: id(99), SentAtMs: uint64(now.UnixMilli()),
		Body: &envelope.Content_HistoryShare{HistoryShare: &envelope.HistoryShare{
			ShareId: make([]byte, 16), Parts: 1,
			Messages: []*envelope.HistoryShare_SharedMessage{{Conversation: pid[:], Author: self[:], Content: content("mine")}},
		}},
	})
	syncCopy := sealV2(f, c, c, sync, now)
	forged := sealV2(f, peer, c, sync, now) // a sync copy signed by another account
	f.Add(uint8(0), good)
	f.Add(uint8(1), syncCopy)
	f.Add(uint8(1), forged)
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte("\x08\x01\x1a\x03abc"))
	// The seeds must reach the database, or the fuzzer starts shallow.
	for _, s := range []struct {
		ns   int32
		data []byte
	}{{0, good}, {1, syncCopy}} {
		got, err := c.accept(s.ns, rpc.Message{Hash: rpc.MessageHash(self, s.ns, s.data), Data: base64.StdEncoding.EncodeToString(s.data)})
		if err != nil || len(got) != 1 {
			f.Fatalf("seed in namespace %d: %d messages, %v", s.ns, len(got), err)
		}
	}
	f.Fuzz(func(t *testing.T, nsByte uint8, data []byte) {
		ns := int32(nsByte % 2)
		m := rpc.Message{
			Hash: rpc.MessageHash(self, ns, data), Timestamp: now.UnixMilli(),
			Expiration: now.Add(time.Hour).UnixMilli(), Data: base64.StdEncoding.EncodeToString(data),
		}
		got, err := c.accept(ns, m)
		if err != nil && !errors.Is(err, ErrDropped) {
			t.Fatalf("accept failed with a non-drop error: %v", err)
		}
		for _, msg := range got {
			if msg.Sender.IsZero() || msg.MessageID == "" {
				t.Fatalf("stored a message without sender or ID: %+v", msg)
			}
		}
	})
}
