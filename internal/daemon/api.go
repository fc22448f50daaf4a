package daemon

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
)

// Body limits: a JSON request is small (a message's text is at most
// about 75 KB); an upload is bounded by the home's attachment cap per file.
const (
	maxJSONBody = 256 << 10
	maxFiles    = 32
)

// Handler returns the daemon's HTTP handler (the API, the login URL and
// the UI's place). Run serves it; tests may too.
func (d *Daemon) Handler() http.Handler {
	api := http.NewServeMux()
	// Served whether or not the account is unlocked.
	open := map[string]http.HandlerFunc{
		"GET /api/v1/status":                         d.handleStatus,
		"POST /api/v1/account/create":                d.handleCreate,
		"POST /api/v1/account/restore":               d.handleRestore,
		"POST /api/v1/account/unlock":                d.handleUnlock,
		"GET /api/v1/session":                        d.handleSession,
		"POST /api/v1/session/login-url":             d.handleLoginURL,
		"GET /api/v1/events":                         d.unlockedOnly(d.handleEvents),
		"POST /api/v1/account/lock":                  d.handleLock,
		"POST /api/v1/conversations/{peer}/messages": d.handleSend,
		"POST /api/v1/groups/{peer}/messages":        d.handleSend, // a group's ID or name
	}
	for pat, h := range open {
		api.HandleFunc(pat, h)
	}
	unlocked := map[string]handler{
		"GET /api/v1/conversations":                     d.listConversations,
		"GET /api/v1/conversations/{peer}":              d.getConversation,
		"DELETE /api/v1/conversations/{peer}":           d.deleteConversation,
		"GET /api/v1/conversations/{peer}/messages":     d.listMessages,
		"POST /api/v1/conversations/{peer}/read":        d.markRead,
		"POST /api/v1/conversations/{peer}/typing":      d.sendTyping,
		"GET /api/v1/conversations/{peer}/timer":        d.getTimer,
		"PUT /api/v1/conversations/{peer}/timer":        d.setTimer,
		"GET /api/v1/messages/{id}":                     d.getMessage,
		"DELETE /api/v1/messages/{id}":                  d.deleteMessage,
		"POST /api/v1/messages/{id}/unsend":             d.unsend,
		"POST /api/v1/messages/{id}/fetch":              d.fetchMedia,
		"GET /api/v1/messages/{id}/attachments/{index}": d.openMedia,
		"GET /api/v1/media":                             d.listMedia,
		"GET /api/v1/contacts":                          d.listContacts,
		"PUT /api/v1/contacts/{peer}":                   d.putContact,
		"POST /api/v1/contacts/{peer}/block":            d.block,
		"POST /api/v1/contacts/{peer}/unblock":          d.unblock,
		"GET /api/v1/requests":                          d.listRequests,
		"POST /api/v1/requests/{peer}/accept":           d.acceptRequest,
		"POST /api/v1/requests/{peer}/block":            d.block,
		"DELETE /api/v1/requests/{peer}":                d.deleteRequest,
		"GET /api/v1/settings":                          d.getSettings,
		"PATCH /api/v1/settings":                        d.patchSettings,
		"GET /api/v1/paths":                             d.getPaths,
		"GET /api/v1/network/transparency":              d.getNetworkTransparency, // api_network.go
		"GET /api/v1/devices":                           d.listDevices,
		"POST /api/v1/devices/share-history":            d.shareHistory,
		"GET /api/v1/storage":                           d.getStorage,
		"POST /api/v1/storage/clear-media":              d.clearMedia,
		"POST /api/v1/backup/export":                    d.exportBackup,
		"GET /api/v1/account/qr.svg":                    d.accountQR,
		"GET /api/v1/calls":                             d.listCalls,
		"POST /api/v1/calls":                            d.startCall,
		"GET /api/v1/calls/ice-servers":                 d.iceServers,
		"GET /api/v1/calls/{id}":                        d.getCall,
		"POST /api/v1/calls/{id}/offer":                 d.sendOffer,
		"POST /api/v1/calls/{id}/answer":                d.answerCall,
		"POST /api/v1/calls/{id}/candidates":            d.sendCandidates,
		"POST /api/v1/calls/{id}/end":                   d.endCall,
		"POST /api/v1/calls/{id}/connected":             d.callConnected,
	}
	for pat, h := range d.groupRoutes() { // api_groups.go
		unlocked[pat] = h
	}
	for pat, h := range d.convARoutes() { // api_conv_a.go
		unlocked[pat] = h
	}
	for pat, h := range d.convBRoutes() { // api_conv_b.go
		unlocked[pat] = h
	}
	for pat, h := range unlocked {
		api.HandleFunc(pat, d.withClient(h))
	}
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no_endpoint", "no such endpoint (docs/api.md lists them)")
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", d.guard(api))
	mux.HandleFunc("GET /ui/login", d.handleLogin)
	mux.HandleFunc("GET /ui/", d.handleUI)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && d.hostAllowed(r.Host) {
			http.Redirect(w, r, "/ui/", http.StatusSeeOther)
			return
		}
		http.NotFound(w, r)
	})
	return mux
}

