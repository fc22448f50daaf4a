package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/files"
)

// Attachments (DESIGN.md §8, issue 17). A file is sealed as a stream under
// a fresh key, padded with Padmé and cut into pieces (mediaCodec, which is
// internal/attach); the pieces go to the network's file server through
// onion paths, at most uploadWorkers at a time, each retried on its own
// (FileServer); the message carries the pointer (piece IDs and digests,
// key, digest, sizes, MIME type, file name, an image's size and inline
// thumbnail). The sender keeps the pieces' delete capabilities sealed in
// its database and the padded ciphertext as its local copy, exactly what a
// receiver keeps once it downloaded and verified the pieces (media.go).

// Defaults of the media settings ([MediaSettings]).
const (
	DefaultMaxAttachmentBytes = 10_000_000
	DefaultAutoDownloadBytes  = 2_000_000
	// DefaultFileTTL is how long the file server keeps an upload (its
	// default expiry); a disappearing message's pieces expire with it.
	DefaultFileTTL = 21 * 24 * time.Hour
)

const (
	// pieceSize is the largest piece of an upload: what one onion
	// request of the largest size class carries to the file server.
	pieceSize = files.MaxPiece
	// maxPieces bounds the pieces of one attachment, as the envelope's
	// validation does; with pieceSize it bounds the largest attachment a
	// setting may allow.
	maxPieces = envelope.MaxAttachmentPieces
	// MaxAttachmentLimit is the highest [MediaSettings].MaxAttachmentBytes:
	// what maxPieces pieces hold once the stream's tags and Padmé's
	// padding (at most 12.5%, less past a few kilobytes) are paid.
	MaxAttachmentLimit = maxPieces * pieceSize / 9 * 8
	// maxFilesPerMessage bounds one message's attachments: each pointer
	// with its inline thumbnail takes up to ~13 KB of the message.
	maxFilesPerMessage = 10
	// uploadWorkers is how many pieces are uploaded at once, and
	// pieceAttempts how often one piece is tried.
	uploadWorkers = 4
	pieceAttempts = 4
	// mediaDir is the folder under the home holding media files.
	mediaDir = "media"
)

// Errors of attachments; see also [ErrNotFound] for an unknown message.
var (
	// ErrAttachmentTooLarge: a file is over the size cap (checked before
	// anything is uploaded), or the file server refused a piece as too
	// large (413).
	ErrAttachmentTooLarge = errors.New("attachment too large")
	// ErrAttachmentExpired: the file server no longer holds the file
	// (expired, or deleted by its sender); the message stays.
	ErrAttachmentExpired = errors.New("attachment expired")
	// ErrAttachmentCorrupt: a downloaded piece, or the whole file, does
	// not match the digests the message gives (a tampered, swapped or
	// truncated piece): nothing of it is kept as good, and it may be
	// fetched again.
	ErrAttachmentCorrupt = errors.New("attachment does not match its digest")
	// ErrFileServerBusy: the file server is rate limiting (429) or full
	// (507); the error may carry a delay ([RetryAfter]).
	ErrFileServerBusy = errors.New("file server busy")
	// ErrNoFileServer: the network file names no file server.
	ErrNoFileServer = errors.New("the network has no file server")
	// ErrNotDownloaded: the attachment's file is not here (pending,
	// cleared, failed); [Client.FetchMedia] gets it.
	ErrNotDownloaded = errors.New("attachment not downloaded")
	// ErrBadFile: a file to send cannot be read, or is not a regular
	// file.
	ErrBadFile = errors.New("cannot send this file")
)

// RetryAfter returns the delay a file server asked for in err (an error
// with a RetryAfter() time.Duration method in its chain), or 0.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter()
	}
	return 0
}

// busyError is [ErrFileServerBusy] with the delay the server asked for.
type busyError struct {
	err   error
	after time.Duration
}

func (e *busyError) Error() string             { return "file server busy: " + e.err.Error() }
func (e *busyError) Unwrap() []error           { return []error{ErrFileServerBusy, e.err} }
func (e *busyError) RetryAfter() time.Duration { return e.after }

