package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/files"
)

// Profile pictures (issue 17, item 2) go the attachments' way: the image
// is prepared like a photo (re-encoded without metadata, and scaled to fit
// AvatarSide), sealed under a fresh key and uploaded in pieces to the file
// server for the longest time it grants; the pointer rides in the
// Profile of every later message (DataMessage.profile.avatar). Its record
// (pointer, delete capabilities, expiry, local copy) is sealed in the
// database as a setting, beside the display name: no migration.
//
// The sender re-uploads in its background duties once less than
// avatarRefresh is left before the pieces expire, and meanwhile stops
// sending a pointer past its expiry, so a receiver is never handed a dead
// one. A receiver stores a contact's pointer as it comes (a changed one
// replaces the old file, a message without one removes it) and fetches it
// in the receive loop like an auto-download, through the same piece
// download and digest checks, never for a message request. The verified
// padded ciphertext is kept under avatars/ in the home (random names),
// its key sealed in the database, like other media.

// AvatarSide is the longest side, in pixels, of a profile picture as sent.
const AvatarSide = 640

const (
	// settingAvatar holds the own avatar's record, and
	// settingPeerAvatar+ID a contact's.
	settingAvatar     = "profile/avatar"
	settingPeerAvatar = "contact/avatar/"
	// avatarDir is the folder under the home holding avatar files.
	avatarDir = "avatars"
	// avatarRefresh is how long before its expiry the own avatar is
	// uploaded again.
	avatarRefresh = 3 * 24 * time.Hour
)

// avatarRecord is a stored avatar: the own one (with the pieces' delete
// capabilities) or a contact's.
type avatarRecord struct {
	P       pointer               `json:"p"`
	Tokens  []clientdb.PieceToken `json:"t,omitempty"`
	Expires time.Time             `json:"x,omitzero"`
	// File is the verified padded ciphertext under avatarDir, "" while
	// not fetched.
	File string `json:"f,omitempty"`
	// Expired: the file server no longer had it; not fetched again
	// until the pointer changes.
	Expired bool `json:"e,omitempty"`
}

func (c *Client) loadAvatar(name string) (*avatarRecord, error) {
	b, err := c.db.Setting(name)
	if errors.Is(err, clientdb.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var r avatarRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: avatar: %w", clientdb.ErrCorrupt, err)
	}
	return &r, nil
}

func (c *Client) saveAvatar(name string, r *avatarRecord) error {
	if r == nil {
		if err := c.db.DeleteSetting(name); err != nil && !errors.Is(err, clientdb.ErrNotFound) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return c.db.SetSetting(name, b)
}

// dropAvatar removes r's local file and queues its pieces (own uploads)
// for deletion on the file server.
func (c *Client) dropAvatar(r *avatarRecord) error {
	if r == nil {
		return nil
	}
	if r.File != "" {
		os.Remove(c.avatarPath(r.File))
	}
	return c.addBlobDeletes(r.Tokens)
}

func (c *Client) avatarPath(name string) string {
	return filepath.Join(c.home, avatarDir, filepath.Base(name))
}

func (c *Client) newAvatarFile() (*os.File, error) {
	dir := filepath.Join(c.home, avatarDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	return os.OpenFile(filepath.Join(dir, hex.EncodeToString(b)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}

// SetAvatar sets the profile picture sent with every later message: the
// image at path (JPEG, PNG or WebP) is re-encoded without its metadata,
// scaled to fit AvatarSide, sealed and uploaded to the file server for as
// long as it keeps files. The previous picture's pieces are deleted. It
// returns [ErrBadFile] (unreadable, not a photo, or an image over the
// decoder's limits), [ErrAttachmentTooLarge], [ErrNoFileServer] and the
// upload's failures.
func (c *Client) SetAvatar(ctx context.Context, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrBadFile, path)
	}
	set, err := c.MediaSettings()
	if err != nil {
		return err
	}
	if st.Size() > set.MaxAttachmentBytes {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrAttachmentTooLarge, filepath.Base(path), st.Size(), set.MaxAttachmentBytes)
	}
	if c.files == nil {
		return ErrNoFileServer
	}
	if c.codec == nil {
		return errNoCodec
	}
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	img, err := c.codec.prepareImage(in, AvatarSide)
	in.Close()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadFile, filepath.Base(path), err)
	}
	return c.uploadAvatar(ctx, pointer{MIME: img.MIME, Width: uint32(img.Width), Height: uint32(img.Height)}, img.Clean)
}

