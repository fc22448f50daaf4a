package group

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// seeds adds every vector and tampered vector as a seed.
func seeds(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		f.Fatal(err)
	}
	for _, v := range vf.Vectors {
		b, _ := hex.DecodeString(v.Hex)
		f.Add(b)
	}
	for _, v := range vf.Tampered {
		b, _ := hex.DecodeString(v.Hex)
		f.Add(b)
	}
}

// ours fails unless err is nil or one of this package's errors.
func ours(t *testing.T, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	for _, s := range []error{ErrMalformed, ErrBadSignature, ErrWrongGroup, ErrTooManyMembers, ErrDecrypt, ErrBadID} {
		if errors.Is(err, s) {
			return false
		}
	}
	t.Fatalf("unexpected error %v", err)
	return false
}

// fuzz runs parse on a copy-checked input.
func fuzz(f *testing.F, parse func(t *testing.T, b []byte)) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := slices.Clone(b)
		parse(t, b)
		if !bytes.Equal(in, b) {
			t.Fatal("the parser modified its input")
		}
	})
}

func FuzzParseID(f *testing.F) {
	fuzz(f, func(t *testing.T, b []byte) {
		id, err := IDFromBytes(b)
		if ours(t, err) && !bytes.Equal(id[:], b) {
			t.Fatal("accepted ID differs from its bytes")
		}
		if _, err := ParseID(string(b)); err != nil && !errors.Is(err, ErrBadID) {
			t.Fatal(err)
		}
	})
}

func FuzzParseToken(f *testing.F) {
	fuzz(f, func(t *testing.T, b []byte) {
		tok, err := ParseToken(b)
		if ours(t, err) && !bytes.Equal(tok.Marshal(), b) {
			t.Fatal("accepted token does not re-encode to its bytes")
		}
	})
}

func FuzzParseCredential(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		c, err := ParseCredential(b)
		if !ours(t, err) {
			return
		}
		if !bytes.Equal(c.Marshal(), b) {
			t.Fatal("accepted credential does not re-encode to its bytes")
		}
		ours(t, c.Verify(a.Group()))
	})
}

func FuzzParseObject(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		o, err := ParseObject(b, a.Group())
		if ours(t, err) && !bytes.Equal(o.Marshal(), b) {
			t.Fatal("accepted object does not re-encode to its bytes")
		}
	})
}

func FuzzParseRevocations(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		r, err := ParseRevocations(b, a.Group())
		if !ours(t, err) {
			return
		}
		o, _ := ParseObject(b, a.Group())
		if !bytes.Equal(revocationBody(r.Revoked), o.Body) || r.Version != o.Version {
			t.Fatal("accepted list does not re-encode to its bytes")
		}
	})
}

func FuzzParseKeyMessage(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		m, err := ParseKeyMessage(b, a.Group())
		if !ours(t, err) {
			return
		}
		o, _ := ParseObject(b, a.Group())
		if !bytes.Equal(m.body(), o.Body) {
			t.Fatal("accepted key message does not re-encode to its bytes")
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		c, err := ParseConfig(b, a.Group())
		if !ours(t, err) {
			return
		}
		p, err := c.Open(vecKey)
		if !ours(t, err) {
			return
		}
		if c.Kind == KindInfo {
			_, err = ParseInfo(p)
		} else {
			_, err = ParseMembers(p)
		}
		ours(t, err)
	})
}

func FuzzParseInfo(f *testing.F) {
	fuzz(f, func(t *testing.T, b []byte) {
		i, err := ParseInfo(b)
		if !ours(t, err) {
			return
		}
		again, err := i.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted info does not re-encode to its bytes: %v", err)
		}
	})
}

func FuzzParseMembers(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		m, err := ParseMembers(b)
		if !ours(t, err) {
			return
		}
		again, err := m.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted members do not re-encode to their bytes: %v", err)
		}
		_, err = OpenAdminSection(a, m.AdminSection)
		ours(t, err)
	})
}

func FuzzOpenAdminSection(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		_, err := OpenAdminSection(a, b)
		ours(t, err)
	})
}

func FuzzParseGrant(f *testing.F) {
	fuzz(f, func(t *testing.T, b []byte) {
		g, err := ParseGrant(b)
		if ours(t, err) && !bytes.Equal(g.Marshal(), b) {
			t.Fatal("accepted grant does not re-encode to its bytes")
		}
	})
}

func FuzzOpenMessage(f *testing.F) {
	a, _ := vectorAdmin(f)
	fuzz(f, func(t *testing.T, b []byte) {
		_, _, err := PeekKey(b)
		ours(t, err)
		_, err = OpenMessage(a.Group(), vecKey, b)
		ours(t, err)
	})
}

func FuzzParseInvite(f *testing.F) {
	fuzz(f, func(t *testing.T, b []byte) {
		v, err := ParseInvite(b)
		if !ours(t, err) {
			return
		}
		again, err := v.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted invite does not re-encode to its bytes: %v", err)
		}
	})
}

// FuzzSplitWriter: SplitWriter never panics, and what it accepts is
// rebuilt exactly by WithWriter.
func FuzzSplitWriter(f *testing.F) {
	f.Add(make([]byte, WriterSize+1))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, m, err := SplitWriter(b)
		if err != nil {
			return
		}
		if got := WithWriter(w, m); string(got) != string(b) {
			t.Fatalf("round trip: %x, want %x", got, b)
		}
	})
}
