// Package backup is the format of a hush backup file: the whole local state
// of a home (key file, database, the small files beside them), encrypted
// under a backup passphrase that is independent of the home's own, so a
// home can be moved to another machine as the same device, or kept safe
// somewhere less trusted than the machine. What goes into a backup, and
// where it goes back, is the home's business (client.Home's Export and
// Import, which own the home's layout); this package is the format only.
//
// # The file, byte by byte
//
// All integers are big-endian.
//
//	offset  size  field
//	0       8     magic "HUSHBACK"
//	8       1     version, 1
//	9       4     Argon2id passes (time)
//	13      4     Argon2id memory, KiB
//	17      1     Argon2id lanes (threads)
//	18      16    salt, random per file
//	34      32    header MAC: HMAC-SHA256(Kh, bytes 0..33)
//	66      4     header checksum: CRC-32 (IEEE) of bytes 0..65
//	70      ...   payload: a STREAM of sealed chunks
//
// The backup passphrase and salt give a master key M = Argon2id(passphrase,
// salt, passes, memory, lanes, 32 bytes); Kh = HKDF-SHA256(M, info "hush/1
// backup header") authenticates the header and Kp = HKDF-SHA256(M, info
// "hush/1 backup payload") seals the payload. The salt makes both keys
// unique to the file, so chunk nonces can be a plain counter.
//
// The checksum only tells accidental damage from a wrong passphrase: a
// header whose checksum fails is reported as [ErrCorrupt], one whose
// checksum holds but whose MAC does not as [ErrWrongPassphrase]. Anyone can
// recompute a checksum, so a forger can at worst turn a "damaged" into a
// "wrong passphrase" message; the MAC and the chunks' AEAD are what protect
// the content. A header with another version is [ErrUnsupportedVersion],
// read before anything else so a later version may change the layout.
//
// # The payload
//
// The plaintext is cut into chunks of [ChunkSize] (64 KiB) bytes; every
// chunk but the last is full, and the last holds 1 to 64 KiB (it may be
// empty only when it is also the first). Chunk i is sealed with
// XChaCha20-Poly1305 under Kp (crypto/stream) with the 24-byte nonce
//
//	15 zero bytes ‖ uint64 i ‖ flag (0x01 for the last chunk, else 0x00)
//
// and no associated data, and is stored as its 64 KiB + 16 bytes of
// ciphertext and tag. This is the STREAM construction of Hoang, Reyhanitabar,
// Rogaway and Vizár, as age uses it (FiloSottile/age internal/stream): the
// counter in the nonce rejects reordered, repeated or dropped chunks, and
// the last-chunk flag rejects a file cut at a chunk boundary. Bytes after
// the last chunk are refused. A chunk that fails to open is [ErrCorrupt]:
// the header MAC has already shown the key is right.
//
// The plaintext is an archive of entries, each
//
//	1 kind ‖ 1 name length n (≤ 64) ‖ n name bytes ‖ 8 size ‖ size bytes of content
//
// ending with an end entry (kind 0, empty name, size 0) that must be the
// last bytes of the payload. Kinds:
//
//   - 1, keys (no name): a random 32-byte transport key ‖ the home's key
//     file (internal/keystore's account.json) re-wrapped under that
//     transport key as its passphrase, with cheap KDF parameters (the key
//     is random, so the KDF adds nothing). This is how the account seed and
//     the database key travel: the importer opens the key file with the
//     transport key and re-wraps both under the new home's passphrase with
//     keystore.ChangePassphrase. Carrying keystore's own file keeps its
//     format in keystore, and keystore has no way to write a chosen
//     database key into a fresh file.
//   - 2, database (no name): a consistent copy of the home's database
//     (internal/clientdb Backup, a VACUUM INTO with the WAL folded in).
//     clientdb seals every secret column under the database key, so its
//     content is encrypted twice here; the database key must travel too,
//     because the database is useless without it and it is random, not
//     derived from the recovery phrase.
//   - 3, file (named): a small file of the home, restored under its name
//     (the client's home layout lists them).
//
// The keys entry comes first, then files, then the database; each of keys
// and database appears exactly once and file names at most once.
//
// # What is, and is not, in a backup
//
// In: the key file's secrets (seed, database key), the database (contacts,
// conversations, messages, outbox, cursors, seen hashes, tombstones, known
// devices, settings), paths.json (the guards, kept so moving a home does
// not pick new guards and meet more relays) and snapshot.json (the newest
// verified registry snapshot, whose epoch is the floor against rollback).
// Out: the database's -wal and -shm files (folded into the copy), temporary
// files, and anything else in the directory. The home has no device
// identity file: the device lives in the database, so an import restores
// the same device (DESIGN.md §5).
package backup

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"golang.org/x/crypto/argon2"

	"github.com/hushnet/hush/crypto/stream"
	"github.com/hushnet/hush/internal/keystore"
)

