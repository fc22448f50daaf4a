package netfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// MaxFileSize bounds the network file; real ones are a few kilobytes.
const MaxFileSize = 1 << 20

// Parse reads a network file, fills defaults for omitted optional
// fields, and validates it. Every error matches [ErrInvalid] and is a
// *[FieldError] naming the field.
//
// Parse walks the document itself instead of relying on
// encoding/json's struct decoding, which matches keys case-insensitively,
// lets a repeated key silently win, and reports errors from hex decoding
// without saying which field they came from.
func Parse(data []byte) (*Network, error) {
	if len(data) > MaxFileSize {
		return nil, fieldErr("", "%d bytes exceeds the %d-byte limit", len(data), MaxFileSize)
	}
	var doc json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fieldErr("", "not valid json: %w", err)
	}
	top, err := readObject(doc, "", "format", "network_id", "registries", "seeds", "loopback", "limits", "services")
	if err != nil {
		return nil, err
	}
	format, err := top.integer("format")
	if err != nil {
		return nil, err
	}
	if format != Format {
		return nil, fieldErr("format", "version %d not supported (this program reads version %d)", format, Format)
	}
	n := &Network{Limits: DefaultLimits()}
	if n.ID, err = top.str("network_id"); err != nil {
		return nil, err
	}
	regs, err := top.array("registries")
	if err != nil {
		return nil, err
	}
	for i, raw := range regs {
		o, err := readObject(raw, fmt.Sprintf("registries[%d]", i), "address", "pubkey_ed25519")
		if err != nil {
			return nil, err
		}
		var r Registry
		if r.Address, err = o.str("address"); err != nil {
			return nil, err
		}
		if err := o.key("pubkey_ed25519", &r.Ed25519); err != nil {
			return nil, err
		}
		n.Registries = append(n.Registries, r)
	}
	seeds, err := top.array("seeds")
	if err != nil {
		return nil, err
	}
	for i, raw := range seeds {
		o, err := readObject(raw, fmt.Sprintf("seeds[%d]", i), "address", "pubkey_ed25519", "pubkey_x25519")
		if err != nil {
			return nil, err
		}
		var s Seed
		if s.Address, err = o.str("address"); err != nil {
			return nil, err
		}
		if err := o.key("pubkey_ed25519", &s.Ed25519); err != nil {
			return nil, err
		}
		if err := o.key("pubkey_x25519", &s.X25519); err != nil {
			return nil, err
		}
		n.Seeds = append(n.Seeds, s)
	}
	if top.has("loopback") {
		if n.Loopback, err = top.boolean("loopback"); err != nil {
			return nil, err
		}
	}
	if top.has("limits") {
		if err := parseLimits(top.fields["limits"], &n.Limits); err != nil {
			return nil, err
		}
	}
	if top.has("services") {
		if n.Services, err = parseServices(top.fields["services"]); err != nil {
			return nil, err
		}
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

func parseLimits(raw json.RawMessage, l *Limits) error {
	o, err := readObject(raw, "limits", "swarm_min_size", "swarm_ideal_size", "max_message_bytes", "max_ttl_ms")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"swarm_min_size", &l.SwarmMinSize}, {"swarm_ideal_size", &l.SwarmIdealSize}, {"max_message_bytes", &l.MaxMessageBytes}} {
		if !o.has(f.name) {
			continue
		}
		v, err := o.integer(f.name)
		if err != nil {
			return err
		}
		if v < 0 || v > 1<<31 {
			return fieldErr(o.path(f.name), "%d out of range", v)
		}
		*f.dst = int(v)
	}
	if o.has("max_ttl_ms") {
		v, err := o.integer("max_ttl_ms")
		if err != nil {
			return err
		}
		if v < 0 || v > maxTTL.Milliseconds() {
			return fieldErr(o.path("max_ttl_ms"), "%d outside %d..%d", v, minTTL.Milliseconds(), maxTTL.Milliseconds())
		}
		l.MaxTTL = time.Duration(v) * time.Millisecond
	}
	return nil
}

func parseServices(raw json.RawMessage) (Services, error) {
	var s Services
	o, err := readObject(raw, "services", "files", "push", "turn")
	if err != nil {
		return s, err
	}
	for _, f := range []struct {
		name string
		dst  **Service
	}{{"files", &s.Files}, {"push", &s.Push}, {"turn", &s.TURN}} {
		if !o.has(f.name) {
			continue
		}
		so, err := readObject(o.fields[f.name], o.path(f.name), "address", "tls_address", "endpoint", "pubkey_ed25519", "pubkey_x25519")
		if err != nil {
			return s, err
		}
		svc := &Service{}
		if svc.Address, err = so.str("address"); err != nil {
			return s, err
		}
		for _, o := range []struct {
			name string
			dst  *string
		}{{"tls_address", &svc.TLSAddress}, {"endpoint", &svc.Endpoint}} {
			if so.has(o.name) {
				if *o.dst, err = so.str(o.name); err != nil {
					return s, err
				}
			}
		}
		if so.has("pubkey_ed25519") {
			svc.Ed25519 = new(identity.Ed25519PublicKey)
			if err := so.key("pubkey_ed25519", svc.Ed25519); err != nil {
				return s, err
			}
		}
		if so.has("pubkey_x25519") {
			svc.X25519 = new(snapshot.X25519Key)
			if err := so.key("pubkey_x25519", svc.X25519); err != nil {
				return s, err
			}
		}
		*f.dst = svc
	}
	return s, nil
}

