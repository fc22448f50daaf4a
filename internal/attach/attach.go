// Package attach is the format of a hush attachment: how a file is sealed,
// padded and cut into pieces for the file server, how a receiver verifies
// and opens it, and how photos are cleaned before they are sent. It does
// no network I/O: callers upload and download the pieces (internal/
// filesclient through onion paths) and keep them at rest.
//
// # Sealing
//
// [Seal] encrypts the plaintext as a crypto/stream (64 KiB chunks of
// XChaCha20-Poly1305, counter and last-chunk flag in the nonce) under a
// fresh random 32-byte key, pads the sealed stream with zero bytes to
// [Padme] of its length, and cuts the padded ciphertext into pieces of at
// most pieceSize bytes, each uploaded as its own blob. The message carries
// a [Pointer] (envelope AttachmentPointer): the pieces' file-server IDs,
// sizes and SHA-256 digests, the key, the SHA-256 of the whole padded
// ciphertext, the plaintext size and the padded size.
//
// # Opening
//
// [Open] takes the pieces in order and checks each against its digest
// before using a byte of it ([ErrPieceDigest], in a [*PieceError] naming
// the piece, so the caller can fetch that piece again), then decrypts
// chunk by chunk: only authenticated chunks reach the writer. At the end it
// checks that the padding is all zero and of Padmé's length ([ErrPadding]),
// that the plaintext has the announced size ([ErrSize]) and the whole
// digest ([ErrDigest]). A stream cut or tampered with inside the pointer's
// own digests (possible only for the sender) is [ErrCorrupt]. What Open
// wrote is the file only when it returns nil: on error the caller discards
// it. The receiver's copy at rest is the verified padded ciphertext itself,
// opened with [OpenLocal], so no plaintext touches the disk and the key
// lives sealed in the client's database.
//
// # Memory
//
// Seal and Open hold one piece and a few 64 KiB chunks, whatever the file's
// size.
//
// # Images
//
// [PrepareImage] re-encodes a photo without its metadata (EXIF, GPS, XMP,
// PNG text chunks), after checking its dimensions from the header alone, and
// makes the inline thumbnail. [SniffMIME] names a file's type from its first
// bytes.
package attach

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/hushnet/hush/crypto/stream"
	"github.com/hushnet/hush/protocol/envelope"
)

// Errors returned (wrapped, with detail) by Seal, Open, OpenLocal and
// FromProto. Test for them with errors.Is.
var (
	// ErrPieceDigest: a piece is not the one the pointer names (tampered,
	// swapped, cut or of the wrong length). It comes in a *PieceError.
	ErrPieceDigest = errors.New("attach: a piece does not match its digest")
	// ErrDigest: the pieces do not add up to the pointer's whole digest.
	ErrDigest = errors.New("attach: the file does not match its digest")
	// ErrPadding: the bytes after the sealed stream are not zero padding
	// of Padmé's length.
	ErrPadding = errors.New("attach: bad padding")
	// ErrSize: the plaintext is not of the announced size.
	ErrSize = errors.New("attach: wrong size")
	// ErrCorrupt: the sealed stream does not open under the key (cut,
	// reordered or tampered chunks); it wraps crypto/stream's error.
	ErrCorrupt = errors.New("attach: the encrypted file is damaged")
	// ErrPointer: the pointer itself is malformed or inconsistent.
	ErrPointer = errors.New("attach: invalid attachment pointer")
	// ErrTooLarge: the file needs more pieces than a pointer may carry.
	ErrTooLarge = errors.New("attach: file too large")
)

// PieceError is a failure of one piece: fetching it (the get function's
// error) or verifying it (ErrPieceDigest). Index is the piece's index in
// the pointer.
type PieceError struct {
	Index int
	Err   error
}

func (e *PieceError) Error() string { return fmt.Sprintf("piece %d: %v", e.Index, e.Err) }
func (e *PieceError) Unwrap() error { return e.Err }

// Sealed is what Seal produced: everything of the Pointer but the pieces'
// IDs (which the uploads return) and the file's description.
type Sealed struct {
	Key          []byte
	Digest       []byte   // SHA-256 of all pieces concatenated
	PieceDigests [][]byte // SHA-256 of each piece
	PieceSizes   []uint64 // each piece's length
	PaddedSize   uint64   // Padmé(sealed stream length): the pieces' total
	Size         uint64   // plaintext length
}