// handler serves one request with the open client; an error it returns
// is answered by writeClientError.
type handler func(w http.ResponseWriter, r *http.Request, c *client.Client) error

// httpError is a refusal of the request itself (bad input), with its
// status and code.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.message }

func badRequest(code, format string, args ...any) error {
	return &httpError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

func (d *Daemon) fail(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.status, he.code, he.message)
		return
	}
	d.writeClientError(w, err)
}

func writeLocked(w http.ResponseWriter) {
	writeError(w, http.StatusLocked, "locked", "the account is locked or there is none: create, restore or unlock it first")
}

// withClient serves h with the open client, or refuses while locked.
func (d *Daemon) withClient(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, done := d.client()
		if c == nil {
			writeLocked(w)
			return
		}
		defer done()
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		if err := h(w, r, c); err != nil {
			d.fail(w, err)
		}
	}
}

// unlockedOnly refuses h while locked without holding the client for the
// request's life (an event stream lives across lock and unlock).
func (d *Daemon) unlockedOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, done := d.client(); c == nil {
			writeLocked(w)
			return
		} else {
			done()
		}
		h(w, r)
	}
}

// decode reads a JSON body into v, refusing unknown fields and trailing
// data: a misspelt field must not be silently ignored.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &httpError{http.StatusUnsupportedMediaType, "bad_content_type", "the body must be application/json"}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{http.StatusRequestEntityTooLarge, "too_large", "the request body is too large"}
		}
		return badRequest("bad_json", "bad JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("bad_json", "bad JSON body: more than one value")
	}
	return nil
}

// peer resolves the {peer} path element: an Account ID or a contact's
// nickname.
func peer(r *http.Request, c *client.Client) (identity.AccountID, error) {
	return c.Resolve(r.PathValue("peer"))
}

func localID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("bad_id", "a message's local ID is a positive number")
	}
	return id, nil
}

// --- account ---------------------------------------------------------

const (
	stateNoAccount = "no_account"
	stateLocked    = "locked"
	stateUnlocked  = "unlocked"
)

type statusJSON struct {
	State     string             `json:"state"`
	AccountID string             `json:"account_id,omitempty"`
	NetworkID string             `json:"network_id,omitempty"`
	Daemon    *client.DaemonInfo `json:"daemon,omitempty"`
}

func (d *Daemon) status() statusJSON {
	st := statusJSON{State: stateNoAccount}
	if c, done := d.client(); c != nil {
		defer done()
		st.State, st.AccountID, st.NetworkID = stateUnlocked, c.Account().String(), c.NetworkID()
	} else if id, err := d.home.AccountID(); err == nil {
		st.State, st.AccountID = stateLocked, id.String()
	}
	info := client.DaemonInfo{PID: os.Getpid(), Socket: d.cfg.Socket}
	if d.port != "" {
		info.Listen = d.ln.Addr().String()
	}
	st.Daemon = &info
	return st
}

