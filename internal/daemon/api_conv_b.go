package daemon

// Issue 22's note to self, mute/pin/archive, voice notes and link
// previews (convb): the chat flag, archived list, note-to-self and
// link-preview setting endpoints (docs/api.md "Conversation flags, note to
// self, voice notes and link previews"). Voice notes go through the send
// endpoint (api.go: a file's voice, duration_ms and waveform).

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/protocol/envelope"
)

func (d *Daemon) convBRoutes() map[string]handler {
	return map[string]handler{
		"GET /api/v1/conversations/archived":     d.listArchived,
		"GET /api/v1/conversations/{peer}/flags": d.getFlags,
		"PUT /api/v1/conversations/{peer}/flags": d.putFlags,
		"GET /api/v1/note-to-self":               d.noteToSelf,
		"GET /api/v1/settings/link-previews":     d.getLinkPreviews,
		"PUT /api/v1/settings/link-previews":     d.putLinkPreviews,
	}
}

func (d *Daemon) listArchived(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	cs, err := c.ArchivedConversations()
	if err != nil {
		return err
	}
	out := make([]conversationJSON, len(cs))
	for i, cv := range cs {
		out[i] = conversationJSON{Conversation: cv, LastMessage: lastMessage(c, cv.Peer)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (d *Daemon) getFlags(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	f, err := c.ChatFlagsOf(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// flagsBody changes the flags it names and leaves the others.
type flagsBody struct {
	Muted    *bool `json:"muted"`
	Pinned   *bool `json:"pinned"`
	Archived *bool `json:"archived"`
}

func (d *Daemon) putFlags(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	var b flagsBody
	if err := decode(r, &b); err != nil {
		return err
	}
	for _, f := range []struct {
		v   *bool
		set func(bool) error
	}{
		{b.Muted, func(on bool) error { return c.SetMuted(p, on) }},
		{b.Pinned, func(on bool) error { return c.SetPinned(p, on) }},
		{b.Archived, func(on bool) error { return c.SetArchived(p, on) }},
	} {
		if f.v != nil {
			if err := f.set(*f.v); err != nil {
				return err
			}
		}
	}
	// The daemon's background sync publishes the change to the other
	// devices.
	return d.getFlags(w, r, c)
}

func (d *Daemon) noteToSelf(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	writeJSON(w, http.StatusOK, map[string]string{"peer": c.Account().String(), "name": client.NoteToSelfName})
	return nil
}

type linkPreviewsJSON struct {
	On      bool   `json:"on"`
	Warning string `json:"warning"`
}

func (d *Daemon) getLinkPreviews(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	on, err := c.LinkPreviews()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, linkPreviewsJSON{On: on, Warning: client.LinkPreviewsWarning})
	return nil
}

func (d *Daemon) putLinkPreviews(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		On *bool `json:"on"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.On == nil {
		return badRequest("bad_setting", "want {\"on\": true|false}")
	}
	if err := c.SetLinkPreviews(*b.On); err != nil {
		return err
	}
	return d.getLinkPreviews(w, r, c)
}

// mutedMessage marks an incoming message of a muted conversation, which
// raises no notification event (events.go).
func mutedMessage(c *client.Client, m *client.Message) {
	if m.Outgoing {
		return
	}
	if f, err := c.ChatFlagsOf(m.Peer); err == nil && f.Muted {
		m.Muted = true
	}
}

// voicePart reads one of a multipart send's voice fields into v.
func voicePart(part io.Reader, v *sendFile) error {
	b, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return err
	}
	s := strings.TrimSpace(string(b))
	switch p := part.(type) {
	case interface{ FormName() string }:
		switch p.FormName() {
		case "voice":
			v.Voice = s == "true" || s == "1"
		case "duration_ms":
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return badRequest("bad_voice", "duration_ms is a number of milliseconds")
			}
			v.DurationMS = uint32(n)
		case "waveform":
			w, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(w) > envelope.MaxWaveformSize {
				return badRequest("bad_voice", "waveform is base64 of at most %d levels", envelope.MaxWaveformSize)
			}
			v.Waveform = w
		}
	}
	return nil
}