// uploadAvatar uploads clean as the own avatar and replaces the record.
func (c *Client) uploadAvatar(ctx context.Context, p pointer, clean []byte) error {
	a, err := c.uploadSealed(ctx, 0, p, bytes.NewReader(clean), files.MaxTTL)
	if err != nil {
		c.dropMedia([]clientdb.Attachment{a})
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		c.retryBlobDeletes(dctx)
		cancel()
		return err
	}
	// The local copy moves from the media folder (whose sweep keeps only
	// files that messages name) to the avatars'.
	if err := os.MkdirAll(filepath.Join(c.home, avatarDir), 0o700); err != nil {
		return err
	}
	if err := os.Rename(c.mediaPath(a.LocalFile), c.avatarPath(a.LocalFile)); err != nil {
		return err
	}
	r := &avatarRecord{P: pointerOf(a), Tokens: a.Tokens, File: a.LocalFile}
	for _, t := range a.Tokens {
		if r.Expires.IsZero() || t.Expires.Before(r.Expires) {
			r.Expires = t.Expires
		}
	}
	old, err := c.loadAvatar(settingAvatar)
	if err != nil {
		return err
	}
	if err := c.saveAvatar(settingAvatar, r); err != nil {
		return err
	}
	if err := c.dropAvatar(old); err != nil {
		return err
	}
	return c.retryBlobDeletes(ctx)
}

// ClearAvatar stops sending a profile picture; its pieces are deleted
// from the file server by the next background duties. Contacts remove it
// on the next message they get.
func (c *Client) ClearAvatar() error {
	old, err := c.loadAvatar(settingAvatar)
	if err != nil || old == nil {
		return err
	}
	if err := c.saveAvatar(settingAvatar, nil); err != nil {
		return err
	}
	return c.dropAvatar(old)
}

// ProfileAvatar reports whether a profile picture is set, and until when
// the file server keeps its current upload.
func (c *Client) ProfileAvatar() (set bool, expires time.Time, err error) {
	r, err := c.loadAvatar(settingAvatar)
	if err != nil || r == nil {
		return false, time.Time{}, err
	}
	return true, r.Expires, nil
}

// avatarPointer is the own avatar's pointer for an outgoing Profile, nil
// without one or once its pieces expired (until refreshAvatar uploads it
// again).
func (c *Client) avatarPointer() *envelope.AttachmentPointer {
	if c.codec == nil {
		return nil
	}
	r, err := c.loadAvatar(settingAvatar)
	if err != nil || r == nil || !c.clock().Before(r.Expires) {
		return nil
	}
	return c.codec.toWire(r.P)
}

// refreshAvatar uploads the own avatar again, from its local copy, once
// less than avatarRefresh is left before its pieces expire (or after).
func (c *Client) refreshAvatar(ctx context.Context) error {
	r, err := c.loadAvatar(settingAvatar)
	if err != nil || r == nil || c.files == nil || c.codec == nil || r.Expires.Sub(c.clock()) > avatarRefresh {
		return err
	}
	f, err := os.Open(c.avatarPath(r.File))
	if err != nil {
		return err
	}
	defer f.Close()
	var clean bytes.Buffer
	if err := c.codec.openLocal(&clean, r.P, f); err != nil {
		return fmt.Errorf("%w: own avatar: %w", ErrAttachmentCorrupt, err)
	}
	return c.uploadAvatar(ctx, pointer{MIME: r.P.MIME, Width: r.P.Width, Height: r.P.Height}, clean.Bytes())
}

// noteAvatar records the avatar pointer a peer's message carried: a new
// one replaces the old (and its file), none removes it. A malformed
// pointer is ignored (the message itself is fine).
func (c *Client) noteAvatar(peer identity.AccountID, w *envelope.AttachmentPointer) error {
	name := settingPeerAvatar + peer.String()
	old, err := c.loadAvatar(name)
	if err != nil {
		return err
	}
	if w == nil {
		if old == nil {
			return nil
		}
		return errors.Join(c.saveAvatar(name, nil), c.dropAvatar(old))
	}
	if c.codec == nil {
		return nil
	}
	p, err := c.codec.fromWire(w)
	if err == nil {
		err = checkPointer(p)
	}
	if err != nil {
		c.log.Debug("malformed avatar pointer ignored", "err", err)
		return nil
	}
	if old != nil && bytes.Equal(old.P.Digest, p.Digest) && bytes.Equal(old.P.Key, p.Key) {
		return nil
	}
	if err := c.saveAvatar(name, &avatarRecord{P: p}); err != nil {
		return err
	}
	return c.dropAvatar(old)
}