func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.status())
}

type passphraseBody struct {
	Passphrase string `json:"passphrase"`
}

type restoreBody struct {
	RecoveryPhrase string `json:"recovery_phrase"`
	Passphrase     string `json:"passphrase"`
}

func (d *Daemon) handleCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	var b passphraseBody
	if err := decode(r, &b); err != nil {
		d.fail(w, err)
		return
	}
	id, phrase, err := d.home.Create([]byte(b.Passphrase), d.cfg.HomeOptions...)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.open(r.Context(), []byte(b.Passphrase)); err != nil {
		d.fail(w, err)
		return
	}
	// The only time the phrase leaves the daemon: the UI shows it once.
	writeJSON(w, http.StatusCreated, map[string]string{"account_id": id.String(), "recovery_phrase": phrase})
}

func (d *Daemon) handleRestore(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	var b restoreBody
	if err := decode(r, &b); err != nil {
		d.fail(w, err)
		return
	}
	id, err := d.home.Restore(b.RecoveryPhrase, []byte(b.Passphrase), d.cfg.HomeOptions...)
	if err != nil {
		if !errors.Is(err, client.ErrAccountExists) && !errors.Is(err, client.ErrEmptyPassphrase) {
			err = &httpError{http.StatusBadRequest, "bad_phrase", err.Error()}
		}
		d.fail(w, err)
		return
	}
	if err := d.open(r.Context(), []byte(b.Passphrase)); err != nil {
		d.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"account_id": id.String()})
}

func (d *Daemon) handleUnlock(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	var b passphraseBody
	if err := decode(r, &b); err != nil {
		d.fail(w, err)
		return
	}
	if _, err := d.home.AccountID(); err != nil {
		d.fail(w, err)
		return
	}
	if err := d.open(r.Context(), []byte(b.Passphrase)); err != nil {
		d.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d.status())
}

func (d *Daemon) handleLock(w http.ResponseWriter, r *http.Request) {
	if c, done := d.client(); c == nil {
		writeLocked(w)
		return
	} else {
		done()
	}
	if err := d.lock(); err != nil {
		d.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d.status())
}

// --- session -----------------------------------------------------------

type ctxKey struct{}

type reqAuth struct {
	kind authKind
	se   *session
}

func withSession(ctx context.Context, kind authKind, se *session) context.Context {
	return context.WithValue(ctx, ctxKey{}, reqAuth{kind, se})
}

func authOf(r *http.Request) reqAuth {
	a, _ := r.Context().Value(ctxKey{}).(reqAuth)
	return a
}

