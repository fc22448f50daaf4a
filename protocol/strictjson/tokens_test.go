package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"
)

// The walk Decode and Keys made before the byte walker, over
// json.Decoder.Token: the oracle the walker is held to.

type tokWalker struct {
	dec *json.Decoder
}

func newTokWalker(b []byte) (*tokWalker, error) {
	if !utf8.Valid(b) {
		return nil, &Error{Err: fmt.Errorf("%w: not valid utf-8", ErrSyntax)}
	}
	if !json.Valid(b) {
		// json.Valid also refuses trailing non-whitespace; tell the two apart.
		dec := json.NewDecoder(bytes.NewReader(b))
		var raw json.RawMessage
		if dec.Decode(&raw) == nil {
			return nil, &Error{Err: ErrTrailing}
		}
		return nil, &Error{Err: ErrSyntax}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return &tokWalker{dec: dec}, nil
}

// end checks that nothing but whitespace follows.
func (w *tokWalker) end() error {
	if _, err := w.dec.Token(); err != io.EOF {
		return &Error{Err: ErrTrailing}
	}
	return nil
}

// object reads one value that must be an object, checking its keys
// against t (nil: any keys), and returns its keys.
func (w *tokWalker) object(t reflect.Type, path string, depth int) ([]string, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, &Error{Path: path, Err: ErrSyntax}
	}
	if tok != json.Delim('{') {
		return nil, &Error{Path: path, Err: ErrNotObject}
	}
	return w.members(t, path, depth)
}

// value reads one value of any kind, checking object keys against t.
func (w *tokWalker) value(t reflect.Type, path string, depth int) error {
	if depth > MaxDepth {
		return &Error{Path: path, Err: ErrTooDeep}
	}
	tok, err := w.dec.Token()
	if err != nil {
		return &Error{Path: path, Err: ErrSyntax}
	}
	t = deref(t)
	switch tok {
	case json.Delim('{'):
		_, err := w.members(t, path, depth)
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessage {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		return err
	}
	return nil
}

// members reads an object's members after its '{'.
func (w *tokWalker) members(t reflect.Type, path string, depth int) ([]string, error) {
	if depth > MaxDepth {
		return nil, &Error{Path: path, Err: ErrTooDeep}
	}
	t = deref(t)
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch {
		case t.Kind() == reflect.Struct:
			fields = structFields(t)
		case t.Kind() == reflect.Map:
			elem = t.Elem()
		}
	}
	var keys []string
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return nil, &Error{Path: path, Err: ErrSyntax}
		}
		k := tok.(string) // json.Valid held, so an object key is a string
		kp := join(path, k)
		if seen[k] {
			return nil, &Error{Path: kp, Err: ErrDuplicateKey}
		}
		seen[k] = true
		keys = append(keys, k)
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[k]; !ok {
				return nil, &Error{Path: kp, Err: ErrUnknownKey}
			}
		}
		if err := w.value(ft, kp, depth+1); err != nil {
			return nil, err
		}
	}
	if _, err := w.dec.Token(); err != nil { // '}'
		return nil, &Error{Path: path, Err: ErrSyntax}
	}
	return keys, nil
}

// decodeByTokens is Decode with the token walk.
func decodeByTokens(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	w, err := newTokWalker(b)
	if err != nil {
		return err
	}
	if _, err := w.object(rv.Type().Elem(), "", 0); err != nil {
		return err
	}
	if err := w.end(); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return unmarshalError(rv.Type(), err)
	}
	return nil
}

func keysByTokens(b []byte) ([]string, error) {
	w, err := newTokWalker(b)
	if err != nil {
		return nil, err
	}
	keys, err := w.object(nil, "", 0)
	if err != nil {
		return nil, err
	}
	return keys, w.end()
}

// sameOutcome reports how two results differ, or "".
func sameOutcome(got, want error) string {
	if (got == nil) != (want == nil) {
		return fmt.Sprintf("error %v, the token walk says %v", got, want)
	}
	if got == nil {
		return ""
	}
	var g, w *Error
	if !errors.As(got, &g) || !errors.As(want, &w) {
		return fmt.Sprintf("error %v (%T), the token walk says %v (%T)", got, got, want, want)
	}
	if g.Path != w.Path || g.Error() != w.Error() || sentinel(g) != sentinel(w) {
		return fmt.Sprintf("error %q, the token walk says %q", g.Error(), w.Error())
	}
	return ""
}

