// Package strictjson decodes untrusted JSON the way a wire format needs:
// exactly one value, nothing that encoding/json would silently accept
// and another parser would read differently. encoding/json alone keeps the
// last of two equal keys, matches keys case-insensitively ("Method" for
// "method", and Unicode folds such as the Kelvin sign for "k"), replaces
// invalid UTF-8, and, through a Decoder, ignores what follows the first
// value. Each of these is a parser differential: a relay, a client and a
// node could disagree on what one body says. [Decode] refuses them all,
// and its errors name the offending key as it appears on the wire, never
// a Go type or field name.
//
// The onion frame parser (protocol/onion) and the storage RPC
// (protocol/rpc) both use it, so there is one set of rules for every JSON
// a node accepts from outside.
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Errors, each wrapped in an *Error that says where.
var (
	// ErrSyntax: not valid JSON, or not valid UTF-8.
	ErrSyntax = errors.New("malformed json")
	// ErrNotObject: the document, or a value that must be an object, is not one.
	ErrNotObject = errors.New("not a json object")
	// ErrTrailing: something other than JSON whitespace follows the value.
	ErrTrailing = errors.New("trailing data after the json value")
	// ErrDuplicateKey: an object names one key twice.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrUnknownKey: a key the destination has no field for, compared
	// exactly (case-sensitively).
	ErrUnknownKey = errors.New("unknown key")
	// ErrType: a value has the wrong JSON type, or a number is out of the
	// field's range.
	ErrType = errors.New("wrong type")
	// ErrTooDeep: nesting deeper than [MaxDepth].
	ErrTooDeep = errors.New("json nested too deeply")
	// ErrValue: a type that decodes itself (UnmarshalJSON or
	// UnmarshalText) refused its value; its error is wrapped too.
	ErrValue = errors.New("bad value")
)

// MaxDepth bounds nesting. No format hush speaks goes deeper than a few
// levels; the bound keeps a hostile document from costing recursion.
const MaxDepth = 32

// Error is a decoding failure at a place in the document.
type Error struct {
	// Path is the wire path of the offending key or value, dotted, with
	// array indexes in brackets ("params.messages[2]"); empty for the
	// document itself.
	Path string
	// Want is, for ErrType, what the field takes ("a string", "an integer
	// in range"...).
	Want string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		fmt.Fprintf(&b, "%s: ", e.Path)
	}
	b.WriteString(e.Err.Error())
	if e.Want != "" {
		fmt.Fprintf(&b, ", want %s", e.Want)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Keys checks that b is exactly one JSON object, optionally surrounded by
// JSON whitespace: valid UTF-8, valid JSON, no key twice in any object at
// any depth, at most [MaxDepth] deep, nothing after it. It returns the
// object's top-level keys in document order.
func Keys(b []byte) ([]string, error) {
	w, err := newWalker(b)
	if err != nil {
		return nil, err
	}
	keys, err := w.object(nil, "", 0)
	if err != nil {
		return nil, err
	}
	return keys, w.end()
}

// Decode decodes b, which must pass [Keys], into v, a non-nil pointer.
// Where v (or a field inside it) is a struct, every key of the matching
// object must equal one of its fields' JSON names exactly; a map, slice,
// interface or json.RawMessage takes what it is given (a RawMessage is
// meant to be decoded with Decode again). Numbers must fit their field.
func Decode(b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("strictjson: Decode needs a non-nil pointer")
	}
	w, err := newWalker(b)
	if err != nil {
		return err
	}
	if _, err := w.object(rv.Type().Elem(), "", 0); err != nil {
		return err
	}
	if err := w.end(); err != nil {
		return err
	}
	// The walk proved the document's shape and keys; what is left for
	// encoding/json is types and ranges.
	if err := json.Unmarshal(b, v); err != nil {
		return unmarshalError(rv.Type(), err)
	}
	return nil
}

// walker checks a document's shape and keys in one pass over its bytes.
// newWalker has checked that they are valid UTF-8 and valid JSON, so the
// walk need not check syntax: it only finds the tokens. (It replaced a
// walk with json.Decoder.Token, which cost more than the decoding itself:
// TestWalkMatchesTokens and FuzzWalkMatchesTokens hold it to that walk.)
type walker struct {
	b []byte
	i int
}

func newWalker(b []byte) (*walker, error) {
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
	return &walker{b: b}, nil
}

