package client

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
)

// TestSealUnsealedPayload: the outbox tells a payload waiting to be sealed
// from one queued sealed, and reads back the Content and the queue time.
// The at-rest form is the one earlier versions queued as "pending v2", so
// their queued items are still sealed and sent.
func TestSealUnsealedPayload(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	encoded := []byte("a Content")
	payload, err := unsealedPayload(encoded, now)
	if err != nil {
		t.Fatal(err)
	}
	earlier, _ := envelope.MarshalEnvelope(&envelope.Envelope{
		Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V2, CoarseTimestampS: envelope.CoarseTimestamp(now),
		Content: append([]byte("hush/1 pending v2\x00"), envelope.Pad(encoded)...),
	})
	if !bytes.Equal(payload, earlier) {
		t.Fatal("the unsealed outbox payload differs from the form earlier versions queued")
	}
	v1sealed, err := v1{identity.NewAccount()}.seal(context.Background(), identity.NewAccount().ID(), envelope.Pad(encoded), 7)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload []byte
		unseal  bool
	}{
		{"unsealed", payload, true},
		{"queued sealed", v1sealed.data, false},
		{"v2 without the mark", mustEnvelope(t, envelope.Envelope_TYPE_SESSION_MESSAGE_V2, []byte("hush/1 pending v3\x00x")), false},
		{"the mark in a v1 envelope", mustEnvelope(t, envelope.Envelope_TYPE_SESSION_MESSAGE_V1, []byte("hush/1 pending v2\x00x")), false},
		{"not an envelope", []byte("garbage"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			padded, coarse, ok := parseUnsealed(tt.payload)
			if ok != tt.unseal {
				t.Fatalf("parseUnsealed ok = %v, want %v", ok, tt.unseal)
			}
			if ok && (!bytes.Equal(padded, envelope.Pad(encoded)) || coarse != envelope.CoarseTimestamp(now)) {
				t.Fatalf("parseUnsealed = %d bytes at %d", len(padded), coarse)
			}
		})
	}
}

func mustEnvelope(t *testing.T, typ envelope.Envelope_Type, content []byte) []byte {
	t.Helper()
	b, err := envelope.MarshalEnvelope(&envelope.Envelope{Type: typ, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