// Pointer returns the pointer to s's pieces, uploaded under ids (in piece
// order); the caller fills in the description (MIME, name, dimensions,
// thumbnail).
func (s Sealed) Pointer(ids []string) (Pointer, error) {
	if len(ids) != len(s.PieceDigests) {
		return Pointer{}, fmt.Errorf("%w: %d ids for %d pieces", ErrPointer, len(ids), len(s.PieceDigests))
	}
	p := Pointer{Key: s.Key, Digest: s.Digest, Size: s.Size, PaddedSize: s.PaddedSize}
	for i, id := range ids {
		p.Pieces = append(p.Pieces, Piece{ID: id, Digest: s.PieceDigests[i], Size: s.PieceSizes[i]})
	}
	return p, p.check()
}

// Seal encrypts r (plaintext, streamed) under a fresh key; pads the
// ciphertext to Padme(len) with zero bytes after the last chunk; cuts it
// into pieces of pieceSize bytes (the last one shorter); calls put for each
// piece in order, never holding more than one piece in memory. put is
// called from Seal's goroutine; it may upload, or hand the piece to
// uploaders of its own (the caller parallelises): put owns the piece, Seal
// does not touch it after the call. pieceSize must be 1 to
// envelope.MaxPieceSize; a file needing more than
// envelope.MaxAttachmentPieces pieces is ErrTooLarge (before any put of a
// piece past the limit). On any error the pieces already put are the
// caller's to throw away (delete the uploaded blobs).
func Seal(r io.Reader, pieceSize int, put func(index int, piece []byte) error) (Sealed, error) {
	if pieceSize < 1 || pieceSize > envelope.MaxPieceSize {
		return Sealed{}, fmt.Errorf("attach: piece size %d out of range", pieceSize)
	}
	key := make([]byte, stream.KeySize)
	rand.Read(key)
	pw := &pieceWriter{size: pieceSize, put: put, whole: sha256.New()}
	sw := stream.NewWriter(pw, key)
	n, err := io.Copy(sw, r)
	if err != nil {
		return Sealed{}, err
	}
	if err := sw.Close(); err != nil {
		return Sealed{}, err
	}
	sealedLen := stream.EncryptedSize(uint64(n))
	if pw.written != sealedLen {
		return Sealed{}, fmt.Errorf("attach: sealed %d bytes, want %d", pw.written, sealedLen)
	}
	padded := Padme(sealedLen)
	zeros := make([]byte, min(padded-sealedLen, stream.ChunkSize))
	for left := padded - sealedLen; left > 0; {
		k := min(left, uint64(len(zeros)))
		if _, err := pw.Write(zeros[:k]); err != nil {
			return Sealed{}, err
		}
		left -= k
	}
	if err := pw.flush(); err != nil {
		return Sealed{}, err
	}
	return Sealed{
		Key: key, Digest: pw.whole.Sum(nil), PieceDigests: pw.digests, PieceSizes: pw.sizes,
		PaddedSize: padded, Size: uint64(n),
	}, nil
}