// object is one JSON object of the file, its members by exact key.
type object struct {
	at     string // JSON path of the object
	fields map[string]json.RawMessage
}

// readObject reads raw as a JSON object whose keys all appear in
// allowed, each at most once.
func readObject(raw json.RawMessage, at string, allowed ...string) (*object, error) {
	o := &object{at: at, fields: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fieldErr(at, "must be a json object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fieldErr(at, "%w", err)
		}
		key, _ := tok.(string)
		if !slices.Contains(allowed, key) {
			return nil, fieldErr(o.path(key), "unknown field")
		}
		if _, dup := o.fields[key]; dup {
			return nil, fieldErr(o.path(key), "appears twice")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fieldErr(o.path(key), "%w", err)
		}
		o.fields[key] = v
	}
	return o, nil
}

func (o *object) path(key string) string {
	if o.at == "" {
		return key
	}
	return o.at + "." + key
}

func (o *object) has(key string) bool { _, ok := o.fields[key]; return ok }

func (o *object) get(key string) (json.RawMessage, error) {
	v, ok := o.fields[key]
	if !ok {
		return nil, fieldErr(o.path(key), "missing")
	}
	return v, nil
}

func (o *object) str(key string) (string, error) {
	v, err := o.get(key)
	if err != nil {
		return "", err
	}
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", fieldErr(o.path(key), "must be a string")
	}
	return s, nil
}

// key parses a lowercase-hex key into dst (a *identity.Ed25519PublicKey or
// *snapshot.X25519Key).
func (o *object) key(name string, dst interface{ UnmarshalText([]byte) error }) error {
	s, err := o.str(name)
	if err != nil {
		return err
	}
	if err := dst.UnmarshalText([]byte(s)); err != nil {
		return &FieldError{o.path(name), err}
	}
	return nil
}

// integer accepts only a plain decimal integer literal: no fraction,
// exponent or quotes, so "5", not "5.0" or "5e0".
func (o *object) integer(key string) (int64, error) {
	v, err := o.get(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fieldErr(o.path(key), "must be an integer")
	}
	return n, nil
}

func (o *object) boolean(key string) (bool, error) {
	v, err := o.get(key)
	if err != nil {
		return false, err
	}
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fieldErr(o.path(key), "must be true or false")
}

func (o *object) array(key string) ([]json.RawMessage, error) {
	v, err := o.get(key)
	if err != nil {
		return nil, err
	}
	var a []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &a) != nil {
		return nil, fieldErr(o.path(key), "must be a json array")
	}
	return a, nil
}

// Marshal validates n and writes it as an indented network file, with
// every limit spelled out.
func Marshal(n *Network) ([]byte, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	type registry struct {
		Address string                    `json:"address"`
		Ed25519 identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	}
	type seed struct {
		Address string                    `json:"address"`
		Ed25519 identity.Ed25519PublicKey `json:"pubkey_ed25519"`
		X25519  snapshot.X25519Key        `json:"pubkey_x25519"`
	}
	type limits struct {
		SwarmMinSize    int   `json:"swarm_min_size"`
		SwarmIdealSize  int   `json:"swarm_ideal_size"`
		MaxMessageBytes int   `json:"max_message_bytes"`
		MaxTTLMs        int64 `json:"max_ttl_ms"`
	}
	type service struct {
		Address    string                     `json:"address"`
		TLSAddress string                     `json:"tls_address,omitempty"`
		Endpoint   string                     `json:"endpoint,omitempty"`
		Ed25519    *identity.Ed25519PublicKey `json:"pubkey_ed25519,omitempty"`
		X25519     *snapshot.X25519Key        `json:"pubkey_x25519,omitempty"`
	}
	type services struct {
		Files *service `json:"files,omitempty"`
		Push  *service `json:"push,omitempty"`
		TURN  *service `json:"turn,omitempty"`
	}
	type file struct {
		Format     int        `json:"format"`
		NetworkID  string     `json:"network_id"`
		Registries []registry `json:"registries"`
		Seeds      []seed     `json:"seeds"`
		Loopback   bool       `json:"loopback"`
		Limits     limits     `json:"limits"`
		Services   *services  `json:"services,omitempty"`
	}
	f := file{
		Format:    Format,
		NetworkID: n.ID,
		Loopback:  n.Loopback,
		Limits: limits{n.Limits.SwarmMinSize, n.Limits.SwarmIdealSize,
			n.Limits.MaxMessageBytes, n.Limits.MaxTTL.Milliseconds()},
	}
	for _, r := range n.Registries {
		f.Registries = append(f.Registries, registry(r))
	}
	for _, s := range n.Seeds {
		f.Seeds = append(f.Seeds, seed(s))
	}
	conv := func(s *Service) *service {
		if s == nil {
			return nil
		}
		return &service{s.Address, s.TLSAddress, s.Endpoint, s.Ed25519, s.X25519}
	}
	if sv := n.Services; sv.Files != nil || sv.Push != nil || sv.TURN != nil {
		f.Services = &services{conv(sv.Files), conv(sv.Push), conv(sv.TURN)}
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, &FieldError{"", err}
	}
	return append(out, '\n'), nil
}
