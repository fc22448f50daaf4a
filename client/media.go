package client

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// Media at rest: a downloaded file is the verified padded ciphertext,
// under HOME/media with a random name; its key, name and type are sealed
// in the database, so no plaintext file, file name or MIME type is ever on
// disk. OpenMedia decrypts to where the user asks.

// MediaSettings are this home's attachment settings, kept in its
// database (like the notification mode) and never synced.
type MediaSettings struct {
	// MaxAttachmentBytes caps a file to send (at most
	// MaxAttachmentLimit).
	MaxAttachmentBytes int64 `json:"max_attachment_bytes"`
	// AutoDownloadBytes: received attachments up to this size are
	// downloaded by the receive loop (never a message request's); 0
	// downloads nothing by itself.
	AutoDownloadBytes int64 `json:"auto_download_bytes"`
}

// mediaSetting holds this device's MediaSettings (JSON).
const mediaSetting = "client/media"

// MediaSettings returns the settings in effect: the Options' overrides,
// else the home's, else the defaults.
func (c *Client) MediaSettings() (MediaSettings, error) {
	s := MediaSettings{MaxAttachmentBytes: DefaultMaxAttachmentBytes, AutoDownloadBytes: DefaultAutoDownloadBytes}
	b, err := c.db.Setting(mediaSetting)
	switch {
	case err == nil:
		var stored MediaSettings
		if json.Unmarshal(b, &stored) == nil {
			s = stored
		}
	case !errors.Is(err, clientdb.ErrNotFound):
		return s, err
	}
	if c.media.MaxAttachmentBytes > 0 {
		s.MaxAttachmentBytes = c.media.MaxAttachmentBytes
	}
	if c.media.AutoDownloadBytes > 0 {
		s.AutoDownloadBytes = c.media.AutoDownloadBytes
	}
	s.MaxAttachmentBytes = min(s.MaxAttachmentBytes, MaxAttachmentLimit)
	return s, nil
}

// SetMediaSettings keeps s as this home's media settings. It returns
// [ErrAttachmentTooLarge] for a cap over MaxAttachmentLimit.
func (c *Client) SetMediaSettings(s MediaSettings) error {
	if s.MaxAttachmentBytes <= 0 || s.MaxAttachmentBytes > MaxAttachmentLimit || s.AutoDownloadBytes < 0 {
		return fmt.Errorf("%w: the cap must be from 1 to %d bytes", ErrAttachmentTooLarge, MaxAttachmentLimit)
	}
	b, _ := json.Marshal(s)
	return c.db.SetSetting(mediaSetting, b)
}

// receivedAttachments turns a message's pointers into rows to store. A
// malformed pointer drops the message (ErrDropped: counted, and the
// receive goes on); without a codec in this build the message waits.
func (c *Client) receivedAttachments(data *envelope.DataMessage) ([]clientdb.Attachment, error) {
	if len(data.GetAttachments()) == 0 {
		return nil, nil
	}
	if c.codec == nil {
		return nil, errNoCodec
	}
	if len(data.GetAttachments()) > maxFilesPerMessage {
		return nil, fmt.Errorf("%w: %d attachments", ErrDropped, len(data.GetAttachments()))
	}
	out := make([]clientdb.Attachment, 0, len(data.GetAttachments()))
	for i, w := range data.GetAttachments() {
		p, err := c.codec.fromWire(w)
		if err == nil {
			err = checkPointer(p)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: attachment %d: %w", ErrDropped, i, err)
		}
		out = append(out, p.toDB())
	}
	return out, nil
}

// checkPointer refuses a pointer the download could not use, whatever the
// codec let through: the pieces must add up to the padded size.
func checkPointer(p pointer) error {
	var total uint64
	for _, pc := range p.Pieces {
		if pc.ID == "" || pc.Size == 0 || pc.Size > pieceSize || len(pc.Digest) != sha256.Size {
			return errors.New("malformed piece")
		}
		total += pc.Size
	}
	switch {
	case len(p.Pieces) == 0 || len(p.Pieces) > maxPieces:
		return fmt.Errorf("%d pieces", len(p.Pieces))
	case total != p.PaddedSize || p.Size > p.PaddedSize:
		return errors.New("the pieces do not add up to the padded size")
	case len(p.Digest) != sha256.Size:
		return errors.New("malformed digest")
	}
	return nil
}