// ChunkSize is the plaintext size of every payload chunk but the last.
const ChunkSize = stream.ChunkSize

// Errors returned by this package.
var (
	// ErrWrongPassphrase: the backup passphrase does not open the file's
	// header (whose checksum is intact).
	ErrWrongPassphrase = errors.New("wrong backup passphrase")
	// ErrCorrupt: the file is not a hush backup, or it was damaged,
	// truncated or tampered with.
	ErrCorrupt = errors.New("backup file is damaged or was tampered with")
	// ErrUnsupportedVersion: the file is a hush backup of another version.
	ErrUnsupportedVersion = errors.New("unsupported backup version")
	// ErrEmptyPassphrase: the backup passphrase is empty.
	ErrEmptyPassphrase = errors.New("the backup passphrase must not be empty")
)

const (
	magic      = "HUSHBACK"
	version    = 1
	saltSize   = 16
	headerSize = 70
	macOffset  = 34
	crcOffset  = 66

	infoHeader  = "hush/1 backup header"
	infoPayload = "hush/1 backup payload"
)

// DefaultParams are the Argon2id parameters of new backups: t=3 over
// 256 MiB with 2 lanes, about a second here. Heavier than the home's
// (keystore.DefaultParams) because a backup is made rarely and is likely to
// be stored somewhere an attacker can copy it and guess offline.
var DefaultParams = keystore.Params{Time: 3, MemoryKiB: 256 * 1024, Threads: 2}

// checkParams bounds the KDF parameters a header may ask for: a damaged or
// hostile file must not make the reader allocate gigabytes or spin for
// minutes before the MAC can fail: at most 1 GiB (four times the default)
// and 64 passes.
func checkParams(p keystore.Params) error {
	if p.Time < 1 || p.Time > 64 || p.Threads < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 1<<20 {
		return fmt.Errorf("%w: bad KDF parameters %+v", ErrCorrupt, p)
	}
	return nil
}

type keys struct {
	header, payload []byte
}

func deriveKeys(passphrase, salt []byte, p keystore.Params) keys {
	m := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	kh, _ := hkdf.Key(sha256.New, m, nil, infoHeader, 32) // 32 bytes never exceed HKDF's limit
	kp, _ := hkdf.Key(sha256.New, m, nil, infoPayload, 32)
	return keys{header: kh, payload: kp}
}

func headerMAC(key, fields []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(fields)
	return h.Sum(nil)
}

// Kind is the kind of an archive entry.
type Kind uint8

// Entry kinds; see the package doc.
const (
	KindEnd      Kind = 0
	KindKeys     Kind = 1
	KindDatabase Kind = 2
	KindFile     Kind = 3
)

// Entry heads one archive entry.
type Entry struct {
	Kind Kind
	Name string // KindFile only
	Size int64
}

const (
	maxName       = 64
	entryHeadSize = 1 + 1 + 8
	maxEntrySize  = 1 << 40 // a bound for the parser, far beyond any real database
	maxKeysSize   = 64 << 10
	maxFileSize   = 16 << 20
)