// FileServer stores the encrypted pieces of attachments: the network's
// `hushd files`, reached through onion paths (built from the network file
// unless [Options].Files gives another, as tests do). It sees random IDs
// and ciphertext only. Errors: not found or expired wrap
// [ErrAttachmentExpired], a refused size [ErrAttachmentTooLarge], rate
// limits and a full server [ErrFileServerBusy] (with [RetryAfter] when
// the server said); anything else counts as a failure of the way there
// and is retried. Implementations must be safe for concurrent use.
type FileServer interface {
	// Upload stores one piece for ttl and returns its ID, expiry and
	// delete capability.
	Upload(ctx context.Context, piece []byte, ttl time.Duration) (UploadedPiece, error)
	// Download returns the bytes [offset, offset+length) of blob id
	// (fewer at its end) and the blob's size.
	Download(ctx context.Context, id string, offset, length int64) (data []byte, size int64, err error)
	// Delete removes blob id with its capability.
	Delete(ctx context.Context, id string, token []byte) error
	// Extend moves blob id's expiry to ttl from now, within the
	// server's maximum, and returns the new expiry.
	Extend(ctx context.Context, id string, token []byte, ttl time.Duration) (time.Time, error)
}

// UploadedPiece is what a file server answered to an upload.
type UploadedPiece struct {
	ID      string
	Expires time.Time
	// Token is the capability to delete or extend the blob; the client
	// keeps it sealed and never sends it to anyone but the server.
	Token []byte
}

// FileToSend is one file for [Client.SendFiles].
type FileToSend struct {
	Path string
	// AsFile sends the bytes untouched; otherwise a JPEG, PNG or WebP
	// image is re-encoded without its metadata (EXIF, GPS) and gets a
	// thumbnail.
	AsFile bool
	// Voice sends the file as a voice note: an audio file (WAV or Ogg
	// Opus) shown as a player. Its duration and waveform are read from
	// the file unless DurationMS and Waveform are given (the web UI
	// measures its recording itself); see voice.go.
	Voice      bool
	DurationMS uint32
	Waveform   []byte
}