// autoDownload downloads the attachments of the new messages got that are
// within the auto-download size, except a message request's, and updates
// got's attachment states. Failures leave their state for the user
// (failed, expired) and are logged.
func (c *Client) autoDownload(ctx context.Context, got []Message) {
	set, err := c.MediaSettings()
	if err != nil || set.AutoDownloadBytes <= 0 || c.files == nil || c.codec == nil {
		return
	}
	for i := range got {
		m := &got[i]
		if len(m.Attachments) == 0 {
			continue
		}
		if IsGroupID(m.Peer) {
			// A joined group's members are no strangers: they were let
			// in by an admin the user accepted.
			if g, err := c.loadGroup(m.Peer); err != nil || g.Status != GroupJoined {
				continue
			}
		} else if st, err := c.requestState(m.Peer); err != nil || st.isRequest() {
			continue // never for a stranger: a download shows it we are online
		}
		// A copy: the events already emitted for this message share the
		// old array, and their readers (a UI encoding them) would race
		// with the states written below.
		m.Attachments = slices.Clone(m.Attachments)
		for j, a := range m.Attachments {
			if a.State != MediaPending || a.Size > set.AutoDownloadBytes {
				continue
			}
			err := c.fetchOne(ctx, m.ID, a.Index)
			if err != nil {
				c.log.Debug("auto-download failed", "err", err)
			}
			if it, err := c.db.MediaOf(clientdb.LocalID(m.ID), a.Index); err == nil {
				m.Attachments[j] = toAttachment(a.Index, it.Attachment)
			}
		}
	}
}

