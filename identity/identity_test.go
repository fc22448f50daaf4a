package identity

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	"pgregory.net/rapid"
)

func mustSeed(t testing.TB, h string) Seed {
	t.Helper()
	var s Seed
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != SeedSize {
		t.Fatalf("bad seed hex %q", h)
	}
	copy(s[:], b)
	return s
}

// libsession-util tests/test_session_encrypt.cpp ("Session protocol
// encryption") publishes these two seed → Ed25519 pk → X25519 pk → Account ID
// chains, computed with libsodium.
func TestSeedVectorsLibsession(t *testing.T) {
	tests := []struct {
		name, seed, ed, id string
	}{
		{"libsession seed 1", "0123456789abcdef0123456789abcdef",
			"4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7",
			"05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"},
		{"libsession seed 2", "00112233445566778899aabbccddeeff",
			"5ea34e72bb044654a6a23675690ef5ffaaf1656b02f93fb76655f9cbdbe89876",
			"05aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := FromSeed(mustSeed(t, tt.seed))
			if got := a.Ed25519Public().String(); got != tt.ed {
				t.Errorf("ed25519 = %s, want %s", got, tt.ed)
			}
			if got := a.ID().String(); got != tt.id {
				t.Errorf("account ID = %s, want %s", got, tt.id)
			}
			// The X25519 private key must match the public half in the ID.
			if got := hex.EncodeToString(a.X25519().PublicKey().Bytes()); "05"+got != tt.id {
				t.Errorf("X25519 private key's public half = %s, want %s", got, tt.id[2:])
			}
		})
	}
}

// Real Session users' phrases → Account IDs, from two independent Session
// client libraries: the @session.js/mnemonic and @session.js/keypair test
// suites and session_py_client's test_mnemonic_to_session_id. Each was made by
// Session's own code, so passing them shows a Session phrase restores the same
// account here.
func TestPhraseToAccountIDVectors(t *testing.T) {
	tests := []struct{ name, phrase, id string }{
		{"session x13", strings.Repeat("session ", 13),
			"0512742fb4ac033a8a33f5776aa0e7e88f35f7af9f65dee31e57fbc7d6f8664b12"},
		{"love x13", strings.Repeat("love ", 13),
			"053db493811f729da20289e31498b8fe2b28edc90358cd3ec11a6b12ac1b9fb818"},
		{"puffin", "puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi",
			"054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69"},
		{"unknown", "unknown number jukebox pledge lipstick sieve tumbling federal womanly outbreak tapestry gorilla sieve",
			"05ab0badfc19ac18f71d7bb10d5ca5c92731aa301cc483169c691cf697b83e765a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParsePhrase(tt.phrase)
			if err != nil {
				t.Fatal(err)
			}
			if got := FromSeed(s).ID().String(); got != tt.id {
				t.Errorf("account ID = %s, want %s", got, tt.id)
			}
		})
	}
}

// testdata/phrase_vectors.json comes from testdata/gen_phrase_vectors.py, an
// independent Python implementation of the published algorithm; its "puffin"
// entry also matches the @session.js/mnemonic test suite.
func TestPhraseVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/phrase_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vecs []struct{ Seed, Phrase string }
	if err := json.Unmarshal(raw, &vecs); err != nil {
		t.Fatal(err)
	}
	if len(vecs) < 5 {
		t.Fatalf("only %d vectors", len(vecs))
	}
	for _, v := range vecs {
		t.Run(v.Seed, func(t *testing.T) {
			s := mustSeed(t, v.Seed)
			if got := Phrase(s); got != v.Phrase {
				t.Errorf("Phrase = %q, want %q", got, v.Phrase)
			}
			got, err := ParsePhrase(v.Phrase)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(s) {
				t.Errorf("ParsePhrase = %x, want %s", got, v.Seed)
			}
		})
	}
}

func TestParsePhraseLenient(t *testing.T) {
	const want = "39038c8988db02c1af44e8c847bd9713"
	tests := []struct{ name, phrase string }{
		{"upper case", "PUFFIN LUXURY ANNOYED RUSTLED MEMOIR FAXED SMIDGEN PUDDLE KIWI NYLON UTOPIA ZINGER KIWI"},
		{"extra whitespace", "  puffin\tluxury  annoyed\nrustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi \n"},
		{"prefixes only", "puf lux ann rus mem fax smi pud kiw nyl uto zin kiw"},
		{"misspelt tails", "puffinx luxuryy annoyd rustlee memoi faxxx smidge pudd kiwii nylo utop zing kiwo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParsePhrase(tt.phrase)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(s[:]) != want {
				t.Errorf("seed = %x, want %s", s, want)
			}
		})
	}
}

func TestParsePhraseErrors(t *testing.T) {
	good := strings.Fields("puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi")
	join := func(w []string) string { return strings.Join(w, " ") }
	replace := func(i int, w string) string {
		c := append([]string(nil), good...)
		c[i] = w
		return join(c)
	}
	tests := []struct {
		name, phrase string
		want         error
		mention      string
	}{
		{"empty", "", ErrTooFewWords, "got 0"},
		{"twelve words", join(good[:12]), ErrTooFewWords, "got 12"},
		{"fourteen words", join(append(append([]string(nil), good...), "kiwi")), ErrTooManyWords, "got 14"},
		{"unknown word", replace(4, "xylophone"), ErrUnknownWord, `"xylophone"`},
		{"too short word", replace(0, "pu"), ErrUnknownWord, `"pu"`},
		{"wrong checksum", replace(12, "puffin"), ErrBadChecksum, ""},
		{"swapped words", replace(1, "annoyed"), ErrBadChecksum, ""},
		// Indexes 1625, 1624, 1623 give x = n³-1 > 2³²-1: no seed encodes to this.
		{"no 32-bit group", "zoom zones zombie zoom zones zombie zoom zones zombie zoom zones zombie zoom", ErrBadPhrase, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePhrase(tt.phrase)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestPhraseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s Seed
		copy(s[:], rapid.SliceOfN(rapid.Byte(), SeedSize, SeedSize).Draw(t, "seed"))
		p := Phrase(s)
		if n := len(strings.Fields(p)); n != PhraseWords {
			t.Fatalf("%d words", n)
		}
		got, err := ParsePhrase(p)
		if err != nil {
			t.Fatalf("ParsePhrase(%q): %v", p, err)
		}
		if !got.Equal(s) {
			t.Fatalf("round trip %x → %q → %x", s, p, got)
		}
	})
}