// Attachment is a file of a message, as the client shows it.
type Attachment struct {
	Index int `json:"index"`
	// FileName and MIME are the sender's claims: a name is never used as
	// a path, a type never trusted for more than display.
	FileName string `json:"file_name,omitempty"`
	MIME     string `json:"mime,omitempty"`
	Size     int64  `json:"size"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	// State is pending, downloading, ready, cleared, expired or failed.
	State        string `json:"state"`
	HasThumbnail bool   `json:"has_thumbnail,omitempty"`
	// Voice marks a voice note; DurationMS is its play time and Waveform
	// its peak levels (0–255, at most 64), as the sender measured them.
	Voice      bool   `json:"voice,omitempty"`
	DurationMS uint32 `json:"duration_ms,omitempty"`
	Waveform   []byte `json:"waveform,omitempty"`
}

// Attachment states.
const (
	MediaPending     = "pending"
	MediaDownloading = "downloading"
	MediaReady       = "ready"
	MediaCleared     = "cleared"
	MediaExpired     = "expired"
	MediaFailed      = "failed"
)

func toAttachment(i int, a clientdb.Attachment) Attachment {
	return Attachment{
		Index: i, FileName: a.FileName, MIME: a.ContentType, Size: int64(a.Size),
		Width: int(a.Width), Height: int(a.Height), State: a.State.String(), HasThumbnail: a.ThumbnailBytes > 0,
		Voice: a.Flags&envelope.FlagVoiceMessage != 0, DurationMS: a.DurationMS, Waveform: a.Waveform,
	}
}

// Transfer is the progress of one attachment's upload or download
// ([EventTransfer]).
type Transfer struct {
	// MessageID is the message's local ID; 0 while a file is uploaded,
	// since the message is stored once its pointers are known.
	MessageID int64 `json:"local_id"`
	// Index is the file's place in the message (in the SendFiles list).
	Index int  `json:"index"`
	Up    bool `json:"up"`
	// Done and Total count bytes of the padded ciphertext; while a file
	// is uploaded, Total is estimated from the file's size (the padding
	// is known once it is sealed) and the last event gives it exactly.
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
	// Err, set on the last event of a failed transfer, says why.
	Err error `json:"-"`
}

// pointer is the client's view of an extended envelope AttachmentPointer
// (internal/attach's Pointer once merged).
type pointer struct {
	Pieces        []clientdb.Piece
	Key           []byte
	Digest        []byte // SHA-256 of all pieces concatenated
	Size          uint64 // plaintext
	PaddedSize    uint64 // ciphertext with its padding: the pieces' total
	MIME          string
	FileName      string
	Width, Height uint32
	Thumbnail     []byte // inline JPEG, at most 8 KiB
	Flags         uint32 // envelope.FlagVoiceMessage
	DurationMS    uint32
	Waveform      []byte
}

// sealedFile is what mediaCodec.seal reports (internal/attach's Sealed).
type sealedFile struct {
	Key, Digest  []byte
	PieceDigests [][]byte
	PaddedSize   uint64
	Size         uint64
}

// preparedImage is an image re-encoded without metadata, with its size and
// thumbnail.
type preparedImage struct {
	Clean         []byte
	MIME          string
	Width, Height int
	Thumb         []byte
}

// mediaCodec seals and opens attachment streams and prepares images: the
// seam to internal/attach and the envelope's extended pointer, wired in
// attachcodec*.go. Its contracts are internal/attach's (FILES.md).
type mediaCodec interface {
	// seal encrypts r under a fresh key, pads it and calls put with each
	// piece in order, from one goroutine, holding one piece at a time.
	seal(r io.Reader, pieceSize int, put func(index int, piece []byte) error) (sealedFile, error)
	// openLocal verifies and decrypts the padded ciphertext in f (the
	// local copy) to w, writing only verified chunks.
	openLocal(w io.Writer, p pointer, f io.ReaderAt) error
	// sniffMIME names the type of a file from its first bytes and name.
	sniffMIME(head []byte, name string) string
	// prepareImage decodes (dimensions checked first), re-encodes without
	// metadata and makes a thumbnail; fitSide > 0 scales a larger image
	// down to fit fitSide×fitSide.
	prepareImage(r io.Reader, fitSide int) (preparedImage, error)
	// toWire and fromWire convert to and from the envelope's pointer;
	// fromWire refuses a malformed one.
	toWire(p pointer) *envelope.AttachmentPointer
	fromWire(a *envelope.AttachmentPointer) (pointer, error)
}

// errNoCodec: this build has no attachment codec (before internal/attach
// is merged; see attachcodec.go).
var errNoCodec = errors.New("attachments are not available in this build")

func (p pointer) toDB() clientdb.Attachment {
	var id string
	if len(p.Pieces) > 0 {
		id = p.Pieces[0].ID
	}
	return clientdb.Attachment{
		FileID: id, Key: p.Key, Digest: p.Digest, Size: p.Size, ContentType: p.MIME, FileName: p.FileName,
		Width: p.Width, Height: p.Height, Pieces: p.Pieces, PaddedSize: p.PaddedSize, ThumbnailJPEG: p.Thumbnail,
		Flags: p.Flags, DurationMS: p.DurationMS, Waveform: p.Waveform,
	}
}

func pointerOf(a clientdb.Attachment) pointer {
	return pointer{
		Pieces: a.Pieces, Key: a.Key, Digest: a.Digest, Size: a.Size, PaddedSize: a.PaddedSize,
		MIME: a.ContentType, FileName: a.FileName, Width: a.Width, Height: a.Height, Thumbnail: a.ThumbnailJPEG,
		Flags: a.Flags, DurationMS: a.DurationMS, Waveform: a.Waveform,
	}
}

// SendFiles sends files to peer in one message, with caption as its
// text (may be empty). Every file is checked before anything is
// uploaded: it must be a readable regular file within the size cap
// ([MediaSettings]). Then each is sealed and uploaded, its pieces in
// parallel, with [EventTransfer] progress events; the message is queued
// and sent as [Client.Send] does. To a group ID (issue 21) the pieces
// are the same and the message is one group copy, as [Client.SendGroup]
// sends, with [ErrNotGroupMember] and [ErrWaitingForKeys] checked before
// any upload. It returns [ErrAttachmentTooLarge],
// [ErrBadFile], [ErrNoFileServer], [ErrBadAccountID], and the upload's
// failure ([ErrFileServerBusy], [ErrUnreachable], ...) after retries; a
// failure leaves no message and deletes what was uploaded.
func (c *Client) SendFiles(ctx context.Context, peer identity.AccountID, caption string, files []FileToSend) (Message, error) {
	if len(files) == 0 {
		return Message{}, fmt.Errorf("%w: no file", ErrBadFile)
	}
	if len(files) > maxFilesPerMessage {
		return Message{}, fmt.Errorf("%w: %d files, at most %d in one message", ErrBadFile, len(files), maxFilesPerMessage)
	}
	isGroup := IsGroupID(peer)
	if _, err := peer.X25519(); err != nil && !isGroup {
		return Message{}, fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	set, err := c.MediaSettings()
	if err != nil {
		return Message{}, err
	}
	for _, f := range files {
		st, err := os.Stat(f.Path)
		if err != nil {
			return Message{}, fmt.Errorf("%w: %w", ErrBadFile, err)
		}
		if !st.Mode().IsRegular() {
			return Message{}, fmt.Errorf("%w: %s is not a regular file", ErrBadFile, f.Path)
		}
		if st.Size() > set.MaxAttachmentBytes {
			return Message{}, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrAttachmentTooLarge, filepath.Base(f.Path), st.Size(), set.MaxAttachmentBytes)
		}
	}
	if c.files == nil {
		return Message{}, ErrNoFileServer
	}
	if c.codec == nil {
		return Message{}, errNoCodec
	}
	var ttl time.Duration
	if isGroup {
		// Checked before uploading: only a member holding a key can send.
		g, err := c.loadGroup(peer)
		if err != nil {
			return Message{}, err
		}
		if _, in := g.member(c.acct.ID()); g.Status != GroupJoined || !in {
			return Message{}, ErrNotGroupMember
		}
		if _, ok := c.currentKey(g.ID); !ok {
			return Message{}, fmt.Errorf("%w: no key of the group yet", ErrWaitingForKeys)
		}
		ttl = groupFileTTL(g)
	} else {
		conv, err := c.startConversation(peer)
		if err != nil {
			return Message{}, err
		}
		ttl = fileTTL(conv.Disappearing)
	}
	var atts []clientdb.Attachment
	fail := func(err error) (Message, error) {
		// Nothing refers to what was uploaded: delete it (best effort).
		// Even after ctx ended (Ctrl-C), for a bounded time; what is left
		// waits for the next background duties.
		c.dropMedia(atts)
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		c.retryBlobDeletes(dctx)
		cancel()
		return Message{}, err
	}
	for i, f := range files {
		a, err := c.uploadFile(ctx, i, f, set.MaxAttachmentBytes, ttl)
		if err != nil {
			atts = append(atts, a) // its pieces uploaded before the failure
			return fail(err)
		}
		atts = append(atts, a)
	}
	data := c.withPreviews(ctx, &envelope.DataMessage{Body: caption})
	for _, a := range atts {
		data.Attachments = append(data.Attachments, c.codec.toWire(pointerOf(a)))
	}
	var id int64
	if isGroup {
		// One copy for the group swarm, as SendGroup; the pieces are the
		// same for every member (group.go).
		id, err = c.queueGroupData(peer, data, atts)
	} else {
		id, err = c.queueData(peer, data, atts)
	}
	if err != nil {
		return fail(err)
	}
	c.FlushOutbox(ctx)
	return c.Message(id)
}

// groupFileTTL is fileTTL for a group: the default expiry, or the
// group's disappearing timer when sooner (queueGroupData sets the same
// timer on the message).
func groupFileTTL(g *groupState) time.Duration {
	if g.Info.Disappear != 0 && g.Info.TimerS > 0 {
		return fileTTL(clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: time.Duration(g.Info.TimerS) * time.Second})
	}
	return DefaultFileTTL
}

// fileTTL is how long pieces live on the file server: the default expiry,
// or the message's disappearing deadline when sooner (for after-read, the
// longest the message can wait unread plus its timer).
func fileTTL(d clientdb.Disappearing) time.Duration {
	switch d.Mode {
	case clientdb.DisappearAfterSend:
		return min(DefaultFileTTL, d.After)
	case clientdb.DisappearAfterRead:
		return min(DefaultFileTTL, InboxTTL+d.After)
	}
	return DefaultFileTTL
}

// uploadFile seals and uploads one file and keeps its padded ciphertext
// as the local copy. On failure it returns what it uploaded (for
// deletion).
func (c *Client) uploadFile(ctx context.Context, index int, f FileToSend, limit int64, ttl time.Duration) (clientdb.Attachment, error) {
	in, err := os.Open(f.Path)
	if err != nil {
		return clientdb.Attachment{}, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	defer in.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(in, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return clientdb.Attachment{}, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return clientdb.Attachment{}, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	p := pointer{FileName: filepath.Base(f.Path), MIME: c.codec.sniffMIME(head[:n], filepath.Base(f.Path))}
	var src io.Reader = in
	if f.Voice {
		if err := voicePointer(f, in, &p); err != nil { // voice.go
			return clientdb.Attachment{}, err
		}
	} else if !f.AsFile && reencoded(p.MIME) {
		img, err := c.codec.prepareImage(in, 0)
		if err != nil {
			return clientdb.Attachment{}, fmt.Errorf("%w: %s: %w (send it with --as-file to send the bytes as they are)", ErrBadFile, p.FileName, err)
		}
		if int64(len(img.Clean)) > limit {
			return clientdb.Attachment{}, fmt.Errorf("%w: %s is %d bytes once re-encoded, the limit is %d", ErrAttachmentTooLarge, p.FileName, len(img.Clean), limit)
		}
		p.MIME, p.Width, p.Height, p.Thumbnail = img.MIME, uint32(img.Width), uint32(img.Height), img.Thumb
		src = bytes.NewReader(img.Clean)
	}
	return c.uploadSealed(ctx, index, p, src, ttl)
}

// uploadSealed seals src (described by p's MIME type, name and image
// fields), uploads its pieces and keeps the padded ciphertext as a media
// file. On failure it returns what it uploaded (for deletion).
func (c *Client) uploadSealed(ctx context.Context, index int, p pointer, src io.Reader, ttl time.Duration) (clientdb.Attachment, error) {
	local, err := c.newMediaFile()
	if err != nil {
		return clientdb.Attachment{}, err
	}
	up := &uploader{c: c, ctx: ctx, index: index, ttl: ttl, local: local, estimate: estimateSize(src)}
	sealed, err := c.codec.seal(src, pieceSize, up.put)
	err = errors.Join(err, up.wait())
	a := clientdb.Attachment{Tokens: up.tokens}
	if err == nil {
		err = local.Sync()
	}
	if cerr := local.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(local.Name())
		c.emit(Event{Kind: EventTransfer, Transfer: Transfer{Index: index, Up: true, Done: up.done, Total: up.done, Err: err}})
		return a, err
	}
	p.Key, p.Digest, p.Size, p.PaddedSize = sealed.Key, sealed.Digest, sealed.Size, sealed.PaddedSize
	p.Pieces = make([]clientdb.Piece, len(up.pieces))
	for i, pc := range up.pieces {
		p.Pieces[i] = clientdb.Piece{ID: pc.ID, Size: pc.Size}
		if i < len(sealed.PieceDigests) {
			p.Pieces[i].Digest = sealed.PieceDigests[i]
		}
	}
	a = p.toDB()
	a.Tokens, a.State, a.LocalFile, a.LocalBytes = up.tokens, clientdb.MediaReady, filepath.Base(local.Name()), int64(p.PaddedSize)
	return a, nil
}

// reencoded reports whether an image of this type is re-encoded when sent
// as a photo (GIFs go as they are: re-encoding would drop the animation).
func reencoded(mime string) bool {
	return mime == "image/jpeg" || mime == "image/png" || mime == "image/webp"
}

// uploader uploads the pieces seal hands it, up to uploadWorkers at once,
// and writes them in order to the local copy. put blocks while every
// worker is busy, so at most uploadWorkers+1 pieces are in memory.
type uploader struct {
	c     *Client
	ctx   context.Context
	index int
	ttl   time.Duration
	local *os.File
	// estimate is the Total of progress events until the last one.
	estimate int64

	slots chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex // guards the fields below
	pieces []clientdb.Piece
	tokens []clientdb.PieceToken
	done   int64
	err    error
}

func (u *uploader) put(i int, piece []byte) error {
	if i >= maxPieces {
		return fmt.Errorf("%w: more than %d pieces", ErrAttachmentTooLarge, maxPieces)
	}
	if u.slots == nil {
		u.slots = make(chan struct{}, uploadWorkers)
	}
	u.mu.Lock()
	err := u.err
	for len(u.pieces) <= i {
		u.pieces = append(u.pieces, clientdb.Piece{})
	}
	u.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := u.local.Write(piece); err != nil {
		return err
	}
	select {
	case u.slots <- struct{}{}:
	case <-u.ctx.Done():
		return u.ctx.Err()
	}
	// No copy: seal hands each piece over for good (internal/attach.Seal:
	// put owns it), and a copy would add a piece per worker to the
	// sender's peak memory.
	u.wg.Go(func() {
		defer func() { <-u.slots }()
		got, err := u.c.uploadPiece(u.ctx, piece, u.ttl)
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			if u.err == nil {
				u.err = err
			}
			return
		}
		u.pieces[i] = clientdb.Piece{ID: got.ID, Size: uint64(len(piece))}
		u.tokens = append(u.tokens, clientdb.PieceToken{ID: got.ID, Token: got.Token, Expires: got.Expires})
		u.done += int64(len(piece))
		u.c.emit(Event{Kind: EventTransfer, Transfer: Transfer{Index: u.index, Up: true, Done: u.done, Total: max(u.estimate, u.done)}})
	})
	return nil
}

// wait waits for the uploads in flight and returns the first failure.
func (u *uploader) wait() error {
	u.wg.Wait()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		// Total is known now: the last event says it.
		u.c.emit(Event{Kind: EventTransfer, Transfer: Transfer{Index: u.index, Up: true, Done: u.done, Total: u.done}})
	}
	return u.err
}

// uploadPiece uploads one piece, retrying failures of the way there and a
// busy server (after the delay it asked, capped); a piece the server
// refuses as too large is not retried.
func (c *Client) uploadPiece(ctx context.Context, piece []byte, ttl time.Duration) (UploadedPiece, error) {
	var err error
	for attempt := range pieceAttempts {
		var got UploadedPiece
		got, err = c.files.Upload(ctx, piece, ttl)
		if err == nil {
			return got, nil
		}
		if errors.Is(err, ErrAttachmentTooLarge) || ctx.Err() != nil {
			return UploadedPiece{}, err
		}
		if !sleepCtx(ctx, retryDelay(attempt, err)) {
			return UploadedPiece{}, ctx.Err()
		}
	}
	return UploadedPiece{}, err
}

// retryDelay is the pause before attempt+1: the server's RetryAfter (at
// most maxRetryAfter), else a short backoff.
func retryDelay(attempt int, err error) time.Duration {
	if d := RetryAfter(err); d > 0 {
		return min(d, maxRetryAfter)
	}
	return time.Duration(1<<attempt) * 200 * time.Millisecond
}

const maxRetryAfter = 30 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// estimateSize is the size of what r will yield when it can tell (a file,
// a byte slice's reader), else 0.
func estimateSize(r io.Reader) int64 {
	switch r := r.(type) {
	case *os.File:
		if st, err := r.Stat(); err == nil {
			return st.Size()
		}
	case *bytes.Reader:
		return r.Size()
	}
	return 0
}

// mediaPath is the path of local media file name.
func (c *Client) mediaPath(name string) string {
	return filepath.Join(c.home, mediaDir, filepath.Base(name))
}

// newMediaFile creates a media file with a random name (nothing in it or
// its name says what it holds).
func (c *Client) newMediaFile() (*os.File, error) {
	dir := filepath.Join(c.home, mediaDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	return os.OpenFile(filepath.Join(dir, hex.EncodeToString(b)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}