func sentinel(err error) error {
	for _, s := range []error{ErrSyntax, ErrNotObject, ErrTrailing, ErrDuplicateKey, ErrUnknownKey, ErrType, ErrTooDeep, ErrValue} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// walkCorpus is documents that exercise every branch of both walks.
var walkCorpus = []string{
	`{}`, ` { } `, `{"method":"info"}`, `{"method":"info","n":1}`, `{"n":-1.5e3}`, `{"n":1e400}`,
	`{"list":[{"x":1},{"x":2}]}`, `{"list":[]}`, `{"list":[{"x":1,"y":2}]}`, `{"list":[{"x":1,"x":2}]}`,
	`{"raw":{"a":[1,2,{"b":null}]}}`, `{"raw":{"a":1,"a":2}}`, `{"raw":[[[[]]]]}`, `{"raw":"x"}`,
	`{"map":{"k":{"x":1},"k2":{"z":1}}}`, `{"map":{"k":{"x":1},"k":{"x":1}}}`,
	`{"a":1,"a":2}`, `{"Method":"x"}`, `{"pubkey":"05ab"}`, `{"Skip":"x"}`, `{"-":1}`,
	`{"me\u0074hod":"x"}`, `{"method":"a\"b\\c\u00e9\ud83d\ude00"}`, `{"\u006d\u0065thod":1,"method":2}`,
	`{"method":"\ud800"}`, `{"m\u00e9":1}`, "{\"method\":\"x\"}\n\t ", `{}x`, `{} {}`, `[]`, `"x"`, `1`, `null`, ``, `{`,
	`{"method":true}`, `{"method":false,"n":null}`, "{\"list\" : [ {\"x\" : 1} , {\"x\":2} ] }",
	"\xff", `{"raw":` + deep(40) + `}`, `{"raw":` + deep(30) + `}`, `{"list":[{"x":1}],"raw":{"a":[1,2]}}`,
}

func deep(n int) string {
	var b bytes.Buffer
	for range n {
		b.WriteString(`{"a":[`)
	}
	b.WriteString("1")
	for range n {
		b.WriteString(`]}`)
	}
	return b.String()
}

// TestWalkMatchesTokens: Decode and Keys with the byte walker answer as
// with the token walk, value and error alike, on every corpus document.
func TestWalkMatchesTokens(t *testing.T) {
	for _, doc := range walkCorpus {
		checkWalk(t, []byte(doc))
	}
}

func checkWalk(t *testing.T, b []byte) {
	t.Helper()
	var got, want target
	gerr, werr := Decode(b, &got), decodeByTokens(b, &want)
	if d := sameOutcome(gerr, werr); d != "" {
		t.Errorf("Decode(%q): %s", b, d)
	} else if gerr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("Decode(%q) = %+v, the token walk gives %+v", b, got, want)
	}
	gk, gerr := Keys(b)
	wk, werr := keysByTokens(b)
	if d := sameOutcome(gerr, werr); d != "" {
		t.Errorf("Keys(%q): %s", b, d)
	} else if !slices.Equal(gk, wk) {
		t.Errorf("Keys(%q) = %q, the token walk gives %q", b, gk, wk)
	}
}

func FuzzWalkMatchesTokens(f *testing.F) {
	for _, doc := range walkCorpus {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkWalk(t, b) })
}

// BenchmarkDecode decodes a node-to-node apply of 64 stores of 1 KiB,
// with the byte walker and with the token walk, in the same run.
func BenchmarkDecode(b *testing.B) {
	type op struct {
		Kind    int    `json:"kind"`
		Account string `json:"account"`
		Hash    string `json:"hash"`
		Data    []byte `json:"data"`
		Expiry  int64  `json:"expiry"`
	}
	type apply struct {
		Source string `json:"source"`
		Ops    []op   `json:"ops"`
	}
	var a apply
	for i := range 64 {
		a.Ops = append(a.Ops, op{Kind: 1, Account: "05" + strconv.Itoa(i), Hash: "h" + strconv.Itoa(i), Data: make([]byte, 1024), Expiry: int64(i)})
	}
	doc, _ := json.Marshal(a)
	for _, c := range []struct {
		name string
		dec  func([]byte, any) error
	}{{"walk", Decode}, {"tokens", decodeByTokens}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				var v apply
				if err := c.dec(doc, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