// TransportKeySize is the length of the random transport key at the start
// of the keys entry.
const TransportKeySize = 32

// validName accepts the plain file names a home holds: no separators, no
// "." or "..", nothing hidden.
func validName(s string) bool {
	if s == "" || len(s) > maxName || s[0] == '.' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (e Entry) check() error {
	switch e.Kind {
	case KindKeys, KindDatabase:
		if e.Name != "" {
			return fmt.Errorf("%w: entry %d has a name", ErrCorrupt, e.Kind)
		}
	case KindFile:
		if !validName(e.Name) {
			return fmt.Errorf("%w: bad file name %q", ErrCorrupt, e.Name)
		}
	default:
		return fmt.Errorf("%w: unknown entry kind %d", ErrCorrupt, e.Kind)
	}
	if e.Size < 0 || e.Size > maxEntrySize ||
		e.Kind == KindKeys && e.Size > maxKeysSize || e.Kind == KindFile && e.Size > maxFileSize {
		return fmt.Errorf("%w: entry size %d out of range", ErrCorrupt, e.Size)
	}
	return nil
}

// Writer writes a backup file. Add entries in the order the package doc
// gives, then Close; nothing written is a valid backup before Close.
type Writer struct {
	s      io.WriteCloser
	closed bool
}

// NewWriter writes a backup header sealed under passphrase to w.
func NewWriter(w io.Writer, passphrase []byte, p keystore.Params) (*Writer, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := checkParams(p); err != nil {
		return nil, err
	}
	hdr := make([]byte, 0, headerSize)
	hdr = append(hdr, magic...)
	hdr = append(hdr, version)
	hdr = binary.BigEndian.AppendUint32(hdr, p.Time)
	hdr = binary.BigEndian.AppendUint32(hdr, p.MemoryKiB)
	hdr = append(hdr, p.Threads)
	salt := make([]byte, saltSize)
	rand.Read(salt)
	hdr = append(hdr, salt...)
	k := deriveKeys(passphrase, salt, p)
	hdr = append(hdr, headerMAC(k.header, hdr)...)
	hdr = binary.BigEndian.AppendUint32(hdr, crc32.ChecksumIEEE(hdr))
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &Writer{s: stream.NewWriter(w, k.payload)}, nil
}

// Add writes one entry whose content, exactly e.Size bytes, comes from r.
func (w *Writer) Add(e Entry, r io.Reader) error {
	if w.closed {
		return errors.New("backup: add after close")
	}
	if err := e.check(); err != nil {
		return err
	}
	head := make([]byte, 0, entryHeadSize+len(e.Name))
	head = append(head, byte(e.Kind), byte(len(e.Name)))
	head = append(head, e.Name...)
	head = binary.BigEndian.AppendUint64(head, uint64(e.Size))
	if _, err := w.s.Write(head); err != nil {
		return err
	}
	n, err := io.Copy(w.s, io.LimitReader(r, e.Size))
	if err != nil {
		return err
	}
	if n != e.Size {
		return fmt.Errorf("backup: entry %q: %d bytes, announced %d", e.Name, n, e.Size)
	}
	return nil
}

// Close writes the end entry and the last chunk. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if _, err := w.s.Write(make([]byte, entryHeadSize)); err != nil {
		return err
	}
	return w.s.Close()
}

// Reader reads a backup file. Content is released chunk by chunk as each
// chunk authenticates, but a file cut short is only known to be whole when
// [Reader.Next] returns io.EOF: treat nothing read as final before that.
type Reader struct {
	s    io.Reader
	left int64 // unread bytes of the current entry
	done bool
}