// removePeerAvatar forgets peer's avatar and deletes its file.
func (c *Client) removePeerAvatar(peer identity.AccountID) error {
	name := settingPeerAvatar + peer.String()
	old, err := c.loadAvatar(name)
	if err != nil || old == nil {
		return err
	}
	return errors.Join(c.saveAvatar(name, nil), c.dropAvatar(old))
}

// fetchAvatars fetches the avatars of the senders of got that are not
// here yet, within the auto-download size, never a message request's.
func (c *Client) fetchAvatars(ctx context.Context, got []Message) {
	set, err := c.MediaSettings()
	if err != nil || set.AutoDownloadBytes <= 0 || c.files == nil || c.codec == nil {
		return
	}
	seen := map[identity.AccountID]bool{}
	for _, m := range got {
		if m.Outgoing || seen[m.Peer] {
			continue
		}
		seen[m.Peer] = true
		if st, err := c.requestState(m.Peer); err != nil || st.isRequest() {
			continue // never for a stranger: a download shows it we are online
		}
		r, err := c.loadAvatar(settingPeerAvatar + m.Peer.String())
		if err != nil || r == nil || r.File != "" || r.Expired || int64(r.P.Size) > set.AutoDownloadBytes {
			continue
		}
		if err := c.fetchAvatar(ctx, m.Peer, r); err != nil {
			c.log.Debug("avatar download failed", "err", err)
		}
	}
}

// fetchAvatar downloads r's pieces, checks each piece's digest, the
// whole digest and the codec's full verification, and records the file.
func (c *Client) fetchAvatar(ctx context.Context, peer identity.AccountID, r *avatarRecord) (err error) {
	f, err := c.newAvatarFile()
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	whole := sha256.New()
	for i, pc := range r.P.Pieces {
		data, err := c.downloadPiece(ctx, pc)
		if errors.Is(err, ErrAttachmentExpired) {
			r.Expired = true
			return errors.Join(err, c.saveAvatar(settingPeerAvatar+peer.String(), r))
		} else if err != nil {
			return err
		}
		if sum := sha256.Sum256(data); subtle.ConstantTimeCompare(sum[:], pc.Digest) != 1 {
			return fmt.Errorf("%w: avatar piece %d of %d", ErrAttachmentCorrupt, i+1, len(r.P.Pieces))
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		whole.Write(data)
	}
	if subtle.ConstantTimeCompare(whole.Sum(nil), r.P.Digest) != 1 {
		return fmt.Errorf("%w: the avatar's pieces do not make the file named", ErrAttachmentCorrupt)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := c.codec.openLocal(io.Discard, r.P, io.NewSectionReader(f, 0, int64(r.P.PaddedSize))); err != nil {
		return fmt.Errorf("%w: %w", ErrAttachmentCorrupt, err)
	}
	// The pointer may have changed meanwhile: record the file only for
	// the one it was fetched for.
	cur, err := c.loadAvatar(settingPeerAvatar + peer.String())
	if err != nil {
		return err
	}
	if cur == nil || !bytes.Equal(cur.P.Digest, r.P.Digest) {
		return errors.New("avatar changed during its download")
	}
	cur.File = filepath.Base(f.Name())
	return c.saveAvatar(settingPeerAvatar+peer.String(), cur)
}

// HasAvatar reports whether peer's profile picture is here to open.
func (c *Client) HasAvatar(peer identity.AccountID) (bool, error) {
	r, err := c.loadAvatar(settingPeerAvatar + peer.String())
	return r != nil && r.File != "", err
}

// OpenAvatar writes peer's profile picture (a JPEG or PNG without
// metadata) to w, verifying it as it goes. It returns [ErrNotFound] when
// peer sent none, [ErrNotDownloaded] when it is not here (a message
// request's, or not fetched yet), [ErrAttachmentExpired], and
// [ErrAttachmentCorrupt] when the local copy was altered.
func (c *Client) OpenAvatar(peer identity.AccountID, w io.Writer) error {
	r, err := c.loadAvatar(settingPeerAvatar + peer.String())
	if err != nil {
		return err
	}
	switch {
	case r == nil:
		return fmt.Errorf("%w: no avatar from %s", ErrNotFound, peer)
	case r.Expired:
		return ErrAttachmentExpired
	case r.File == "":
		return ErrNotDownloaded
	}
	f, err := os.Open(c.avatarPath(r.File))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.codec.openLocal(w, r.P, f); err != nil {
		return fmt.Errorf("%w: %w", ErrAttachmentCorrupt, err)
	}
	return nil
}