// peek skips whitespace and returns the next byte (0 at the end).
func (w *walker) peek() byte {
	for ; w.i < len(w.b); w.i++ {
		switch c := w.b[w.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// str reads the string that starts at w.i and returns its value.
func (w *walker) str() (string, error) {
	start, escaped := w.i, false
	for w.i++; w.i < len(w.b); w.i++ {
		switch w.b[w.i] {
		case '\\':
			escaped = true
			w.i++ // the escaped byte; a \u's digits are plain
		case '"':
			w.i++
			raw := w.b[start:w.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			// encoding/json's own unquoting, as Token did.
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", err
			}
			return s, nil
		}
	}
	return "", io.ErrUnexpectedEOF
}

// scalar skips the number, string or literal at w.i.
func (w *walker) scalar() error {
	if w.b[w.i] == '"' {
		_, err := w.str()
		return err
	}
	for ; w.i < len(w.b); w.i++ {
		switch w.b[w.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return nil
		}
	}
	return nil
}

// end checks that nothing but whitespace follows.
func (w *walker) end() error {
	if w.peek() != 0 {
		return &Error{Err: ErrTrailing}
	}
	return nil
}

// object reads one value that must be an object, checking its keys
// against t (nil: any keys), and returns its keys.
func (w *walker) object(t reflect.Type, path string, depth int) ([]string, error) {
	if w.peek() != '{' {
		return nil, &Error{Path: path, Err: ErrNotObject}
	}
	w.i++
	return w.members(t, path, depth)
}

// value reads one value of any kind, checking object keys against t.
func (w *walker) value(t reflect.Type, path string, depth int) error {
	if depth > MaxDepth {
		return &Error{Path: path, Err: ErrTooDeep}
	}
	t = deref(t)
	switch w.peek() {
	case '{':
		w.i++
		_, err := w.members(t, path, depth)
		return err
	case '[':
		w.i++
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessage {
			elem = t.Elem()
		}
		if w.peek() == ']' {
			w.i++
			return nil
		}
		for i := 0; ; i++ {
			if err := w.value(elem, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
			c := w.peek()
			w.i++ // ',' or ']'
			if c != ',' {
				return nil
			}
		}
	case 0:
		return &Error{Path: path, Err: ErrSyntax}
	}
	if err := w.scalar(); err != nil {
		return &Error{Path: path, Err: ErrSyntax}
	}
	return nil
}

// members reads an object's members after its '{'.
func (w *walker) members(t reflect.Type, path string, depth int) ([]string, error) {
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
	if w.peek() == '}' {
		w.i++
		return keys, nil
	}
	seen := map[string]bool{}
	for {
		if w.peek() != '"' {
			return nil, &Error{Path: path, Err: ErrSyntax}
		}
		k, err := w.str()
		if err != nil {
			return nil, &Error{Path: path, Err: ErrSyntax}
		}
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
		if w.peek() != ':' {
			return nil, &Error{Path: kp, Err: ErrSyntax}
		}
		w.i++
		if err := w.value(ft, kp, depth+1); err != nil {
			return nil, err
		}
		c := w.peek()
		w.i++ // ',' or '}'
		if c != ',' {
			return keys, nil
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	rawMessage      = reflect.TypeFor[json.RawMessage]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// deref returns the type whose keys a value of type t is checked against,
// or nil for one that takes any keys: a RawMessage, an interface, or a
// type that decodes itself (its own UnmarshalJSON or UnmarshalText
// decides what it accepts; duplicates are still refused).
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t == rawMessage || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return t
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// structFields returns the JSON names of t's fields as encoding/json sees
// them (tags, embedded structs promoted, "-" skipped), with their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addFields(m, t, 0)
	fieldCache.Store(t, m)
	return m
}

func addFields(m map[string]reflect.Type, t reflect.Type, depth int) {
	if depth > MaxDepth {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(m, ft, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := m[name]; !dup {
			m[name] = f.Type
		}
	}
}

// unmarshalError turns encoding/json's error into an *Error naming the
// wire path. encoding/json's own message names Go types and, for fields
// of embedded structs, Go field names ("authFields.pubkey"); none of it
// goes out.
func unmarshalError(root reflect.Type, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Path: wirePath(root, te.Field), Want: typeName(te.Type), Err: ErrType}
	}
	// Only a self-decoding type's own error is left (the walk proved the
	// syntax); its message is the type's, written for the wire.
	return &Error{Err: fmt.Errorf("%w: %w", ErrValue, err)}
}

// wirePath rewrites encoding/json's dotted field path as keys: it follows
// the path through root's types and drops the Go names of embedded
// structs, whose fields appear on the wire one level up.
func wirePath(root reflect.Type, field string) string {
	var out []string
	t := deref(root)
	for p := range strings.SplitSeq(field, ".") {
		if t != nil && t.Kind() == reflect.Struct {
			if ft, ok := structFields(t)[p]; ok {
				out, t = append(out, p), elemOf(ft)
				continue
			}
			if f, ok := t.FieldByName(p); ok && f.Anonymous {
				continue
			}
		}
		out = append(out, p)
		t = elemOf(t)
	}
	return strings.Join(out, ".")
}

// elemOf is the type a path continues in after a value of type t: arrays
// and maps contribute no path part of their own to encoding/json's path.
func elemOf(t reflect.Type) reflect.Type {
	for t = deref(t); t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map); t = deref(t.Elem()) {
	}
	return t
}

func typeName(t reflect.Type) string {
	if t == nil {
		return ""
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another type"
}