func TestParseAccountID(t *testing.T) {
	good := "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
	lowOrder := []string{
		"00" + strings.Repeat("00", 31), // 0
		"01" + strings.Repeat("00", 31), // 1
		// The order-8 points (libsodium's blocklist, crypto_scalarmult/curve25519/ref10).
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
	}
	tests := []struct {
		name, in string
		want     error
	}{
		{"valid", good, nil},
		{"valid upper case", strings.ToUpper(good), nil},
		{"valid with spaces", "  " + good + "\n", nil},
		{"empty", "", ErrAccountIDLength},
		{"too short", good[:64], ErrAccountIDLength},
		{"too long", good + "00", ErrAccountIDLength},
		{"non-hex", "05" + strings.Repeat("zz", 32), ErrAccountIDHex},
		{"blinded prefix", "15" + good[2:], ErrAccountIDPrefix},
		{"group prefix", "03" + good[2:], ErrAccountIDPrefix},
		{"top bit set", "05" + good[2:64] + "ff", ErrNonCanonicalKey},
		{"p itself", "05edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", ErrNonCanonicalKey},
		{"p+1", "05eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", ErrNonCanonicalKey},
	}
	for i, lo := range lowOrder {
		tests = append(tests, struct {
			name, in string
			want     error
		}{"low order " + string(rune('a'+i)), "05" + lo, ErrLowOrderKey})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseAccountID(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && id.String() != good {
				t.Errorf("id = %s", id)
			}
			if err != nil && !id.IsZero() {
				t.Errorf("a rejected ID came back non-zero")
			}
		})
	}
}

func TestEd25519ToAccountID(t *testing.T) {
	a := FromSeed(mustSeed(t, "0123456789abcdef0123456789abcdef"))
	k, err := ParseEd25519PublicKey(a.Ed25519Public().String())
	if err != nil {
		t.Fatal(err)
	}
	id, err := k.AccountID()
	if err != nil || !id.Equal(a.ID()) {
		t.Fatalf("AccountID() = %v, %v", id, err)
	}
	bad := []struct{ name, in string }{
		{"short", "00"},
		{"not hex", strings.Repeat("zz", 32)},
		{"not a point", "02" + strings.Repeat("00", 30) + "80"}, // y=2 with x sign: no such point
		{"identity (small order)", "01" + strings.Repeat("00", 31)},
		// libsession's key plus a point of order 2 (0,-1): on the curve, not
		// small-order, but outside the prime-order subgroup.
		{"mixed order", mixedOrderKey(t)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseEd25519PublicKey(tt.in)
			if err == nil {
				_, err = k.AccountID()
			}
			if !errors.Is(err, ErrBadEd25519Key) {
				t.Fatalf("err = %v, want ErrBadEd25519Key", err)
			}
		})
	}
}

func TestAccountIDTextRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s Seed
		copy(s[:], rapid.SliceOfN(rapid.Byte(), SeedSize, SeedSize).Draw(t, "seed"))
		a := FromSeed(s)
		b, _ := json.Marshal(a.ID())
		var id AccountID
		if err := json.Unmarshal(b, &id); err != nil {
			t.Fatal(err)
		}
		if !id.Equal(a.ID()) {
			t.Fatalf("%s != %s", id, a.ID())
		}
		if _, err := id.X25519(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParsePhrase(f *testing.F) {
	f.Add("puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi")
	f.Add(strings.Repeat("session ", 13))
	f.Add("zoom zones zombie zoom zones zombie zoom zones zombie zoom zones zombie zoom")
	f.Add("")
	f.Fuzz(func(t *testing.T, phrase string) {
		s, err := ParsePhrase(phrase)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to a phrase with the same prefixes.
		again, err := ParsePhrase(Phrase(s))
		if err != nil || !again.Equal(s) {
			t.Fatalf("accepted %q but its seed does not round-trip: %v", phrase, err)
		}
	})
}

func FuzzParseAccountID(f *testing.F) {
	f.Add("05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72")
	f.Add("05" + strings.Repeat("00", 32))
	f.Add("15d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseAccountID(s)
		if err != nil {
			return
		}
		if id[0] != AccountPrefix {
			t.Fatalf("accepted prefix %02x", id[0])
		}
		if _, err := id.X25519(); err != nil {
			t.Fatalf("accepted unusable key: %v", err)
		}
		if again, err := ParseAccountID(id.String()); err != nil || again != id {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func mixedOrderKey(t *testing.T) string {
	a := FromSeed(mustSeed(t, "0123456789abcdef0123456789abcdef"))
	p, err := new(edwards25519.Point).SetBytes(a.Ed25519Public().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// (0, -1) has order 2: y = p-1 = ec ff .. 7f in little endian.
	t2, err := new(edwards25519.Point).SetBytes(append([]byte{0xec}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(p.Add(p, t2).Bytes())
}
