package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hushnet/hush/client"
)

// The event stream (GET /api/v1/events, Server-Sent Events): the client
// library's events, turned into the API's nouns, plus the notifications
// the daemon builds from them. One broker fans them out to every stream.
// A stream that falls behind is ended rather than slowing the others: it
// would otherwise lose events silently, and a page would show an old
// state for good. Its reader reconnects (an EventSource does by itself,
// after the retry the stream names) and reads the state again from the
// API, which stays the source of truth.

// streamRetry is the reconnection delay a stream asks of its
// EventSource (the browser's default is some seconds).
const streamRetry = time.Second

// sseEvent is one event: its SSE name and its JSON data.
type sseEvent struct {
	name string
	data any
}

// broker fans events out to the open streams.
type broker struct {
	mu     sync.Mutex // guards subs, next and closed
	subs   map[int]chan sseEvent
	next   int
	closed bool
}

func newBroker() *broker { return &broker{subs: map[int]chan sseEvent{}} }

// subscribe returns a stream's channel (closed when the daemon stops or
// when the stream falls behind by more than buf events) and the function
// that ends it.
func (b *broker) subscribe(buf int) (<-chan sseEvent, func()) {
	ch := make(chan sseEvent, buf)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	id := b.next
	b.next++
	b.subs[id] = ch
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if ch, ok := b.subs[id]; ok {
			close(ch)
			delete(b.subs, id)
		}
	}
}

func (b *broker) publish(e sseEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, ch := range b.subs {
		select {
		case ch <- e:
		default:
			// Behind: its reader gets what is buffered, then the end.
			close(ch)
			delete(b.subs, id)
		}
	}
}

// close ends every stream, for shutdown.
func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for id, ch := range b.subs {
		close(ch)
		delete(b.subs, id)
	}
}

// transferJSON is a transfer event: `hush send --json`'s progress lines.
type transferJSON struct {
	client.Transfer
	Error string `json:"error,omitempty"`
}

// notificationJSON is what a UI shows as a desktop notification. Title
// and Body follow the notification-content setting; LocalID lets the UI
// open the conversation on a click.
type notificationJSON struct {
	Peer    string `json:"peer,omitempty"`
	LocalID int64  `json:"local_id,omitempty"`
	Title   string `json:"title"`
	Body    string `json:"body"`
}

// pump turns the client's events into the API's until ctx ends or the
// client closes the channel.
func (d *Daemon) pump(ctx context.Context, c *client.Client, events <-chan client.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			for _, out := range d.translate(c, e) {
				d.events.publish(out)
			}
		}
	}
}

// translate returns the API events of one client event.
func (d *Daemon) translate(c *client.Client, e client.Event) []sseEvent {
	switch e.Kind {
	case client.EventReceived:
		mutedMessage(c, &e.Message) // api_conv_b.go
		out := []sseEvent{{name: "message", data: e.Message}}
		if n, ok := d.notification(c, e.Message); ok {
			out = append(out, sseEvent{name: "notification", data: n})
		}
		return out
	case client.EventRequest:
		// The message itself comes as EventReceived too, with its
		// notification.
		return []sseEvent{{name: "request", data: e.Message}}
	case client.EventSent, client.EventStatus, client.EventFailed:
		return []sseEvent{{name: "status", data: e.Message}}
	case client.EventUnsent:
		return []sseEvent{{name: "unsent", data: e.Message}}
	case client.EventTyping:
		return []sseEvent{{name: "typing", data: e.Typing}}
	case client.EventReaction:
		return []sseEvent{{name: "reaction", data: e.Message}} // api_conv_a.go
	case client.EventTransfer:
		t := transferJSON{Transfer: e.Transfer}
		if e.Transfer.Err != nil {
			t.Error = e.Transfer.Err.Error()
		}
		return []sseEvent{{name: "transfer", data: t}}
	case client.EventPaths:
		var b bytes.Buffer
		if err := d.home.WritePaths(&b, true, time.Now()); err != nil || !json.Valid(b.Bytes()) {
			return []sseEvent{{name: "paths", data: struct{}{}}}
		}
		return []sseEvent{{name: "paths", data: json.RawMessage(b.Bytes())}}
	case client.EventNewDevice:
		return []sseEvent{{name: "device", data: newDeviceJSON(e.Device, true)}}
	case client.EventCall:
		return d.callEvents(e)
	case client.EventDropped:
		msg := ""
		if e.Err != nil {
			msg = e.Err.Error()
		}
		return []sseEvent{{name: "dropped", data: map[string]string{"error": msg}}}
	}
	return nil
}

// notification builds the notification of an incoming message, after the
// notification-content setting; ok is false when nothing is to be shown
// (an outgoing message, a sync copy, a blocked sender, a muted chat).
func (d *Daemon) notification(c *client.Client, m client.Message) (notificationJSON, bool) {
	if m.Outgoing || m.Muted {
		return notificationJSON{}, false
	}
	name := m.DisplayName
	if cs, err := c.Contacts(); err == nil {
		for _, ct := range cs {
			if ct.Account == m.Peer {
				if ct.Blocked {
					return notificationJSON{}, false
				}
				if ct.Nickname != "" {
					name = ct.Nickname
				}
			}
		}
	}
	if client.IsGroupID(m.Peer) {
		name = groupNotificationTitle(c, m)
	}
	if name == "" {
		name = m.Peer.String()
	}
	content, err := c.NotificationContent()
	if err != nil {
		content = client.NotifyNameAndContent
	}
	body := m.Text
	if body == "" && len(m.Attachments) > 0 {
		body = fmt.Sprintf("%d attachment(s)", len(m.Attachments))
	}
	if m.Request {
		name = "Message request from " + name
	}
	switch content {
	case client.NotifyNothing:
		// Nothing about the sender or the text: the OS's notification
		// history and lock screen keep what is shown.
		return notificationJSON{Title: "hush", Body: "You have a new message."}, true
	case client.NotifyNameOnly:
		return notificationJSON{Peer: m.Peer.String(), LocalID: m.ID, Title: name, Body: "You have a new message."}, true
	default:
		return notificationJSON{Peer: m.Peer.String(), LocalID: m.ID, Title: name, Body: body}, true
	}
}

// handleEvents serves the event stream: one SSE event per API event, a
// comment line as heartbeat so proxies and browsers keep it open.
func (d *Daemon) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	events, stop := d.events.subscribe(256)
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": hush events\nretry: %d\n\n", streamRetry.Milliseconds())
	fl.Flush()
	tick := time.NewTicker(d.cfg.Heartbeat)
	defer tick.Stop()
	var id int64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			fl.Flush()
		case e, ok := <-events:
			if !ok {
				// The daemon stops, or this stream fell behind and
				// lost events: its reader reconnects and reads again.
				return
			}
			b, err := json.Marshal(e.data)
			if err != nil {
				d.log.Warn("event not encodable", "event", e.name, "err", err)
				continue
			}
			id++
			// json.Marshal output has no newline, so it is one data line.
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, e.name, b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
