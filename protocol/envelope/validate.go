package envelope

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// ValidateEnvelope checks the fields of e that MarshalEnvelope and
// UnmarshalEnvelope require: a known type (ErrUnknownType) and non-empty
// content (ErrEmptyContent). v1, v2 and account objects are known here;
// whether this client can open a type is the caller's decision.
func ValidateEnvelope(e *Envelope) error {
	if e == nil {
		return fmt.Errorf("%w: nil envelope", ErrEmptyContent)
	}
	switch e.GetType() {
	case Envelope_TYPE_SESSION_MESSAGE_V1, Envelope_TYPE_SESSION_MESSAGE_V2, Envelope_TYPE_ACCOUNT_OBJECT:
	default:
		return fmt.Errorf("%w: %d", ErrUnknownType, int32(e.GetType()))
	}
	if len(e.GetContent()) == 0 {
		return fmt.Errorf("%w: envelope has no content bytes", ErrEmptyContent)
	}
	return nil
}

// ValidateContent checks every field of c whose shape this package knows.
// It fails with ErrEmptyContent when c has no body, ErrUnknownContent when
// the body or an enum value is from a newer version, and ErrInvalid (naming
// the field) for anything else.
func ValidateContent(c *Content) error {
	if c == nil {
		return fmt.Errorf("%w: nil content", ErrEmptyContent)
	}
	if c.GetBody() == nil {
		// An unknown field may be a body added after this version.
		if len(c.ProtoReflect().GetUnknown()) > 0 {
			return fmt.Errorf("%w: no known body", ErrUnknownContent)
		}
		return fmt.Errorf("%w: content has no body", ErrEmptyContent)
	}
	if err := exactLen("message_id", c.GetMessageId(), MessageIDSize); err != nil {
		return err
	}
	if c.GetSentAtMs() == 0 {
		return invalid("sent_at_ms", "is unset")
	}
	switch b := c.GetBody().(type) {
	case *Content_Data:
		return validateData("data", b.Data)
	case *Content_Receipt:
		return validateReceipt("receipt", b.Receipt)
	case *Content_Typing:
		if b.Typing == nil {
			return emptyBody("typing")
		}
		return knownEnum("typing.action", b.Typing.GetAction())
	case *Content_Unsend:
		return validateUnsend("unsend", b.Unsend)
	case *Content_ExpirationSettings:
		if b.ExpirationSettings == nil {
			return emptyBody("expiration_settings")
		}
		// As a body it announces a change, so it must say who made it.
		if err := exactLen("expiration_settings.changed_by", b.ExpirationSettings.GetChangedBy(), AccountIDSize); err != nil {
			return err
		}
		return validateExpiration("expiration_settings", b.ExpirationSettings)
	case *Content_Call:
		return validateCall("call", b.Call)
	case *Content_DeviceAnnouncement:
		return validateDevice("device_announcement", b.DeviceAnnouncement)
	case *Content_ConfigSync:
		return validateConfig("config_sync", b.ConfigSync)
	case *Content_HistoryShare:
		return validateHistory("history_share", b.HistoryShare)
	case *Content_GroupUpdate:
		return validateGroupUpdate("group_update", b.GroupUpdate)
	case *Content_Reaction:
		return validateReaction("reaction", b.Reaction)
	}
	// Unreachable while every oneof case above is listed; a case added to the
	// schema without one lands here instead of passing unchecked.
	return fmt.Errorf("%w: body %T not validated", ErrInvalid, c.GetBody())
}

func validateData(path string, d *DataMessage) error {
	if d == nil {
		return emptyBody(path)
	}
	if d.GetBody() == "" && len(d.GetAttachments()) == 0 && d.GetProfile() == nil && d.GetExpiration() == nil {
		if len(d.ProtoReflect().GetUnknown()) > 0 {
			return fmt.Errorf("%w: %s has only unknown fields", ErrUnknownContent, path)
		}
		return fmt.Errorf("%w: %s has no text, attachment, profile or timer", ErrEmptyContent, path)
	}
	for i, a := range d.GetAttachments() {
		if err := validateAttachment(fmt.Sprintf("%s.attachments[%d]", path, i), a, true); err != nil {
			return err
		}
	}
	if err := validatePreviews(path+".previews", d); err != nil {
		return err
	}
	if q := d.GetQuote(); q != nil {
		if err := validateQuote(path+".quote", q); err != nil {
			return err
		}
	}
	if x := d.GetExpiration(); x != nil {
		if err := validateExpiration(path+".expiration", x); err != nil {
			return err
		}
		if len(x.GetChangedBy()) != 0 {
			return invalid(path+".expiration.changed_by", "is set on a message's own setting")
		}
	}
	if av := d.GetProfile().GetAvatar(); av != nil {
		if err := validateAttachment(path+".profile.avatar", av, false); err != nil {
			return err
		}
	}
	return nil
}

