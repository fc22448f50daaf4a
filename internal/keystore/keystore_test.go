package keystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hushnet/hush/identity"
)

func TestCreateOpen(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	seed := identity.NewSeed()
	s, err := Create(keyPath(home), seed, []byte("correct horse"), TestParams, false)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{home: 0o700, keyPath(home): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	got, err := Open(keyPath(home), []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Account.Seed().Equal(seed) || got.DBKey != s.DBKey {
		t.Fatal("secrets differ after reopening")
	}
	id, err := ReadAccountID(keyPath(home))
	if err != nil || !id.Equal(s.Account.ID()) {
		t.Fatalf("ReadAccountID = %v, %v", id, err)
	}
	raw, _ := os.ReadFile(keyPath(home))
	if bytes.Contains(raw, seed[:]) || bytes.Contains(raw, []byte(identity.Phrase(seed)[:10])) {
		t.Fatal("key file holds the seed in the clear")
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if _, err := Create(keyPath(home), identity.NewSeed(), []byte("pw"), TestParams, false); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(keyPath(home))

	damaged := filepath.Join(dir, "damaged")
	os.MkdirAll(damaged, 0o700)
	var f map[string]any
	json.Unmarshal(before, &f)
	f["sealed_db_key"] = "AAAA"
	raw, _ := json.Marshal(f)
	os.WriteFile(keyPath(damaged), raw, 0o600)

	swapped := filepath.Join(dir, "swapped")
	os.MkdirAll(swapped, 0o700)
	other := identity.NewAccount().ID()
	json.Unmarshal(before, &f)
	f["account_id"] = other.String()
	raw, _ = json.Marshal(f)
	os.WriteFile(keyPath(swapped), raw, 0o600)

	garbage := filepath.Join(dir, "garbage")
	os.MkdirAll(garbage, 0o700)
	os.WriteFile(keyPath(garbage), []byte("{not json"), 0o600)

	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"wrong passphrase", func() error { _, err := Open(keyPath(home), []byte("nope")); return err }, ErrWrongPassphrase},
		{"empty passphrase on create", func() error {
			_, err := Create(keyPath(filepath.Join(dir, "x")), identity.NewSeed(), nil, TestParams, false)
			return err
		}, ErrEmptyPassphrase},
		{"existing account", func() error {
			_, err := Create(keyPath(home), identity.NewSeed(), []byte("pw"), TestParams, false)
			return err
		}, ErrExists},
		{"no account", func() error { _, err := Open(keyPath(filepath.Join(dir, "none")), []byte("pw")); return err }, ErrNoAccount},
		{"no account id", func() error { _, err := ReadAccountID(keyPath(filepath.Join(dir, "none"))); return err }, ErrNoAccount},
		{"damaged blob", func() error { _, err := Open(keyPath(damaged), []byte("pw")); return err }, ErrCorrupt},
		// The Account ID is associated data of the wrap: editing it makes the
		// passphrase check fail rather than hand out another account's keys.
		{"edited account id", func() error { _, err := Open(keyPath(swapped), []byte("pw")); return err }, ErrWrongPassphrase},
		{"not json", func() error { _, err := Open(keyPath(garbage), []byte("pw")); return err }, ErrCorrupt},
		{"wrong old passphrase on change", func() error { return ChangePassphrase(keyPath(home), []byte("nope"), []byte("new"), TestParams) }, ErrWrongPassphrase},
		{"empty new passphrase", func() error { return ChangePassphrase(keyPath(home), []byte("pw"), nil, TestParams) }, ErrEmptyPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	after, _ := os.ReadFile(keyPath(home))
	if !bytes.Equal(before, after) {
		t.Fatal("a failed operation changed the key file")
	}
}

func TestChangePassphrase(t *testing.T) {
	home := t.TempDir()
	s, err := Create(keyPath(home), identity.NewSeed(), []byte("old"), TestParams, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := ChangePassphrase(keyPath(home), []byte("old"), []byte("new"), TestParams); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(keyPath(home), []byte("old")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase still opens: %v", err)
	}
	got, err := Open(keyPath(home), []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Account.Seed().Equal(s.Account.Seed()) || got.DBKey != s.DBKey {
		t.Fatal("secrets changed with the passphrase")
	}
	leftovers, _ := filepath.Glob(filepath.Join(home, ".tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestForceOverwrite(t *testing.T) {
	home := t.TempDir()
	Create(keyPath(home), identity.NewSeed(), []byte("pw"), TestParams, false)
	seed := identity.NewSeed()
	if _, err := Create(keyPath(home), seed, []byte("pw2"), TestParams, true); err != nil {
		t.Fatal(err)
	}
	got, err := Open(keyPath(home), []byte("pw2"))
	if err != nil || !got.Account.Seed().Equal(seed) {
		t.Fatalf("forced create did not replace the account: %v", err)
	}
}

func BenchmarkOpenDefaultParams(b *testing.B) {
	home := b.TempDir()
	if _, err := Create(keyPath(home), identity.NewSeed(), []byte("pw"), DefaultParams, false); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Open(keyPath(home), []byte("pw")); err != nil {
			b.Fatal(err)
		}
	}
}

// keyPath is where the tests keep a home's key file.
func keyPath(home string) string { return filepath.Join(home, "account.json") }