// pieceWriter collects the padded ciphertext into pieces and hands each,
// full, to put.
type pieceWriter struct {
	size    int
	put     func(int, []byte) error
	buf     []byte
	whole   hash.Hash
	digests [][]byte
	sizes   []uint64
	written uint64
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			if len(w.digests) == envelope.MaxAttachmentPieces {
				return total - len(p), fmt.Errorf("%w: more than %d pieces of %d bytes", ErrTooLarge, envelope.MaxAttachmentPieces, w.size)
			}
			w.buf = make([]byte, 0, w.size)
		}
		k := min(len(p), w.size-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		w.written += uint64(k)
		if len(w.buf) == w.size {
			if err := w.flush(); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

func (w *pieceWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	piece := w.buf
	w.buf = nil // put owns it now
	d := sha256.Sum256(piece)
	w.whole.Write(piece)
	w.digests = append(w.digests, d[:])
	w.sizes = append(w.sizes, uint64(len(piece)))
	if err := w.put(len(w.digests)-1, piece); err != nil {
		return fmt.Errorf("attach: piece %d: %w", len(w.digests)-1, err)
	}
	return nil
}

// VerifyPiece checks that piece is p's piece index: its length and digest.
// A download checks each piece with it before keeping it; the error is a
// *PieceError wrapping ErrPieceDigest.
func VerifyPiece(p Pointer, index int, piece []byte) error {
	if index < 0 || index >= len(p.Pieces) {
		return &PieceError{index, fmt.Errorf("%w: no such piece", ErrPieceDigest)}
	}
	want := p.Pieces[index]
	if uint64(len(piece)) != want.Size {
		return &PieceError{index, fmt.Errorf("%w: %d bytes, want %d", ErrPieceDigest, len(piece), want.Size)}
	}
	d := sha256.Sum256(piece)
	if subtle.ConstantTimeCompare(d[:], want.Digest) != 1 {
		return &PieceError{index, ErrPieceDigest}
	}
	return nil
}

// Open verifies and decrypts: pieces come from get(index) in order; each
// piece is checked against its digest before use (a *PieceError with
// ErrPieceDigest names a tampered or swapped piece; one with get's error a
// piece that could not be had), the whole against Digest, the padding must
// be zero and of the Padmé length, the plaintext length must equal Size.
// Plaintext goes to w only as authenticated chunks come; it is the file
// only when Open returns nil. get's slice is not kept past the next call.
func Open(w io.Writer, p Pointer, get func(index int) ([]byte, error)) error {
	if err := p.check(); err != nil {
		return err
	}
	pr := &pieceReader{p: p, get: get, whole: sha256.New()}
	sealedLen := stream.EncryptedSize(p.Size)
	sr := stream.NewReader(io.LimitReader(pr, int64(sealedLen)), p.Key)
	n, err := io.Copy(w, sr)
	if err != nil {
		var pe *PieceError
		if errors.As(err, &pe) {
			return err
		}
		if errors.Is(err, stream.ErrCorrupt) || errors.Is(err, stream.ErrTruncated) {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return err
	}
	if uint64(n) != p.Size {
		// The stream authenticated within the sealed length the size
		// gives, so this cannot happen with crypto/stream; kept as a
		// guard should the framing ever change.
		return fmt.Errorf("%w: %d bytes, announced %d", ErrSize, n, p.Size)
	}
	if pr.read != sealedLen {
		return fmt.Errorf("%w: the sealed stream ends at %d, want %d", ErrSize, pr.read, sealedLen)
	}
	// What follows the stream is the padding: zeros to the padded size.
	buf := make([]byte, 32<<10)
	for {
		k, err := pr.Read(buf)
		for _, b := range buf[:k] {
			if b != 0 {
				return fmt.Errorf("%w: non-zero byte at %d", ErrPadding, pr.read-uint64(k))
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if pr.read != p.PaddedSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrPadding, pr.read, p.PaddedSize)
	}
	if subtle.ConstantTimeCompare(pr.whole.Sum(nil), p.Digest) != 1 {
		return ErrDigest
	}
	return nil
}

// pieceReader reads the padded ciphertext piece by piece, verifying each
// before releasing any of it.
type pieceReader struct {
	p     Pointer
	get   func(int) ([]byte, error)
	next  int    // index of the next piece to get
	cur   []byte // unread bytes of the current piece
	whole hash.Hash
	read  uint64 // bytes released
}

func (r *pieceReader) Read(b []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next == len(r.p.Pieces) {
			return 0, io.EOF
		}
		piece, err := r.get(r.next)
		if err != nil {
			return 0, &PieceError{r.next, err}
		}
		if err := VerifyPiece(r.p, r.next, piece); err != nil {
			return 0, err
		}
		r.whole.Write(piece)
		r.cur = piece
		r.next++
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	r.read += uint64(n)
	return n, nil
}

// OpenLocal opens the copy at rest: f holds the padded ciphertext, pieces
// concatenated, exactly as downloaded. It first reads it through once
// without writing (every check of Open, the decryption included), then a
// second time to w, so that nothing is written to w from a file that would
// fail; only an f that changes between the passes can still make it fail
// half-way. It holds one piece at a time.
func OpenLocal(w io.Writer, p Pointer, f io.ReaderAt) error {
	if err := p.check(); err != nil {
		return err
	}
	var one [1]byte
	if n, _ := f.ReadAt(one[:], int64(p.PaddedSize)); n != 0 {
		return fmt.Errorf("%w: the local copy is longer than %d bytes", ErrPadding, p.PaddedSize)
	}
	offsets := make([]int64, len(p.Pieces))
	var off int64
	for i, pc := range p.Pieces {
		offsets[i] = off
		off += int64(pc.Size)
	}
	var buf []byte
	get := func(i int) ([]byte, error) {
		size := int(p.Pieces[i].Size)
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		n, err := f.ReadAt(buf, offsets[i])
		if n == size {
			return buf, nil
		}
		if errors.Is(err, io.EOF) {
			return buf[:n], nil // short: VerifyPiece says which piece
		}
		return nil, err
	}
	if err := Open(io.Discard, p, get); err != nil {
		return err
	}
	return Open(w, p, get)
}