func (d *Daemon) handleSession(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	out := map[string]string{"auth": "key"}
	if a.kind == authCookie {
		out = map[string]string{"auth": "cookie", "csrf_token": a.se.csrf}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleLoginURL mints a login URL for the web UI; only the API key may
// (a UI session has no use for another).
func (d *Daemon) handleLoginURL(w http.ResponseWriter, r *http.Request) {
	if authOf(r).kind != authKey {
		writeError(w, http.StatusForbidden, "key_required", "only the API key may make a login URL")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": d.LoginURL()})
}

// --- conversations and messages ----------------------------------------

type conversationJSON struct {
	client.Conversation
	LastMessage *client.Message `json:"last_message,omitempty"`
}

func lastMessage(c *client.Client, p identity.AccountID) *client.Message {
	h, err := c.History(p)
	if err != nil || len(h) == 0 {
		return nil
	}
	return &h[len(h)-1]
}

func (d *Daemon) listConversations(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	cs, err := c.Conversations()
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

func (d *Daemon) getConversation(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	cs, err := c.Conversations()
	if err != nil {
		return err
	}
	for _, cv := range cs {
		if cv.Peer == p {
			writeJSON(w, http.StatusOK, conversationJSON{Conversation: cv, LastMessage: lastMessage(c, p)})
			return nil
		}
	}
	return fmt.Errorf("conversation: %w", client.ErrNotFound)
}

func (d *Daemon) deleteConversation(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	n, err := c.DeleteChat(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
	return nil
}

// messagePage is a page of a conversation: oldest first, More set when
// older messages remain (ask again with before = the first's local_id).
type messagePage struct {
	Messages []client.Message `json:"messages"`
	More     bool             `json:"more"`
}

func (d *Daemon) listMessages(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 500 {
			return badRequest("bad_limit", "limit is a number from 1 to 500")
		}
	}
	h, err := c.History(p)
	if err != nil {
		return err
	}
	end := len(h)
	if s := q.Get("before"); s != "" {
		before, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return badRequest("bad_before", "before is a message's local ID")
		}
		end = -1
		for i, m := range h {
			if m.ID == before {
				end = i
				break
			}
		}
		if end < 0 {
			return fmt.Errorf("message %d in this conversation: %w", before, client.ErrNotFound)
		}
	}
	start := max(0, end-limit)
	page := messagePage{Messages: h[start:end], More: start > 0}
	if page.Messages == nil {
		page.Messages = []client.Message{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// sendBody is a JSON send: text, and files by path on this machine.
type sendBody struct {
	Text  string     `json:"text"`
	Files []sendFile `json:"files,omitempty"`
}

type sendFile struct {
	Path   string `json:"path"`
	AsFile bool   `json:"as_file,omitempty"`
	// Voice sends the file as a voice note; DurationMS and Waveform (base64,
	// at most 64 levels) are the caller's measurement, else read from a WAV
	// or Ogg Opus file (client.FileToSend).
	Voice      bool   `json:"voice,omitempty"`
	DurationMS uint32 `json:"duration_ms,omitempty"`
	Waveform   []byte `json:"waveform,omitempty"`
}

// handleSend sends a message: JSON (text, files by path) or a multipart
// upload (a "text" field, "as_file", and "file" parts). It is served
// outside withClient because an upload's body limit depends on the
// home's attachment cap.
func (d *Daemon) handleSend(w http.ResponseWriter, r *http.Request) {
	c, done := d.client()
	if c == nil {
		writeLocked(w)
		return
	}
	defer done()
	if err := d.send(w, r, c); err != nil {
		d.fail(w, err)
	}
}

func (d *Daemon) send(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	var b sendBody
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		ms, err := c.MediaSettings()
		if err != nil {
			return err
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFiles*ms.MaxAttachmentBytes+maxJSONBody)
		dir, err := os.MkdirTemp("", "hush-upload-")
		if err != nil {
			return err
		}
		// The plaintext copies go as soon as the message is sent.
		defer os.RemoveAll(dir)
		if b, err = readUpload(r, dir, ms.MaxAttachmentBytes); err != nil {
			return err
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		if err := decode(r, &b); err != nil {
			return err
		}
	}
	var m client.Message
	if len(b.Files) == 0 {
		m, err = c.Send(r.Context(), p, b.Text)
	} else {
		fs := make([]client.FileToSend, len(b.Files))
		for i, f := range b.Files {
			if !filepath.IsAbs(f.Path) {
				return badRequest("bad_path", "a file's path must be absolute")
			}
			fs[i] = client.FileToSend{Path: f.Path, AsFile: f.AsFile, Voice: f.Voice, DurationMS: f.DurationMS, Waveform: f.Waveform}
		}
		m, err = c.SendFiles(r.Context(), p, b.Text, fs)
	}
	if err != nil {
		return err
	}
	if m2, err := c.Message(m.ID); err == nil {
		m = m2
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// readUpload stores a multipart send's files in dir under their own base
// names (the name the recipient sees) and returns the send.
func readUpload(r *http.Request, dir string, maxFile int64) (sendBody, error) {
	var b sendBody
	mr, err := r.MultipartReader()
	if err != nil {
		return b, badRequest("bad_multipart", "bad multipart body: %v", err)
	}
	asFile := false
	var voice sendFile
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return b, tooLargeOr(err, badRequest("bad_multipart", "bad multipart body: %v", err))
		}
		switch part.FormName() {
		case "text":
			t, err := io.ReadAll(io.LimitReader(part, maxJSONBody+1))
			if err != nil {
				return b, tooLargeOr(err, err)
			}
			b.Text = string(t)
		case "as_file":
			v, _ := io.ReadAll(io.LimitReader(part, 16))
			asFile = string(v) == "true" || string(v) == "1"
		case "voice", "duration_ms", "waveform":
			// A recorded voice note (api_conv_b.go).
			if err := voicePart(part, &voice); err != nil {
				return b, err
			}
		case "file":
			if len(b.Files) == maxFiles {
				return b, badRequest("too_many_files", "at most %d files in one message", maxFiles)
			}
			name := filepath.Base(filepath.Clean("/" + part.FileName()))
			if name == "/" || name == "." || strings.HasPrefix(name, ".") {
				name = "file" + strings.TrimPrefix(name, "/")
			}
			sub := filepath.Join(dir, strconv.Itoa(len(b.Files)))
			if err := os.Mkdir(sub, 0o700); err != nil {
				return b, err
			}
			path := filepath.Join(sub, name)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return b, err
			}
			n, err := io.Copy(f, io.LimitReader(part, maxFile+1))
			f.Close()
			if err != nil {
				return b, tooLargeOr(err, err)
			}
			if n > maxFile {
				return b, fmt.Errorf("%s: %w", name, client.ErrAttachmentTooLarge)
			}
			b.Files = append(b.Files, sendFile{Path: path})
		default:
			return b, badRequest("bad_multipart", "unknown form field %q", part.FormName())
		}
	}
	for i := range b.Files {
		b.Files[i].AsFile = asFile
		b.Files[i].Voice, b.Files[i].DurationMS, b.Files[i].Waveform = voice.Voice, voice.DurationMS, voice.Waveform
	}
	return b, nil
}

func tooLargeOr(err, other error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &httpError{http.StatusRequestEntityTooLarge, "too_large", "the request body is too large"}
	}
	return other
}

func (d *Daemon) markRead(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	n, err := c.MarkRead(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"marked": n})
	return nil
}

func (d *Daemon) sendTyping(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	var b struct {
		Typing bool `json:"typing"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := c.SendTyping(r.Context(), p, b.Typing); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Daemon) getTimer(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	t, err := c.Timer(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (d *Daemon) setTimer(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	var b timerBody
	if err := decode(r, &b); err != nil {
		return err
	}
	t, err := c.SetTimer(r.Context(), p, b.Mode, b.After)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (d *Daemon) getMessage(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	m, err := c.Message(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (d *Daemon) unsend(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	m, err := c.Message(id)
	if err != nil {
		return err
	}
	if !m.Outgoing {
		return fmt.Errorf("message %d: %w", id, client.ErrCannotUnsend)
	}
	if err := c.Unsend(r.Context(), m.Peer, m.MessageID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"unsent": true, "local_id": id})
	return nil
}

// deleteMessage deletes one message for this account only. The local
// deletion is done when the own swarm is out of reach (the library
// retries there), so that is no failure: remote_done says which.
func (d *Daemon) deleteMessage(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	err = c.DeleteMessage(r.Context(), id)
	if err != nil && !errors.Is(err, client.ErrUnreachable) {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "local_id": id, "remote_done": err == nil})
	return nil
}

func (d *Daemon) fetchMedia(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	if err := c.FetchMedia(r.Context(), id); err != nil {
		return err
	}
	m, err := c.Message(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// inlineTypes are the attachment types served for display in the page:
// raster images a browser decodes without running anything. Everything
// else (SVG, HTML, PDF...) is a download, whatever its sender claimed.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
}

// openMedia serves an attachment (or with ?thumbnail=1 its thumbnail).
// The sender chose the bytes, the name and the type: the response never
// lets the browser run them in the daemon's origin.
func (d *Daemon) openMedia(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id, err := localID(r)
	if err != nil {
		return err
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		return badRequest("bad_index", "an attachment's index is a number from 0")
	}
	m, err := c.Message(id)
	if err != nil {
		return err
	}
	var at *client.Attachment
	for i := range m.Attachments {
		if m.Attachments[i].Index == index {
			at = &m.Attachments[i]
		}
	}
	if at == nil {
		return fmt.Errorf("attachment %d: %w", index, client.ErrNotFound)
	}
	// Buffered so an error found while verifying still gets a proper
	// JSON answer, not half a file: attachments are capped in size.
	var buf bytes.Buffer
	mimeType, name := at.MIME, at.FileName
	if r.URL.Query().Get("thumbnail") == "1" {
		if err := c.OpenThumbnail(id, index, &buf); err != nil {
			return err
		}
		mimeType, name = "image/jpeg", "thumbnail.jpg"
	} else if _, err := c.OpenMedia(id, index, &buf); err != nil {
		return err
	}
	mimeType = strings.ToLower(strings.TrimSpace(mimeType))
	if mt, _, err := mime.ParseMediaType(mimeType); err == nil {
		mimeType = mt
	} else {
		mimeType = "application/octet-stream"
	}
	if name == "" {
		name = "attachment"
	}
	h := w.Header()
	disposition := "attachment"
	if inlineTypes[mimeType] {
		disposition = "inline"
	} else {
		mimeType = "application/octet-stream"
	}
	h.Set("Content-Type", mimeType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

func (d *Daemon) listMedia(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var pp *identity.AccountID
	if s := r.URL.Query().Get("peer"); s != "" {
		p, err := c.Resolve(s)
		if err != nil {
			return err
		}
		pp = &p
	}
	items, err := c.Media(pp)
	return writeList(w, items, err)
}

// --- contacts and requests ---------------------------------------------

func (d *Daemon) listContacts(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	cs, err := c.Contacts()
	return writeList(w, cs, err)
}

func (d *Daemon) putContact(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	var b struct {
		Name string `json:"name"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := c.AddContact(p, b.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": p.String(), "name": b.Name})
	return nil
}

func (d *Daemon) block(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	return setBlocked(w, r, c, true)
}

func (d *Daemon) unblock(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	return setBlocked(w, r, c, false)
}

// setBlocked blocks or unblocks the contact the path names.
func setBlocked(w http.ResponseWriter, r *http.Request, c *client.Client, blocked bool) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	set := c.Unblock
	if blocked {
		set = c.Block
	}
	if err := set(p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": p.String(), "blocked": blocked})
	return nil
}

func (d *Daemon) listRequests(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	rs, err := c.Requests()
	return writeList(w, rs, err)
}

func (d *Daemon) acceptRequest(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	if client.IsGroupID(p) {
		// A group's invitation: join, and fetch the group at once.
		err = c.AcceptGroup(r.Context(), p)
	} else {
		err = c.Accept(p)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"peer": p.String(), "accepted": true})
	return nil
}

func (d *Daemon) deleteRequest(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	p, err := peer(r, c)
	if err != nil {
		return err
	}
	if client.IsGroupID(p) {
		// Declining a group's invitation (api_groups.go).
		if err := leaveOrDecline(r, c, p); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]int{"deleted": 0})
		return nil
	}
	n, err := c.DeleteRequest(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
	return nil
}

// --- settings ------------------------------------------------------------

// settingsJSON is every setting of the home, with the plain-words texts a
// user reads before choosing.
type settingsJSON struct {
	Receipts            bool                        `json:"receipts"`
	Notifications       client.NotificationStatus   `json:"notifications"`
	NotificationModes   []client.NotificationStatus `json:"notification_modes"`
	NotificationContent client.NotificationContent  `json:"notification_content"`
	Calls               bool                        `json:"calls"`
	CallsWarning        string                      `json:"calls_warning"`
	CallsMode           client.CallMode             `json:"calls_mode"`
	CallsDirectWarning  string                      `json:"calls_direct_warning"`
	Media               client.MediaSettings        `json:"media"`
	DefaultTimer        client.Timer                `json:"default_timer"`
}

// settingsPatch changes the settings it names.
type settingsPatch struct {
	Receipts            *bool   `json:"receipts"`
	NotificationMode    *string `json:"notification_mode"`
	NotificationContent *string `json:"notification_content"`
	Calls               *bool   `json:"calls"`
	CallsMode           *string `json:"calls_mode"`
	Media               *struct {
		MaxAttachmentBytes *int64 `json:"max_attachment_bytes"`
		AutoDownloadBytes  *int64 `json:"auto_download_bytes"`
	} `json:"media"`
	DefaultTimer *timerBody `json:"default_timer"`
}

func settings(c *client.Client) (settingsJSON, error) {
	var s settingsJSON
	var err error
	if s.Receipts, err = c.Receipts(); err != nil {
		return s, err
	}
	if s.Notifications, err = c.Notifications(); err != nil {
		return s, err
	}
	if s.NotificationContent, err = c.NotificationContent(); err != nil {
		return s, err
	}
	if s.CallsMode, err = c.CallMode(); err != nil {
		return s, err
	}
	s.Calls = s.CallsMode != client.CallsOff
	s.CallsWarning, s.CallsDirectWarning = client.CallsWarning, client.CallsDirectWarning
	s.NotificationModes = client.NotificationModes()
	if s.DefaultTimer, err = c.DefaultTimer(); err != nil {
		return s, err
	}
	s.Media, err = c.MediaSettings()
	return s, err
}

func (d *Daemon) getSettings(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	s, err := settings(c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) patchSettings(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var p settingsPatch
	if err := decode(r, &p); err != nil {
		return err
	}
	// Checked before anything changes, so a bad request changes nothing.
	var mode client.NotificationMode
	if p.NotificationMode != nil {
		var err error
		if mode, err = client.ParseNotificationMode(*p.NotificationMode); err != nil {
			return err
		}
	}
	if p.NotificationContent != nil {
		switch nc := client.NotificationContent(*p.NotificationContent); nc {
		case client.NotifyNameAndContent, client.NotifyNameOnly, client.NotifyNothing:
		default:
			return fmt.Errorf("%q: %w", nc, client.ErrBadNotificationContent)
		}
	}
	if err := p.DefaultTimer.check(); err != nil {
		return err
	}
	if p.CallsMode != nil {
		switch m := client.CallMode(*p.CallsMode); m {
		case client.CallsOff, client.CallsRelay, client.CallsDirect:
		default:
			return fmt.Errorf("%q: %w", m, client.ErrBadCallMode)
		}
	}
	d.settingsMu.Lock()
	defer d.settingsMu.Unlock()
	if p.Receipts != nil {
		if err := c.SetReceipts(*p.Receipts); err != nil {
			return err
		}
	}
	if p.NotificationContent != nil {
		if err := c.SetNotificationContent(client.NotificationContent(*p.NotificationContent)); err != nil {
			return err
		}
	}
	if p.Calls != nil && p.CallsMode == nil {
		if err := c.SetCalls(*p.Calls); err != nil {
			return err
		}
	}
	if p.CallsMode != nil {
		if err := c.SetCallMode(client.CallMode(*p.CallsMode)); err != nil {
			return err
		}
	}
	if p.Media != nil {
		ms, err := c.MediaSettings()
		if err != nil {
			return err
		}
		if p.Media.MaxAttachmentBytes != nil {
			ms.MaxAttachmentBytes = *p.Media.MaxAttachmentBytes
		}
		if p.Media.AutoDownloadBytes != nil {
			ms.AutoDownloadBytes = *p.Media.AutoDownloadBytes
		}
		if err := c.SetMediaSettings(ms); err != nil {
			return badRequest("bad_media_settings", "%v", err)
		}
	}
	if p.DefaultTimer != nil {
		if err := c.SetDefaultTimer(p.DefaultTimer.Mode, p.DefaultTimer.After); err != nil {
			return err
		}
	}
	if p.NotificationMode != nil {
		if err := c.SwitchNotifications(r.Context(), mode); err != nil {
			return err
		}
	}
	return d.getSettings(w, r, c)
}

// --- paths, devices, storage, backup -------------------------------------

func (d *Daemon) getPaths(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b bytes.Buffer
	if err := d.home.WritePaths(&b, true, time.Now()); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
	return nil
}

// deviceJSON is a device as `hush devices --json` prints it.
type deviceJSON struct {
	ID        string    `json:"id"`
	PublicKey string    `json:"public_key"`
	Created   time.Time `json:"created,omitzero"`
	FirstSeen time.Time `json:"first_seen"`
	This      bool      `json:"this_device,omitempty"`
	New       bool      `json:"new,omitempty"`
}

func newDeviceJSON(d client.Device, isNew bool) deviceJSON {
	return deviceJSON{ID: d.ID.String(), PublicKey: d.PublicKey.String(), Created: d.Created.UTC(),
		FirstSeen: d.FirstSeen.UTC(), This: d.This, New: isNew}
}

func (d *Daemon) listDevices(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	ds, err := c.Devices()
	if err != nil {
		return err
	}
	out := make([]deviceJSON, len(ds))
	for i, dv := range ds {
		out[i] = newDeviceJSON(dv, false)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (d *Daemon) shareHistory(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		Devices []string `json:"devices"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &b); err != nil {
			return err
		}
	}
	var to []prekey.DeviceID
	for _, s := range b.Devices {
		var id prekey.DeviceID
		raw, err := hex.DecodeString(s)
		if err != nil || len(raw) != len(id) {
			return badRequest("bad_device_id", "device %q: want %d bytes in hex", s, len(id))
		}
		copy(id[:], raw)
		to = append(to, id)
	}
	res, err := c.ShareHistoryTo(r.Context(), to)
	if err != nil {
		return err
	}
	ids := make([]string, len(res.Devices))
	for i, id := range res.Devices {
		ids[i] = id.String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": res.Messages, "devices": ids, "reactions": res.Reactions, "parts": res.Parts,
		"unproven": res.Unproven, "openable_until": res.OpenableUntil.UTC().Format(time.RFC3339)})
	return nil
}

func (d *Daemon) getStorage(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	s, err := c.Storage()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) clearMedia(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		Peer      string        `json:"peer"`
		OlderThan time.Duration `json:"older_than_ns"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &b); err != nil {
			return err
		}
	}
	var pp *identity.AccountID
	if b.Peer != "" {
		p, err := c.Resolve(b.Peer)
		if err != nil {
			return err
		}
		pp = &p
	}
	res, err := c.ClearMedia(pp, b.OlderThan)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// exportBackup streams an encrypted backup of the home. The home's
// passphrase is checked first, so a wrong one gets a JSON error rather
// than a broken download.
func (d *Daemon) exportBackup(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		Passphrase       string `json:"passphrase"`
		BackupPassphrase string `json:"backup_passphrase"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.BackupPassphrase == "" {
		return client.ErrEmptyBackupPassphrase
	}
	if _, err := d.home.Unlock([]byte(b.Passphrase)); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="hush-backup.hushbackup"`)
	sw := &startedWriter{w: w}
	if _, err := d.home.Export(r.Context(), sw, []byte(b.Passphrase), []byte(b.BackupPassphrase), d.cfg.HomeOptions...); err != nil {
		if !sw.started {
			return err
		}
		d.log.Warn("backup export failed mid-stream", "err", err)
		panic(http.ErrAbortHandler) // the client sees a cut download, never a whole-looking file
	}
	return nil
}

// startedWriter notes whether anything was written yet.
type startedWriter struct {
	w       io.Writer
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}