// validateAttachment requires what a receiver needs to fetch and open the
// file: the pieces, key and digests (envelope.proto AttachmentPointer says
// how they fit). Whether the sizes agree with Padmé and the stream's
// overhead is internal/attach's check, which knows the construction; here
// only the shapes and bounds. Only top-level attachments may carry a
// thumbnail pointer, which keeps the recursive message from nesting.
func validateAttachment(path string, a *AttachmentPointer, thumbnailAllowed bool) error {
	if a == nil {
		return invalid(path, "is nil")
	}
	if err := exactLen(path+".key", a.GetKey(), AttachmentKeySize); err != nil {
		return err
	}
	if err := exactLen(path+".digest", a.GetDigest(), DigestSize); err != nil {
		return err
	}
	pieces := a.GetPieces()
	if len(pieces) == 0 || len(pieces) > MaxAttachmentPieces {
		return invalid(path+".pieces", "has %d pieces, want 1 to %d", len(pieces), MaxAttachmentPieces)
	}
	var total uint64 // cannot overflow: at most 128 pieces of 2 MiB
	for i, pc := range pieces {
		pp := fmt.Sprintf("%s.pieces[%d]", path, i)
		if !isPieceID(pc.GetId()) {
			return invalid(pp+".id", "is not 1 to %d characters of base64url", MaxPieceIDLength)
		}
		if err := exactLen(pp+".digest", pc.GetDigest(), DigestSize); err != nil {
			return err
		}
		if pc.GetSize() == 0 || pc.GetSize() > MaxPieceSize {
			return invalid(pp+".size", "is %d, want 1 to %d", pc.GetSize(), MaxPieceSize)
		}
		total += pc.GetSize()
	}
	if total != a.GetPaddedSize() {
		return invalid(path+".padded_size", "is %d, the pieces hold %d", a.GetPaddedSize(), total)
	}
	// The sealed stream is longer than its plaintext, so the padded
	// ciphertext is too.
	if a.GetSize() >= a.GetPaddedSize() {
		return invalid(path+".size", "is %d, not below padded_size %d", a.GetSize(), a.GetPaddedSize())
	}
	if len(a.GetThumbnailJpeg()) > MaxThumbnailSize {
		return invalid(path+".thumbnail_jpeg", "is %d bytes, want at most %d", len(a.GetThumbnailJpeg()), MaxThumbnailSize)
	}
	if len(a.GetFileName()) > MaxFileNameLength {
		return invalid(path+".file_name", "is %d bytes, want at most %d", len(a.GetFileName()), MaxFileNameLength)
	}
	if len(a.GetContentType()) > MaxContentTypeLength {
		return invalid(path+".content_type", "is %d bytes, want at most %d", len(a.GetContentType()), MaxContentTypeLength)
	}
	if len(a.GetWaveform()) > MaxWaveformSize {
		return invalid(path+".waveform", "is %d bytes, want at most %d", len(a.GetWaveform()), MaxWaveformSize)
	}
	if a.GetDurationMs() > MaxVoiceDurationMs {
		return invalid(path+".duration_ms", "is %d, want at most %d", a.GetDurationMs(), MaxVoiceDurationMs)
	}
	if t := a.GetThumbnail(); t != nil {
		if !thumbnailAllowed {
			return invalid(path+".thumbnail", "is not allowed here")
		}
		return validateAttachment(path+".thumbnail", t, false)
	}
	return nil
}

