package daemon

import (
	"net/http"
	"strconv"

	"github.com/hushnet/hush/client"
)

// The API of issue 22's replies, reactions and search (docs/api.md
// "Replies, reactions and search"). Messages are named by their local ID,
// as the rest of the API does; the quote and reactions ride on every
// message object.

func (d *Daemon) convARoutes() map[string]handler {
	return map[string]handler{
		"POST /api/v1/messages/{id}/reply":     d.reply,
		"POST /api/v1/messages/{id}/reactions": d.react,
		"GET /api/v1/search":                   d.search,
	}
}

// reply sends {"text"} to the message's chat, quoting the message.
func (d *Daemon) reply(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	var b struct {
		Text string `json:"text"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := decode(r, &b); err != nil {
		return err
	}
	q, err := c.Message(id)
	if err != nil {
		return err
	}
	m, err := c.SendWith(r.Context(), q.Peer, b.Text, client.SendOptions{ReplyTo: q.MessageID})
	if err != nil {
		return err
	}
	if m2, err := c.Message(m.ID); err == nil {
		m = m2
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// react puts {"emoji"} on the message, or takes it away with
// "remove": true, and answers the message with its reactions now.
func (d *Daemon) react(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	var b struct {
		Emoji  string `json:"emoji"`
		Remove bool   `json:"remove"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := decode(r, &b); err != nil {
		return err
	}
	target, err := c.Message(id)
	if err != nil {
		return err
	}
	m, err := c.React(r.Context(), target.Peer, target.MessageID, b.Emoji, b.Remove)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// search answers ?q=TEXT[&chat=ID][&limit=N] with {"messages": [...]},
// newest first.
func (d *Daemon) search(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	q := r.URL.Query()
	var opts client.SearchOptions
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > client.MaxSearchLimit {
			return badRequest("bad_limit", "limit is a number from 1 to %d", client.MaxSearchLimit)
		}
		opts.Limit = n
	}
	if chat := q.Get("chat"); chat != "" {
		p, err := c.Resolve(chat)
		if err != nil {
			return err
		}
		opts.Chat = p
	}
	ms, err := c.Search(q.Get("q"), opts)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []client.Message{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": ms})
	return nil
}
