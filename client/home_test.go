package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/backup"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/keystore"
)

// newBackupHome makes a home with a contact, a conversation and a paths file.
func newBackupHome(t *testing.T) (string, *keystore.Secrets) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	sec, err := keystore.Create(filepath.Join(home, keyFile), identity.NewSeed(), []byte("home-pw"), keystore.TestParams, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := clientdb.Open(filepath.Join(home, dbFile), sec.DBKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	peer := identity.NewAccount().ID()
	now := time.UnixMilli(1_700_000_000_000).UTC()
	if err := db.UpsertContact(clientdb.Contact{Account: peer, Nickname: "bob", Accepted: true}, now); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := clientdb.Message{Direction: clientdb.Incoming, Sender: peer, SentAt: now.Add(time.Duration(i) * time.Second),
			ReceivedAt: now.Add(time.Minute), Body: "hello " + string(rune('a'+i))}
		m.MessageID[0] = byte(i + 1)
		if _, _, err := db.InsertMessage(peer, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(home, "paths.json"), []byte(`{"guards":["x"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return home, sec
}

// dump is what a home's database says, for comparison.
func dump(t *testing.T, home string, key [32]byte) any {
	t.Helper()
	db, err := clientdb.Open(filepath.Join(home, dbFile), key)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Contacts()
	if err != nil {
		t.Fatal(err)
	}
	convs, err := db.Conversations()
	if err != nil {
		t.Fatal(err)
	}
	var msgs []clientdb.Message
	for _, cv := range convs {
		ms, err := db.Messages(cv.ID, clientdb.Page{})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, ms...)
	}
	return []any{cs, convs, msgs}
}

func exportHome(t *testing.T, home string) []byte {
	t.Helper()
	var buf bytes.Buffer
	sum, err := (&Home{dir: home}).Export(context.Background(), &buf, []byte("home-pw"), []byte("backup-pw"), InsecureTestKDF())
	if err != nil {
		t.Fatal(err)
	}
	if sum.DatabaseBytes == 0 || !reflect.DeepEqual(sum.Files, []string{"paths.json"}) {
		t.Fatalf("summary %+v", sum)
	}
	return buf.Bytes()
}

func TestHomeExportImport(t *testing.T) {
	home, sec := newBackupHome(t)
	b := exportHome(t, home)
	if bytes.Contains(b, []byte("hello")) || bytes.Contains(b, []byte("guards")) || bytes.Contains(b, []byte(sec.Account.ID().String())) {
		t.Fatal("the backup holds plaintext")
	}

	dest := filepath.Join(t.TempDir(), "new", "home")
	sum, err := (&Home{dir: dest}).Import(bytes.NewReader(b), []byte("backup-pw"), []byte("new-pw"), InsecureTestKDF())
	if err != nil {
		t.Fatal(err)
	}
	if !sum.AccountID.Equal(sec.Account.ID()) {
		t.Fatalf("restored %s, want %s", sum.AccountID, sec.Account.ID())
	}
	if _, err := keystore.Open(filepath.Join(dest, keyFile), []byte("home-pw")); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Fatalf("the old home passphrase opens the new home: %v", err)
	}
	got, err := keystore.Open(filepath.Join(dest, keyFile), []byte("new-pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Account.Seed().Equal(sec.Account.Seed()) || got.DBKey != sec.DBKey {
		t.Fatal("the secrets changed")
	}
	if a, b := dump(t, home, sec.DBKey), dump(t, dest, got.DBKey); !reflect.DeepEqual(a, b) {
		t.Fatalf("databases differ:\n%v\n%v", a, b)
	}
	if p, _ := os.ReadFile(filepath.Join(dest, "paths.json")); string(p) != `{"guards":["x"]}` {
		t.Fatalf("paths.json = %q", p)
	}
	for _, p := range []string{dest, filepath.Join(dest, keyFile), filepath.Join(dest, dbFile), filepath.Join(dest, "paths.json")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(home, ".backup-*")); len(left) != 0 {
		t.Fatalf("export left %v", left)
	}
}

func TestHomeImportRefusals(t *testing.T) {
	home, sec := newBackupHome(t)
	b := exportHome(t, home)
	tampered := bytes.Clone(b)
	tampered[len(tampered)-20] ^= 1
	dir := t.TempDir()

	// Each refusal leaves no home and nothing beside it.
	tests := []struct {
		name string
		file []byte
		pass string
		want error
	}{
		{"wrong backup passphrase", b, "nope", backup.ErrWrongPassphrase},
		{"tampered", tampered, "backup-pw", backup.ErrCorrupt},
		{"truncated", b[:len(b)-1], "backup-pw", backup.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(dir, "dest")
			if _, err := (&Home{dir: dest}).Import(bytes.NewReader(tt.file), []byte(tt.pass), []byte("pw"), InsecureTestKDF()); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("left behind: %v", ents)
			}
		})
	}

	// A home in use is refused, and kept, unless forced.
	if _, err := (&Home{dir: home}).Import(bytes.NewReader(b), []byte("backup-pw"), []byte("pw"), InsecureTestKDF()); !errors.Is(err, ErrHomeNotEmpty) {
		t.Fatalf("non-empty home: %v", err)
	}
	if _, err := keystore.Open(filepath.Join(home, keyFile), []byte("home-pw")); err != nil {
		t.Fatalf("refused import touched the home: %v", err)
	}
	if _, err := (&Home{dir: home}).Import(bytes.NewReader(tampered), []byte("backup-pw"), []byte("pw"), InsecureTestKDF(), ReplaceHome()); !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("forced tampered import: %v", err)
	}
	if _, err := keystore.Open(filepath.Join(home, keyFile), []byte("home-pw")); err != nil {
		t.Fatalf("failed forced import touched the home: %v", err)
	}
	// force never replaces a directory that holds more than a home.
	os.WriteFile(filepath.Join(home, "notes.txt"), nil, 0o600)
	if _, err := (&Home{dir: home}).Import(bytes.NewReader(b), []byte("backup-pw"), []byte("pw"), InsecureTestKDF(), ReplaceHome()); !errors.Is(err, ErrHomeNotEmpty) {
		t.Fatalf("forced over a foreign file: %v", err)
	}
	os.Remove(filepath.Join(home, "notes.txt"))
	if _, err := (&Home{dir: home}).Import(bytes.NewReader(b), []byte("backup-pw"), []byte("pw2"), InsecureTestKDF(), ReplaceHome()); err != nil {
		t.Fatal(err)
	}
	if got, err := keystore.Open(filepath.Join(home, keyFile), []byte("pw2")); err != nil || got.DBKey != sec.DBKey {
		t.Fatalf("forced import: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(home)); len(ents) != 1 {
		t.Fatalf("left beside the home: %v", ents)
	}

	// An existing empty directory is a fresh home.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := (&Home{dir: empty}).Import(bytes.NewReader(b), []byte("backup-pw"), []byte("pw"), InsecureTestKDF()); err != nil {
		t.Fatalf("empty directory: %v", err)
	}

	// A wrong home passphrase at export writes nothing.
	var buf bytes.Buffer
	if _, err := (&Home{dir: home}).Export(context.Background(), &buf, []byte("nope"), []byte("x"), InsecureTestKDF()); !errors.Is(err, keystore.ErrWrongPassphrase) || buf.Len() != 0 {
		t.Fatalf("export with a wrong passphrase: %v, %d bytes", err, buf.Len())
	}
}

// TestHomeLifecycle walks a home through create, unlock, passphrase
// change, restore and wipe, with the errors a caller tells apart.
func TestHomeLifecycle(t *testing.T) {
	dir := t.TempDir()
	h, err := NewHome(filepath.Join(dir, "home"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.AccountID(); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("empty home: %v", err)
	}
	id, phrase, err := h.Create([]byte("pw"), InsecureTestKDF())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.AccountID(); err != nil || got != id {
		t.Fatalf("AccountID = %v, %v; want %v", got, err, id)
	}
	if _, _, err := h.Create([]byte("pw"), InsecureTestKDF()); !errors.Is(err, ErrAccountExists) {
		t.Fatalf("second create: %v", err)
	}
	if _, err := h.Unlock([]byte("nope")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if err := h.ChangePassphrase([]byte("pw"), nil, InsecureTestKDF()); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty new passphrase: %v", err)
	}
	if err := h.ChangePassphrase([]byte("pw"), []byte("pw2"), InsecureTestKDF()); err != nil {
		t.Fatal(err)
	}
	acct, err := h.Unlock([]byte("pw2"))
	if err != nil || acct.ID() != id {
		t.Fatalf("unlock after change: %v", err)
	}

	// The phrase restores the same account in another home, as a device
	// of its own.
	h2, _ := NewHome(filepath.Join(dir, "restored"))
	if got, err := h2.Restore(phrase, []byte("pw"), InsecureTestKDF()); err != nil || got != id {
		t.Fatalf("restore = %v, %v; want %v", got, err, id)
	}

	// Wipe removes hush's files, the media and avatar folders among them,
	// and leaves others (and so the folder).
	if err := os.WriteFile(filepath.Join(h.Dir(), "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{mediaDir, avatarDir} {
		if err := os.MkdirAll(filepath.Join(h.Dir(), d), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.Dir(), d, "f"), []byte("sealed"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	left, err := h.Wipe()
	if err != nil || !reflect.DeepEqual(left, []string{"notes.txt"}) {
		t.Fatalf("wipe left %v, %v", left, err)
	}
	if _, err := h.AccountID(); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("after wipe: %v", err)
	}
	if left, err := h2.Wipe(); err != nil || len(left) != 0 {
		t.Fatalf("wipe left %v, %v", left, err)
	}
	if _, err := os.Stat(h2.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an emptied home stays: %v", err)
	}
}