// FetchMedia downloads every attachment of message localID that is not
// here yet (pending, failed, interrupted, or cleared), verifying each
// piece and the whole before it counts as ready, with [EventTransfer]
// progress. It returns [ErrNotFound] for an unknown message, and joins
// the failures of its attachments: [ErrAttachmentExpired] (the message
// stays, marked expired), [ErrAttachmentCorrupt] (nothing kept; it may be
// fetched again), [ErrNoFileServer], network errors.
func (c *Client) FetchMedia(ctx context.Context, localID int64) error {
	m, err := c.db.Message(clientdb.LocalID(localID))
	if err != nil {
		return err
	}
	var errs []error
	for i, a := range m.Attachments {
		if a.State == clientdb.MediaReady || a.State == clientdb.MediaExpired {
			continue
		}
		if err := c.fetchOne(ctx, localID, i); err != nil {
			errs = append(errs, fmt.Errorf("attachment %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// mediaKey names one attachment: its message's local ID and its index.
type mediaKey struct {
	msg   int64
	index int
}

// fetchOne downloads attachment index of message msg, one download per
// attachment at a time: a second fetch of one being downloaded (the
// automatic download, then the user's click on it) waits for the first
// and, where that one did not leave it ready, tries itself. Two at once
// would write one media file from two sides, and the loser's failure
// would mark a good file failed.
func (c *Client) fetchOne(ctx context.Context, msg int64, index int) error {
	key := mediaKey{msg, index}
	for {
		c.mu.Lock()
		running, busy := c.fetching[key]
		if !busy {
			if c.fetching == nil {
				c.fetching = make(map[mediaKey]chan struct{})
			}
			done := make(chan struct{})
			c.fetching[key] = done
			c.mu.Unlock()
			defer func() {
				c.mu.Lock()
				delete(c.fetching, key)
				c.mu.Unlock()
				close(done)
			}()
			// A caller's view of the attachment may be old (the automatic
			// download's list, read before a click fetched it): one that
			// is here already is not downloaded again, which would replace
			// the file under a reader.
			if it, err := c.db.MediaOf(clientdb.LocalID(msg), index); err != nil {
				return err
			} else if it.State == clientdb.MediaReady {
				return nil
			}
			return c.download(ctx, msg, index)
		}
		c.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return ctx.Err()
		}
		it, err := c.db.MediaOf(clientdb.LocalID(msg), index)
		if err != nil {
			return err
		}
		switch it.State {
		case clientdb.MediaReady:
			return nil
		case clientdb.MediaExpired:
			return ErrAttachmentExpired
		}
	}
}

// download downloads attachment index of message msg into a media file
// recorded as downloading (so a later fetch resumes after its last whole
// piece), checks each piece's digest as it comes and the whole file (the
// digest, then the codec's full verification) before marking it ready.
// Only fetchOne calls it, one at a time per attachment.
func (c *Client) download(ctx context.Context, msg int64, index int) (err error) {
	if c.codec == nil {
		return errNoCodec
	}
	if c.files == nil {
		return ErrNoFileServer
	}
	it, err := c.db.MediaOf(clientdb.LocalID(msg), index)
	if err != nil {
		return err
	}
	p := pointerOf(it.Attachment)
	if err := checkPointer(p); err != nil {
		c.db.SetMedia(it.ID, clientdb.MediaFailed, "", 0)
		return fmt.Errorf("%w: %w", ErrAttachmentCorrupt, err)
	}
	f, done, err := c.resumeFile(it)
	if err != nil {
		return err
	}
	name := filepath.Base(f.Name())
	if _, err := c.db.SetMedia(it.ID, clientdb.MediaDownloading, name, done); err != nil {
		f.Close()
		return err
	}
	progress := func(done int64, err error) {
		c.emit(Event{Kind: EventTransfer, Transfer: Transfer{MessageID: msg, Index: index, Done: done, Total: int64(p.PaddedSize), Err: err}})
	}
	defer func() {
		state, keep := clientdb.MediaReady, name
		switch {
		case err == nil:
		case errors.Is(err, ErrAttachmentExpired):
			state, keep = clientdb.MediaExpired, ""
		case errors.Is(err, ErrAttachmentCorrupt):
			state, keep = clientdb.MediaFailed, ""
		default:
			// Kept for the next fetch to resume from.
			state = clientdb.MediaFailed
		}
		f.Close()
		var size int64
		if keep != "" {
			if st, serr := os.Stat(c.mediaPath(keep)); serr == nil {
				size = st.Size()
			}
		}
		if _, serr := c.db.SetMedia(it.ID, state, keep, size); serr != nil && err == nil {
			err = serr
		}
		if keep == "" {
			os.Remove(c.mediaPath(name))
		}
		if err != nil {
			progress(size, err)
		}
	}()
	whole := sha256.New()
	// The pieces already here were checked when they came; the whole
	// digest covers them again.
	if _, err := io.Copy(whole, io.NewSectionReader(f, 0, done)); err != nil {
		return err
	}
	var off int64
	for i, pc := range p.Pieces {
		if off+int64(pc.Size) <= done {
			off += int64(pc.Size)
			continue
		}
		data, err := c.downloadPiece(ctx, pc)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(data); subtle.ConstantTimeCompare(sum[:], pc.Digest) != 1 {
			return fmt.Errorf("%w: piece %d of %d is not the one the message names", ErrAttachmentCorrupt, i+1, len(p.Pieces))
		}
		if _, err := f.WriteAt(data, off); err != nil {
			return err
		}
		whole.Write(data)
		off += int64(pc.Size)
		progress(off, nil)
	}
	if subtle.ConstantTimeCompare(whole.Sum(nil), p.Digest) != 1 {
		return fmt.Errorf("%w: the pieces do not make the file the message names", ErrAttachmentCorrupt)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := c.codec.openLocal(io.Discard, p, io.NewSectionReader(f, 0, off)); err != nil {
		return fmt.Errorf("%w: %w", ErrAttachmentCorrupt, err)
	}
	return nil
}

// resumeFile opens the partial file of an interrupted download, cut back
// to its last whole piece, or a new media file.
func (c *Client) resumeFile(it clientdb.MediaItem) (*os.File, int64, error) {
	if it.LocalFile != "" && (it.State == clientdb.MediaDownloading || it.State == clientdb.MediaFailed) {
		f, err := os.OpenFile(c.mediaPath(it.LocalFile), os.O_RDWR, 0)
		if err == nil {
			st, err := f.Stat()
			if err == nil {
				var whole int64
				for _, pc := range it.Pieces {
					if whole+int64(pc.Size) > st.Size() {
						break
					}
					whole += int64(pc.Size)
				}
				if err = f.Truncate(whole); err == nil {
					return f, whole, nil
				}
			}
			f.Close()
		}
		os.Remove(c.mediaPath(it.LocalFile))
	} else if it.LocalFile != "" {
		// A cleared or replaced file that is somehow still named.
		os.Remove(c.mediaPath(it.LocalFile))
	}
	f, err := c.newMediaFile()
	return f, 0, err
}

// downloadPiece fetches one whole piece, continuing after a short answer
// and retrying failures of the way there; an expired piece is not
// retried.
func (c *Client) downloadPiece(ctx context.Context, pc clientdb.Piece) ([]byte, error) {
	buf := make([]byte, 0, pc.Size)
	var err error
	for attempt := 0; attempt < pieceAttempts; {
		var data []byte
		var size int64
		data, size, err = c.files.Download(ctx, pc.ID, int64(len(buf)), int64(pc.Size)-int64(len(buf)))
		if err == nil && size != int64(pc.Size) {
			return nil, fmt.Errorf("%w: the server holds %d bytes for a piece of %d", ErrAttachmentCorrupt, size, pc.Size)
		}
		if err == nil {
			if len(data) > int(pc.Size)-len(buf) {
				return nil, fmt.Errorf("%w: the server sent more than asked", ErrAttachmentCorrupt)
			}
			buf = append(buf, data...)
			if len(buf) == int(pc.Size) {
				return buf, nil
			}
			if len(data) > 0 {
				continue // a short answer: ask for the rest
			}
		}
		if errors.Is(err, ErrAttachmentExpired) || ctx.Err() != nil {
			return nil, err
		}
		if !sleepCtx(ctx, retryDelay(attempt, err)) {
			return nil, ctx.Err()
		}
		attempt++
	}
	if err == nil {
		err = fmt.Errorf("%w: piece %s came short", ErrUnreachable, pc.ID)
	}
	return nil, err
}

// OpenMedia writes the plaintext of attachment index of message localID
// to w, verifying it as it goes (only verified chunks reach w), and
// returns the attachment. It returns [ErrNotFound] for an unknown
// message or index, [ErrNotDownloaded] for a file not here (fetch it
// first), [ErrAttachmentExpired], and [ErrAttachmentCorrupt] when the
// local copy was altered.
func (c *Client) OpenMedia(localID int64, index int, w io.Writer) (Attachment, error) {
	it, err := c.db.MediaOf(clientdb.LocalID(localID), index)
	if err != nil {
		return Attachment{}, err
	}
	a := toAttachment(index, it.Attachment)
	switch {
	case it.State == clientdb.MediaExpired:
		return a, ErrAttachmentExpired
	case it.State != clientdb.MediaReady || it.LocalFile == "":
		return a, fmt.Errorf("%w: it is %s", ErrNotDownloaded, it.State)
	case c.codec == nil:
		return a, errNoCodec
	}
	f, err := os.Open(c.mediaPath(it.LocalFile))
	if errors.Is(err, fs.ErrNotExist) {
		c.db.SetMedia(it.ID, clientdb.MediaPending, "", 0)
		return a, fmt.Errorf("%w: its file is gone", ErrNotDownloaded)
	} else if err != nil {
		return a, err
	}
	defer f.Close()
	if err := c.codec.openLocal(w, pointerOf(it.Attachment), f); err != nil {
		return a, fmt.Errorf("%w: %w", ErrAttachmentCorrupt, err)
	}
	return a, nil
}

// OpenThumbnail writes the inline thumbnail (a JPEG) of attachment index
// of message localID to w. It returns [ErrNotFound] when there is none
// (or it was cleared).
func (c *Client) OpenThumbnail(localID int64, index int, w io.Writer) error {
	it, err := c.db.MediaOf(clientdb.LocalID(localID), index)
	if err != nil {
		return err
	}
	b, err := c.db.Thumbnail(it.ID)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MediaItem is one attachment in the media list.
type MediaItem struct {
	// MessageID is the message's local ID.
	MessageID int64              `json:"local_id"`
	Peer      identity.AccountID `json:"peer"`
	Outgoing  bool               `json:"outgoing"`
	SentAt    time.Time          `json:"sent_at"`
	Attachment
	// StoredBytes is what the local file takes on disk (0 when none).
	StoredBytes int64 `json:"stored_bytes"`
}

// Media lists the attachments of the conversation with *peer, or of
// every conversation with nil, oldest first. It returns [ErrNotFound]
// for a peer without a conversation.
func (c *Client) Media(peer *identity.AccountID) ([]MediaItem, error) {
	c.expireLocal()
	var conv clientdb.ConversationID
	if peer != nil {
		cv, err := c.db.Conversation(*peer)
		if err != nil {
			return nil, err
		}
		conv = cv.ID
	}
	items, err := c.db.Media(conv)
	if err != nil {
		return nil, err
	}
	peers, err := c.convPeers()
	if err != nil {
		return nil, err
	}
	out := make([]MediaItem, len(items))
	for i, it := range items {
		out[i] = MediaItem{MessageID: int64(it.Message), Peer: peers[it.Conversation], Outgoing: it.Outgoing, SentAt: it.SentAt,
			Attachment: toAttachment(it.Index, it.Attachment), StoredBytes: it.LocalBytes}
	}
	return out, nil
}

func (c *Client) convPeers() (map[clientdb.ConversationID]identity.AccountID, error) {
	convs, err := c.db.Conversations()
	if err != nil {
		return nil, err
	}
	m := make(map[clientdb.ConversationID]identity.AccountID, len(convs))
	for _, cv := range convs {
		m[cv.ID] = cv.Peer
	}
	return m, nil
}

// ClearedMedia reports what [Client.ClearMedia] removed.
type ClearedMedia struct {
	Attachments int   `json:"attachments"` // marked cleared
	Files       int   `json:"files"`       // local files removed
	Bytes       int64 `json:"bytes"`       // their size
	Thumbnails  int   `json:"thumbnails"`  // thumbnails dropped
}

// ClearMedia deletes the local media files and thumbnails of the
// conversation with *peer (every conversation with nil) whose messages
// are older than olderThan (all with 0); the messages stay, their
// attachments marked cleared (a cleared file can be fetched again while
// the file server holds it). Nothing is deleted on the file server. It
// returns [ErrNotFound] for a peer without a conversation.
func (c *Client) ClearMedia(peer *identity.AccountID, olderThan time.Duration) (ClearedMedia, error) {
	var conv clientdb.ConversationID
	if peer != nil {
		cv, err := c.db.Conversation(*peer)
		if err != nil {
			return ClearedMedia{}, err
		}
		conv = cv.ID
	}
	var before time.Time
	if olderThan > 0 {
		before = c.clock().Add(-olderThan)
	}
	items, err := c.db.ClearMedia(conv, before)
	if err != nil {
		return ClearedMedia{}, err
	}
	var out ClearedMedia
	for _, it := range items {
		out.Attachments++
		if it.ThumbnailBytes > 0 {
			out.Thumbnails++
		}
		if it.LocalFile != "" {
			if st, err := os.Stat(c.mediaPath(it.LocalFile)); err == nil {
				out.Bytes += st.Size()
			}
			if err := os.Remove(c.mediaPath(it.LocalFile)); err == nil {
				out.Files++
			}
		}
	}
	return out, nil
}

// ConversationStorage is one conversation's share of local storage.
type ConversationStorage struct {
	Peer         identity.AccountID `json:"peer"`
	Nickname     string             `json:"name,omitempty"`
	Messages     int                `json:"messages"`
	MessageBytes int64              `json:"message_bytes"`
	// MediaFiles and MediaBytes are the local media files (downloaded or
	// sent) and their size on disk; Thumbnails and ThumbnailBytes the
	// inline thumbnails kept in the database.
	MediaFiles     int   `json:"media_files"`
	MediaBytes     int64 `json:"media_bytes"`
	Thumbnails     int   `json:"thumbnails"`
	ThumbnailBytes int64 `json:"thumbnail_bytes"`
}

// StorageReport is what the home's messages and media take.
type StorageReport struct {
	Conversations  []ConversationStorage `json:"conversations"`
	MessageBytes   int64                 `json:"message_bytes"`
	MediaBytes     int64                 `json:"media_bytes"`
	ThumbnailBytes int64                 `json:"thumbnail_bytes"`
	// MediaFolderBytes is everything in the media folder, measured on
	// disk (MediaBytes plus any partial download).
	MediaFolderBytes int64 `json:"media_folder_bytes"`
	// DatabaseBytes is the database file plus its write-ahead log.
	DatabaseBytes int64 `json:"database_bytes"`
	// Outbox counts queued store requests.
	Outbox int `json:"outbox"`
}

// Storage reports, per conversation, the bytes of messages, media files
// and thumbnails, and the media folder and database on disk.
func (c *Client) Storage() (StorageReport, error) {
	c.expireLocal()
	u, err := c.db.Usage()
	if err != nil {
		return StorageReport{}, err
	}
	nicks, err := c.nicknames()
	if err != nil {
		return StorageReport{}, err
	}
	ob, err := c.db.Outbox()
	if err != nil {
		return StorageReport{}, err
	}
	out := StorageReport{MessageBytes: u.MessageBytes, MediaBytes: u.MediaBytes, ThumbnailBytes: u.ThumbnailBytes,
		DatabaseBytes: u.FileBytes + u.WALBytes, Outbox: len(ob), Conversations: []ConversationStorage{}}
	for _, cu := range u.Conversations {
		out.Conversations = append(out.Conversations, ConversationStorage{
			Peer: cu.Peer, Nickname: nicks[cu.Peer], Messages: cu.Messages, MessageBytes: cu.MessageBytes,
			MediaFiles: cu.MediaFiles, MediaBytes: cu.MediaBytes, Thumbnails: cu.Thumbnails, ThumbnailBytes: cu.ThumbnailBytes,
		})
	}
	ents, err := os.ReadDir(filepath.Join(c.home, mediaDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, err
	}
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			out.MediaFolderBytes += info.Size()
		}
	}
	return out, nil
}

// pendingBlobDeletes is the setting holding the delete capabilities of
// uploaded pieces whose messages are gone, until the file server took
// them.
const pendingBlobDeletes = "client/pending-blob-deletes"

// dropDeleted handles what a deletion removed outside the database: own
// swarm copies and media (local files, uploaded pieces).
func (c *Client) dropDeleted(d clientdb.Deleted) error {
	return errors.Join(c.addPendingDeletes(d.SwarmHashes), c.dropMedia(d.Attachments))
}

// dropMedia removes the local files of atts and queues their uploaded
// pieces for deletion on the file server.
func (c *Client) dropMedia(atts []clientdb.Attachment) error {
	var tokens []clientdb.PieceToken
	for _, a := range atts {
		if a.LocalFile != "" {
			os.Remove(c.mediaPath(a.LocalFile))
		}
		tokens = append(tokens, a.Tokens...)
	}
	return c.addBlobDeletes(tokens)
}

// addBlobDeletes queues pieces for deletion on the file server.
func (c *Client) addBlobDeletes(tokens []clientdb.PieceToken) error {
	if len(tokens) == 0 {
		return nil
	}
	return c.updateBlobDeletes(func(cur []clientdb.PieceToken) []clientdb.PieceToken { return append(cur, tokens...) })
}

func (c *Client) loadBlobDeletes() ([]clientdb.PieceToken, error) {
	b, err := c.db.Setting(pendingBlobDeletes)
	if errors.Is(err, clientdb.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return decodeBlobDeletes(b)
}

func decodeBlobDeletes(b []byte) ([]clientdb.PieceToken, error) {
	if b == nil {
		return nil, nil
	}
	var ts []clientdb.PieceToken
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("%w: pending piece deletions: %w", clientdb.ErrCorrupt, err)
	}
	return ts, nil
}

// updateBlobDeletes changes the pending piece deletions in one
// transaction: deletions, avatar changes and the duties' retry change
// them at once.
func (c *Client) updateBlobDeletes(fn func([]clientdb.PieceToken) []clientdb.PieceToken) error {
	return c.db.UpdateSetting(pendingBlobDeletes, func(old []byte) ([]byte, error) {
		ts, err := decodeBlobDeletes(old)
		if err != nil {
			return nil, err
		}
		ts = fn(ts)
		slices.SortFunc(ts, func(a, b clientdb.PieceToken) int { return strings.Compare(a.ID, b.ID) })
		ts = slices.CompactFunc(ts, func(a, b clientdb.PieceToken) bool { return a.ID == b.ID })
		if len(ts) == 0 {
			return nil, nil
		}
		b, _ := json.Marshal(ts)
		return b, nil
	})
}

// retryBlobDeletes deletes the pending pieces from the file server. A
// piece already gone needs nothing more, nor does one past its expiry
// whose deletion failed; others wait for the next background duties.
func (c *Client) retryBlobDeletes(ctx context.Context) error {
	ts, err := c.loadBlobDeletes()
	if err != nil || len(ts) == 0 || c.files == nil {
		return err
	}
	done := map[string]bool{}
	var lastErr error
	now := c.clock()
	for _, t := range ts {
		err := c.files.Delete(ctx, t.ID, t.Token)
		switch {
		case err == nil || errors.Is(err, ErrAttachmentExpired):
			done[t.ID] = true
		case !t.Expires.IsZero() && t.Expires.Before(now):
			// Past its expiry the server has dropped it or will.
			done[t.ID] = true
		default:
			lastErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Keep what was added meanwhile (by this process or another) and
	// what failed.
	err = c.updateBlobDeletes(func(cur []clientdb.PieceToken) []clientdb.PieceToken {
		return slices.DeleteFunc(cur, func(t clientdb.PieceToken) bool { return done[t.ID] })
	})
	return errors.Join(err, lastErr)
}

// sweepMedia removes files of the media folder that no row names: left by
// a crash between writing a file and recording it, or by an import.
func (c *Client) sweepMedia() error {
	dir := filepath.Join(c.home, mediaDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	known, err := c.db.MediaFiles()
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !known[e.Name()] && e.Type().IsRegular() {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
				// An hour old at least: not a file another process is
				// writing right now.
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	return nil
}