// isPieceID reports whether id is 1 to MaxPieceIDLength characters of the
// unpadded base64url alphabet, so it can go into a file-server request
// as it is.
func isPieceID(id string) bool {
	if id == "" || len(id) > MaxPieceIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validateQuote(path string, q *Quote) error {
	if err := exactLen(path+".message_id", q.GetMessageId(), MessageIDSize); err != nil {
		return err
	}
	if err := exactLen(path+".author", q.GetAuthor(), AccountIDSize); err != nil {
		return err
	}
	if len(q.GetText()) > MaxQuoteText {
		return invalid(path+".text", "is longer than %d bytes", MaxQuoteText)
	}
	for i, qa := range q.GetAttachments() {
		if t := qa.GetThumbnail(); t != nil {
			if err := validateAttachment(fmt.Sprintf("%s.attachments[%d].thumbnail", path, i), t, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateReceipt(path string, r *ReceiptMessage) error {
	if r == nil {
		return emptyBody(path)
	}
	if err := knownEnum(path+".type", r.GetType()); err != nil {
		return err
	}
	if len(r.GetMessageIds()) == 0 && len(r.GetSentAtMs()) == 0 {
		return invalid(path, "acknowledges no message")
	}
	for i, id := range r.GetMessageIds() {
		if err := exactLen(fmt.Sprintf("%s.message_ids[%d]", path, i), id, MessageIDSize); err != nil {
			return err
		}
	}
	return nil
}

// validateReaction checks a reaction's target and that its emoji is a
// short run of visible characters: 1 to MaxEmojiSize bytes of UTF-8, no
// spaces or control characters. Which characters make an emoji is the
// Unicode tables' business and changes yearly; a receiver shows the text
// as text, so anything visible and short is harmless.
func validateReaction(path string, r *Reaction) error {
	if r == nil {
		return emptyBody(path)
	}
	if err := exactLen(path+".message_id", r.GetMessageId(), MessageIDSize); err != nil {
		return err
	}
	if err := exactLen(path+".author", r.GetAuthor(), AccountIDSize); err != nil {
		return err
	}
	e := r.GetEmoji()
	switch {
	case e == "" || len(e) > MaxEmojiSize:
		return invalid(path+".emoji", "must be 1 to %d bytes", MaxEmojiSize)
	case !utf8.ValidString(e):
		return invalid(path+".emoji", "is not UTF-8")
	case strings.ContainsFunc(e, func(c rune) bool { return c < 0x21 || c == 0x7f || (c >= 0x80 && c < 0xa0) }):
		return invalid(path+".emoji", "has a space or control character")
	}
	return nil
}

func validateUnsend(path string, u *UnsendRequest) error {
	if u == nil {
		return emptyBody(path)
	}
	if err := exactLen(path+".author", u.GetAuthor(), AccountIDSize); err != nil {
		return err
	}
	return exactLen(path+".message_id", u.GetMessageId(), MessageIDSize)
}

func validateExpiration(path string, x *ExpirationSettings) error {
	if err := knownEnum(path+".mode", x.GetMode()); err != nil {
		return err
	}
	off := x.GetMode() == ExpirationSettings_MODE_OFF
	switch {
	case off && x.GetSeconds() != 0:
		return invalid(path+".seconds", "is %d with mode off", x.GetSeconds())
	case !off && x.GetSeconds() == 0:
		return invalid(path+".seconds", "is 0 with mode %s", x.GetMode())
	}
	if len(x.GetChangedBy()) != 0 {
		return exactLen(path+".changed_by", x.GetChangedBy(), AccountIDSize)
	}
	return nil
}

func validateCall(path string, c *CallMessage) error {
	if c == nil {
		return emptyBody(path)
	}
	if err := knownEnum(path+".type", c.GetType()); err != nil {
		return err
	}
	// end_reason is not checked: unset or unknown (a newer sender's)
	// reads as a hang-up, which ends the call all the same.
	if err := exactLen(path+".call_uuid", c.GetCallUuid(), CallUUIDSize); err != nil {
		return err
	}
	switch c.GetType() {
	case CallMessage_TYPE_OFFER, CallMessage_TYPE_ANSWER:
		if c.GetSdp() == "" {
			return invalid(path+".sdp", "is empty in %s", c.GetType())
		}
	case CallMessage_TYPE_ICE_CANDIDATES:
		if len(c.GetCandidates()) == 0 {
			return invalid(path+".candidates", "is empty in %s", c.GetType())
		}
	}
	for i, cand := range c.GetCandidates() {
		if cand.GetCandidate() == "" {
			return invalid(fmt.Sprintf("%s.candidates[%d].candidate", path, i), "is empty")
		}
	}
	return nil
}

func validateDevice(path string, d *DeviceAnnouncement) error {
	if d == nil {
		return emptyBody(path)
	}
	if err := exactLen(path+".device_id", d.GetDeviceId(), DeviceIDSize); err != nil {
		return err
	}
	if err := exactLen(path+".device_public_key", d.GetDevicePublicKey(), DevicePublicKeySize); err != nil {
		return err
	}
	if d.GetCreatedAtMs() == 0 {
		return invalid(path+".created_at_ms", "is unset")
	}
	return nil
}

func validateConfig(path string, c *ConfigSync) error {
	if c == nil {
		return emptyBody(path)
	}
	if err := knownEnum(path+".kind", c.GetKind()); err != nil {
		return err
	}
	if len(c.GetSealedConfig()) == 0 {
		return invalid(path+".sealed_config", "is empty")
	}
	return nil
}

// validateHistory checks the batch framing and each entry's addressing. The
// entries' contents are left encoded; the receiving device decodes each with
// UnmarshalContent, so one bad entry does not discard the whole batch.
func validateHistory(path string, h *HistoryShare) error {
	if h == nil {
		return emptyBody(path)
	}
	if err := exactLen(path+".share_id", h.GetShareId(), ShareIDSize); err != nil {
		return err
	}
	if h.GetParts() == 0 || h.GetPart() >= h.GetParts() {
		return invalid(path+".part", "is %d of %d", h.GetPart(), h.GetParts())
	}
	for i, m := range h.GetMessages() {
		p := fmt.Sprintf("%s.messages[%d]", path, i)
		if err := exactLen(p+".conversation", m.GetConversation(), AccountIDSize); err != nil {
			return err
		}
		if err := exactLen(p+".author", m.GetAuthor(), AccountIDSize); err != nil {
			return err
		}
		// Exactly one of content (the own account's message) and signed
		// (a contact's, with the contact's signed part) is set.
		if (len(m.GetContent()) == 0) == (len(m.GetSigned()) == 0) {
			return invalid(p+".content", "and signed: want exactly one set")
		}
	}
	return nil
}

func exactLen(path string, b []byte, want int) error {
	if len(b) != want {
		return invalid(path, "is %d bytes, want %d", len(b), want)
	}
	return nil
}

// knownEnum rejects an unset enum as invalid, and a value this version does
// not define as unknown content: proto3 enums are open, so a newer sender's
// values decode without error and must be caught here.
func knownEnum(path string, v protoreflect.Enum) error {
	n := v.Number()
	if n == 0 {
		return invalid(path, "is unset")
	}
	if v.Descriptor().Values().ByNumber(n) == nil {
		return fmt.Errorf("%w: %s has unknown value %d", ErrUnknownContent, path, n)
	}
	return nil
}

func emptyBody(path string) error {
	return fmt.Errorf("%w: %s body is nil", ErrEmptyContent, path)
}

func invalid(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalid, path, fmt.Sprintf(format, args...))
}

func validateGroupUpdate(path string, g *GroupUpdate) error {
	if g == nil {
		return emptyBody(path)
	}
	if err := knownEnum(path+".kind", g.GetKind()); err != nil {
		return err
	}
	if err := exactLen(path+".group_id", g.GetGroupId(), AccountIDSize); err != nil {
		return err
	}
	if g.GetGroupId()[0] != 0x03 {
		return invalid(path+".group_id", "does not start with 03")
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"member_key", g.GetMemberKey()}, {"admin_key", g.GetAdminKey()}} {
		if len(f.b) != 0 {
			if err := exactLen(path+"."+f.name, f.b, 32); err != nil {
				return err
			}
		}
	}
	if len(g.GetInvitedBy()) != 0 {
		if err := exactLen(path+".invited_by", g.GetInvitedBy(), AccountIDSize); err != nil {
			return err
		}
	}
	for i, k := range g.GetKeys() {
		p := fmt.Sprintf("%s.keys[%d]", path, i)
		if err := exactLen(p+".key", k.GetKey(), 32); err != nil {
			return err
		}
		if n := len(k.GetId()); n == 0 || n > 64 {
			return invalid(p+".id", "must have 1 to 64 bytes")
		}
		if k.GetExpiresAtMs() == 0 {
			return invalid(p+".expires_at_ms", "is unset")
		}
	}
	return nil
}

// validatePreviews bounds the link previews a sender attached. A preview
// must name a URL that appears in the message's text, so a sender cannot
// show a card for a link the receiver does not see.
func validatePreviews(path string, d *DataMessage) error {
	ps := d.GetPreviews()
	if len(ps) > MaxLinkPreviews {
		return invalid(path, "has %d previews, want at most %d", len(ps), MaxLinkPreviews)
	}
	for i, p := range ps {
		pp := fmt.Sprintf("%s[%d]", path, i)
		u := p.GetUrl()
		if u == "" || len(u) > MaxPreviewURLLength {
			return invalid(pp+".url", "is %d bytes, want 1 to %d", len(u), MaxPreviewURLLength)
		}
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return invalid(pp+".url", "is not an http(s) URL")
		}
		if !strings.Contains(d.GetBody(), u) {
			return invalid(pp+".url", "does not appear in the body")
		}
		if len(p.GetTitle()) > MaxPreviewTitleLength {
			return invalid(pp+".title", "is %d bytes, want at most %d", len(p.GetTitle()), MaxPreviewTitleLength)
		}
		if len(p.GetDescription()) > MaxPreviewDescriptionLength {
			return invalid(pp+".description", "is %d bytes, want at most %d", len(p.GetDescription()), MaxPreviewDescriptionLength)
		}
		if len(p.GetImageJpeg()) > MaxPreviewImageSize {
			return invalid(pp+".image_jpeg", "is %d bytes, want at most %d", len(p.GetImageJpeg()), MaxPreviewImageSize)
		}
		if img := p.GetImage(); img != nil {
			if err := validateAttachment(pp+".image", img, false); err != nil {
				return err
			}
		}
	}
	return nil
}