// NewReader reads and checks the header of a backup file. It returns
// [ErrWrongPassphrase], [ErrCorrupt] or [ErrUnsupportedVersion].
func NewReader(r io.Reader, passphrase []byte) (*Reader, error) {
	hdr := make([]byte, headerSize)
	n, err := io.ReadFull(r, hdr)
	if n < len(magic)+1 || !bytes.Equal(hdr[:len(magic)], []byte(magic)) {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: not a hush backup file", ErrCorrupt)
	}
	if hdr[len(magic)] != version {
		return nil, fmt.Errorf("%w: version %d (this hush reads version %d)", ErrUnsupportedVersion, hdr[len(magic)], version)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: header cut short", ErrCorrupt)
		}
		return nil, err
	}
	if crc32.ChecksumIEEE(hdr[:crcOffset]) != binary.BigEndian.Uint32(hdr[crcOffset:]) {
		return nil, fmt.Errorf("%w: header checksum", ErrCorrupt)
	}
	p := keystore.Params{
		Time:      binary.BigEndian.Uint32(hdr[9:]),
		MemoryKiB: binary.BigEndian.Uint32(hdr[13:]),
		Threads:   hdr[17],
	}
	if err := checkParams(p); err != nil {
		return nil, err
	}
	k := deriveKeys(passphrase, hdr[18:18+saltSize], p)
	if !hmac.Equal(headerMAC(k.header, hdr[:macOffset]), hdr[macOffset:crcOffset]) {
		return nil, ErrWrongPassphrase
	}
	return &Reader{s: payloadReader{stream.NewReader(r, k.payload)}}, nil
}

// Next skips what is left of the current entry and returns the next one.
// After the end entry it checks that the payload ends there, and returns
// io.EOF: only then is the whole file known to be authentic.
func (r *Reader) Next() (Entry, error) {
	if r.done {
		return Entry{}, io.EOF
	}
	if r.left > 0 {
		if _, err := io.CopyN(io.Discard, r, r.left); err != nil {
			return Entry{}, err
		}
	}
	head := make([]byte, 2)
	if err := r.readFull(head); err != nil {
		return Entry{}, err
	}
	e := Entry{Kind: Kind(head[0])}
	if head[1] > maxName {
		return Entry{}, fmt.Errorf("%w: name too long", ErrCorrupt)
	}
	rest := make([]byte, int(head[1])+8)
	if err := r.readFull(rest); err != nil {
		return Entry{}, err
	}
	e.Name = string(rest[:head[1]])
	size := binary.BigEndian.Uint64(rest[head[1]:])
	if size > maxEntrySize {
		return Entry{}, fmt.Errorf("%w: entry size %d out of range", ErrCorrupt, size)
	}
	e.Size = int64(size)
	if e.Kind == KindEnd {
		if e.Name != "" || e.Size != 0 {
			return Entry{}, fmt.Errorf("%w: bad end entry", ErrCorrupt)
		}
		// The end entry must be the last plaintext, in the last chunk.
		var one [1]byte
		if n, err := r.s.Read(one[:]); n != 0 || err != io.EOF {
			if err != nil && err != io.EOF {
				return Entry{}, err
			}
			return Entry{}, fmt.Errorf("%w: data after the end entry", ErrCorrupt)
		}
		r.done = true
		return Entry{}, io.EOF
	}
	if err := e.check(); err != nil {
		return Entry{}, err
	}
	r.left = e.Size
	return e, nil
}

// readFull reads an entry head; the payload ending inside it is damage.
func (r *Reader) readFull(b []byte) error {
	_, err := io.ReadFull(r.s, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: archive ends without its end entry", ErrCorrupt)
	}
	return err
}

// Read reads the current entry's content; it returns io.EOF at the
// entry's end.
func (r *Reader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.s.Read(p)
	r.left -= int64(n)
	if errors.Is(err, io.EOF) && r.left > 0 {
		return n, fmt.Errorf("%w: archive ends inside an entry", ErrCorrupt)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// payloadReader reports the stream's damage as this package's ErrCorrupt,
// keeping the stream's own error (truncated or corrupt) in the chain.
type payloadReader struct{ r io.Reader }

func (p payloadReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if errors.Is(err, stream.ErrTruncated) || errors.Is(err, stream.ErrCorrupt) {
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return n, err
}
