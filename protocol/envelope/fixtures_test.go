package envelope

import "bytes"

// Fixed inputs shared by the round-trip, golden-vector and fuzz-seed tests.
// Changing any of them changes testdata/vectors.json; regenerate with
// `go test -run TestGoldenVectors -update`.

// fill returns n bytes counting up from start, so fields are easy to tell
// apart in a hex dump.
func fill(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func accountID(start byte) []byte {
	return append([]byte{0x05}, fill(32, start)...)
}

var (
	fixedMessageID = fill(MessageIDSize, 0x10)
	fixedSentAt    = uint64(1_764_028_800_000) // 2025-11-25T00:00:00Z
	alice          = accountID(0xa0)
	bob            = accountID(0xb0)
)

// pointer is the smallest valid attachment pointer: one piece.
func pointer(start byte) *AttachmentPointer {
	return &AttachmentPointer{
		Key:        fill(32, start),
		Digest:     fill(DigestSize, start+0x20),
		Size:       2_000,
		PaddedSize: 2_048,
		Pieces:     []*AttachmentPointer_Piece{{Id: "p1ece", Digest: fill(DigestSize, start+0x20), Size: 2_048}},
	}
}

// attachment is a photo as hush sends it: three pieces, an inline
// thumbnail, no Session single-blob fields.
func attachment() *AttachmentPointer {
	return &AttachmentPointer{
		Key:         fill(32, 0x40),
		Digest:      fill(DigestSize, 0x60),
		Size:        2_400_000,
		PaddedSize:  2_424_832,
		ContentType: "image/jpeg",
		FileName:    "cat.jpg",
		Width:       640,
		Height:      480,
		Pieces: []*AttachmentPointer_Piece{
			{Id: "8xEwQqFpbU2d3ZVZvA5bpT1uo9CmU2Cb-RqQy0uLj_c", Digest: fill(DigestSize, 0x61), Size: 1 << 20},
			{Id: "Zr3R6o8W2yJ0Y5m9n6B3y1wq5oYkD3cXg2pP8aVtQ1A", Digest: fill(DigestSize, 0x62), Size: 1 << 20},
			{Id: "k_9-aZ", Digest: fill(DigestSize, 0x63), Size: 327_680},
		},
		ThumbnailJpeg: append([]byte{0xff, 0xd8, 0xff}, fill(61, 0x90)...),
	}
}

// content wraps a body in a Content with the fixed ID and timestamp.
func content(body isContent_Body) *Content {
	return &Content{MessageId: bytes.Clone(fixedMessageID), SentAtMs: fixedSentAt, Body: body}
}

// contentCases holds one valid Content per body kind, with most fields set.
var contentCases = []struct {
	name    string
	content *Content
}{
	{"data_text", content(&Content_Data{Data: &DataMessage{Body: "hello, hush 👋"}})},
	{"data_full", content(&Content_Data{Data: &DataMessage{
		Body:        "look at this",
		Attachments: []*AttachmentPointer{attachment()},
		Quote: &Quote{
			MessageId: fill(MessageIDSize, 0x20),
			Author:    bob,
			SentAtMs:  fixedSentAt - 60_000,
			Text:      "earlier",
			Attachments: []*Quote_QuotedAttachment{{
				ContentType: "image/png",
				FileName:    "dog.png",
				Thumbnail:   pointer(0x42),
			}},
		},
		Expiration: &ExpirationSettings{Mode: ExpirationSettings_MODE_AFTER_READ, Seconds: 3600},
		Profile: &Profile{
			DisplayName: "Alice",
			Avatar:      pointer(0x43),
		},
	}})},
	{"receipt_delivered", content(&Content_Receipt{Receipt: &ReceiptMessage{
		Type:       ReceiptMessage_TYPE_DELIVERED,
		MessageIds: [][]byte{fill(MessageIDSize, 0x20), fill(MessageIDSize, 0x30)},
	}})},
	{"receipt_read_by_time", content(&Content_Receipt{Receipt: &ReceiptMessage{
		Type:     ReceiptMessage_TYPE_READ,
		SentAtMs: []uint64{fixedSentAt - 1, fixedSentAt - 2},
	}})},
	{"typing", content(&Content_Typing{Typing: &TypingMessage{Action: TypingMessage_ACTION_STARTED}})},
	{"reaction", content(&Content_Reaction{Reaction: &Reaction{
		MessageId: fill(MessageIDSize, 0x20), Author: alice, Emoji: "👍",
	}})},
	{"reaction_remove", content(&Content_Reaction{Reaction: &Reaction{
		MessageId: fill(MessageIDSize, 0x20), Author: alice, Emoji: "❤️", Remove: true,
	}})},
	{"unsend", content(&Content_Unsend{Unsend: &UnsendRequest{
		Author: alice, MessageId: fill(MessageIDSize, 0x20), SentAtMs: fixedSentAt - 5_000,
	}})},
	{"expiration_off", content(&Content_ExpirationSettings{ExpirationSettings: &ExpirationSettings{
		Mode: ExpirationSettings_MODE_OFF, ChangedBy: alice,
	}})},
	{"expiration_after_send", content(&Content_ExpirationSettings{ExpirationSettings: &ExpirationSettings{
		Mode: ExpirationSettings_MODE_AFTER_SEND, Seconds: 86_400, ChangedBy: alice,
	}})},
	{"call_pre_offer", content(&Content_Call{Call: &CallMessage{
		Type: CallMessage_TYPE_PRE_OFFER, CallUuid: fill(CallUUIDSize, 0x70),
	}})},
	{"call_offer", content(&Content_Call{Call: &CallMessage{
		Type: CallMessage_TYPE_OFFER, CallUuid: fill(CallUUIDSize, 0x70),
		Sdp: "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\n",
	}})},
	{"call_ice", content(&Content_Call{Call: &CallMessage{
		Type: CallMessage_TYPE_ICE_CANDIDATES, CallUuid: fill(CallUUIDSize, 0x70),
		Candidates: []*CallMessage_IceCandidate{
			{Candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", SdpMid: "0", SdpMlineIndex: 0},
			{Candidate: "candidate:2 1 udp 1686052607 198.51.100.7 40000 typ srflx", SdpMid: "0", SdpMlineIndex: 0},
		},
	}})},
	{"call_end", content(&Content_Call{Call: &CallMessage{
		Type: CallMessage_TYPE_END, CallUuid: fill(CallUUIDSize, 0x70),
	}})},
	{"device_announcement", content(&Content_DeviceAnnouncement{DeviceAnnouncement: &DeviceAnnouncement{
		DeviceId: fill(DeviceIDSize, 0x80), DevicePublicKey: fill(DevicePublicKeySize, 0x90),
		CreatedAtMs: fixedSentAt - 86_400_000, Name: "laptop",
	}})},
	{"config_sync", content(&Content_ConfigSync{ConfigSync: &ConfigSync{
		Kind: ConfigSync_KIND_CONTACTS, Sequence: 42, Version: 1, SealedConfig: fill(48, 0xc0),
	}})},
	{"history_share", content(&Content_HistoryShare{HistoryShare: &HistoryShare{
		ShareId: fill(ShareIDSize, 0xd0), Part: 0, Parts: 2,
		Messages: []*HistoryShare_SharedMessage{{
			Conversation: bob, Author: bob, Content: fill(20, 0xe0),
			ReceivedAtMs: fixedSentAt - 3_600_000, ExpiresAtMs: fixedSentAt + 3_600_000,
		}},
	}})},
	{"history_share_signed", content(&Content_HistoryShare{HistoryShare: &HistoryShare{
		ShareId: fill(ShareIDSize, 0xd1), Part: 1, Parts: 2,
		Messages: []*HistoryShare_SharedMessage{{
			Conversation: bob, Author: bob, Signed: fill(40, 0xe1),
			ReceivedAtMs: fixedSentAt - 3_600_000,
		}},
	}})},
}

// fixedEnvelope is the Envelope in the golden vectors.
func fixedEnvelope() *Envelope {
	return &Envelope{
		Type:             Envelope_TYPE_SESSION_MESSAGE_V1,
		CoarseTimestampS: fixedSentAt / 1000,
		Content:          fill(2*BlockSize, 0x00),
	}
}
