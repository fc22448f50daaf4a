package strictjson

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

type inner struct {
	X int `json:"x"`
}

type embedded struct {
	Pubkey *string `json:"pubkey"`
}

type target struct {
	embedded
	Method *string          `json:"method"`
	N      *int32           `json:"n"`
	List   []inner          `json:"list"`
	Raw    json.RawMessage  `json:"raw"`
	Map    map[string]inner `json:"map"`
	Skip   string           `json:"-"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantErr  error
		wantPath string // the *Error's Path
	}{
		{"ok", `{"method":"info","n":3,"pubkey":"05"}`, nil, ""},
		{"whitespace around", " \n{\"method\":\"info\"}\t ", nil, ""},
		{"raw keeps anything", `{"raw":{"Any":1,"any":[1,{"a":1}]}}`, nil, ""},
		{"nested ok", `{"list":[{"x":1},{"x":2}],"map":{"k":{"x":1}}}`, nil, ""},
		{"trailing garbage", `{"method":"info"}xyz`, ErrTrailing, ""},
		{"trailing second object", `{"method":"info"}{}`, ErrTrailing, ""},
		{"trailing comma", `{"method":"info"},`, ErrTrailing, ""},
		{"duplicate key", `{"method":"info","method":"store"}`, ErrDuplicateKey, "method"},
		{"duplicate in raw", `{"raw":{"a":1,"a":2}}`, ErrDuplicateKey, "raw.a"},
		{"duplicate in array element", `{"list":[{"x":1},{"x":1,"x":2}]}`, ErrDuplicateKey, "list[1].x"},
		{"case folded key", `{"Method":"info"}`, ErrUnknownKey, "Method"},
		{"kelvin sign fold", `{"n":1,"pubkeK":"x"}`, ErrUnknownKey, "pubkeK"},
		{"unknown key", `{"nope":1}`, ErrUnknownKey, "nope"},
		{"unknown nested key", `{"list":[{"y":1}]}`, ErrUnknownKey, "list[0].y"},
		{"unknown key in map value", `{"map":{"k":{"X":1}}}`, ErrUnknownKey, "map.k.X"},
		{"skipped field is unknown", `{"Skip":"a"}`, ErrUnknownKey, "Skip"},
		{"go field name refused", `{"Method":"x","embedded":{}}`, ErrUnknownKey, "Method"},
		{"wrong type", `{"n":"3"}`, ErrType, "n"},
		{"out of range", `{"n":4294967296}`, ErrType, "n"},
		{"fraction", `{"n":1.5}`, ErrType, "n"},
		{"embedded field type named by wire key", `{"pubkey":5}`, ErrType, "pubkey"},
		{"nested type", `{"list":[{"x":"a"}]}`, ErrType, "list.x"},
		{"array", `[]`, ErrNotObject, ""},
		{"null", `null`, ErrNotObject, ""},
		{"empty", ``, ErrSyntax, ""},
		{"bad utf-8", "{\"method\":\"\xff\"}", ErrSyntax, ""},
		{"unterminated", `{"method":`, ErrSyntax, ""},
		{"too deep", `{"raw":` + strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2) + `}`, ErrTooDeep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			err := Decode([]byte(tt.in), &v)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode(%q) = %v, want %v", tt.in, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if tt.wantPath != "" && e.Path != tt.wantPath {
				t.Errorf("path %q, want %q (error %v)", e.Path, tt.wantPath, err)
			}
			// Nothing of Go's vocabulary reaches a message.
			for _, goWord := range []string{"Go ", "struct", "int32", "embedded", "of type"} {
				if strings.Contains(err.Error(), goWord) {
					t.Errorf("error %q exposes %q", err, goWord)
				}
			}
		})
	}
}

func TestKeys(t *testing.T) {
	keys, err := Keys([]byte(`{"b":1,"a":{"b":2},"c":[{"a":1}]}`))
	if err != nil || !slices.Equal(keys, []string{"b", "a", "c"}) {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	for _, bad := range []string{`{"a":1,"a":1}`, `{"a":{"x":1,"x":2}}`, `{}x`, `"s"`, `{"a":[{"b":1,"b":1}]}`} {
		if _, err := Keys([]byte(bad)); err == nil {
			t.Errorf("Keys(%q) accepted", bad)
		}
	}
}

// FuzzDecode checks that whatever Decode accepts, encoding/json reads the
// same way and the value survives a round trip; and that it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"method":"info"}`, `{"list":[{"x":1}],"raw":{"a":[1,2]}}`, `{"a":1,"a":2}`, `{"Method":1}`, `{}x`, `{"n":1e3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v target
		if err := Decode(b, &v); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			return
		}
		// Accepted: a lenient parser must agree, and the document must be
		// exactly one object.
		var loose target
		if err := json.Unmarshal(b, &loose); err != nil {
			t.Fatalf("accepted %q that encoding/json refuses: %v", b, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var again target
		if err := Decode(out, &again); err != nil {
			t.Fatalf("re-encoded %q refused: %v", out, err)
		}
		if out2, _ := json.Marshal(again); string(out2) != string(out) {
			t.Fatalf("round trip %q → %q", out, out2)
		}
	})
}

// selfDecoding decodes itself, so its keys are its own business.
type selfDecoding struct{ raw string }

func (s *selfDecoding) UnmarshalJSON(b []byte) error { s.raw = string(b); return nil }

func TestSelfDecodingField(t *testing.T) {
	var v struct {
		S selfDecoding `json:"s"`
	}
	if err := Decode([]byte(`{"s":{"Any":1,"keys":[2]}}`), &v); err != nil || v.S.raw != `{"Any":1,"keys":[2]}` {
		t.Fatalf("Decode = %v, %q", err, v.S.raw)
	}
	if err := Decode([]byte(`{"s":{"a":1,"a":2}}`), &v); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("duplicate inside a self-decoding value: %v", err)
	}
}

type picky struct{}

func (*picky) UnmarshalJSON([]byte) error { return errors.New("want lowercase hex") }

func TestSelfDecodingError(t *testing.T) {
	var v struct {
		P picky `json:"p"`
	}
	err := Decode([]byte(`{"p":"AB"}`), &v)
	if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "want lowercase hex") {
		t.Fatalf("Decode = %v, want ErrValue with the type's message", err)
	}
}
