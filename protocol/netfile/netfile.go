// Package netfile reads and writes the network file: the small JSON
// document that tells a client or node which hush network it belongs to
// and whom to trust there (DESIGN §3). It names the network ID, the
// registry hosts whose signatures make a snapshot valid, the seed nodes a
// fresh client fetches its first snapshot from, and the network-wide
// limits. `hush devnet` writes one; users point hush at it. The package
// does no I/O: callers read the file and pass its bytes.
//
// # Format
//
//	{
//	  "format": 1,
//	  "network_id": "devnet",
//	  "registries": [{"address": "127.0.0.1:7100", "pubkey_ed25519": "<64 hex>"}],
//	  "seeds": [{"address": "127.0.0.1:7200", "pubkey_ed25519": "<64 hex>", "pubkey_x25519": "<64 hex>"}],
//	  "loopback": true,
//	  "limits": {"swarm_min_size": 3, "swarm_ideal_size": 4,
//	             "max_message_bytes": 76800, "max_ttl_ms": 1209600000},
//	  "services": {"files": {"address": "127.0.0.1:7300", "pubkey_ed25519": "<64 hex>", "pubkey_x25519": "<64 hex>"},
//	               "push": {...},
//	               "turn": {"address": "127.0.0.1:3478", "tls_address": "127.0.0.1:5349",
//	                        "endpoint": "127.0.0.1:7302", "pubkey_ed25519": "<64 hex>", "pubkey_x25519": "<64 hex>"}}
//	}
//
// format is the version of this layout (1); a reader refuses versions it
// does not know rather than misreading them. loopback permits several
// hops of one onion path in the same /24, which a devnet on 127.0.0.1
// needs and a real network must not allow. limits and services are
// optional; missing limits take the defaults in [DefaultLimits].
//
// Beyond the fields the design names, the file carries two things a
// client needs before it has a snapshot: the format version, and the
// steward services (file server, push server, TURN) with the X25519 key
// the final onion layer to each is sealed to and the Ed25519 key of its
// TLS certificate, which the last relay of a path pins when it forwards
// to the server (internal/keytls). The TURN entry has two sides: address
// (UDP and TCP) and the optional tls_address are where clients reach the
// STUN/TURN server itself, and endpoint is its credential endpoint, an
// onion destination like the file server, whose keys the entry carries.
// Everything else a client needs (node list, swarms) comes from signed
// snapshots, never from this file.
//
// Parsing is strict: unknown or repeated keys, wrong JSON types, keys in
// uppercase hex, duplicate hosts and out-of-range limits are rejected,
// and every error names the offending field in JSON path form, e.g.
// "registries[1].pubkey_ed25519: not lowercase hex". A network file is
// trust configuration; a typo in it should stop the program, not be
// guessed around.
package netfile

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Format is the network file layout version this package reads and writes.
const Format = 1

// Bounds on the lists in a network file.
const (
	MaxRegistries = 31 // Raft clusters are 3 to 5 hosts; this leaves room
	MaxSeeds      = 64
)

// ErrInvalid is matched (with errors.Is) by every error [Parse],
// [Marshal] and [Network.Validate] return. The concrete error is a
// *[FieldError] naming the field.
var ErrInvalid = errors.New("invalid network file")

// FieldError reports a problem with one field of a network file.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "seeds[0].address"; empty
	// for the document as a whole.
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "network file: " + e.Err.Error()
	}
	return "network file: " + e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// Is makes every FieldError match [ErrInvalid].
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field string, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Network is a parsed network file.
type Network struct {
	ID string
	// Registries are the registry hosts. A snapshot is valid when a
	// strict majority of them signed it.
	Registries []Registry
	// Seeds are nodes a fresh client asks for its first snapshot.
	Seeds []Seed
	// Loopback allows several hops of one path in the same /24.
	Loopback bool
	Limits   Limits
	Services Services
}

// Registry is one registry host.
type Registry struct {
	Address string
	Ed25519 identity.Ed25519PublicKey
}

// Seed is one seed node.
type Seed struct {
	Address string
	Ed25519 identity.Ed25519PublicKey
	X25519  snapshot.X25519Key
}

// Limits are the network-wide parameters a client or node must agree on.
type Limits struct {
	// SwarmMinSize and SwarmIdealSize are the registry's swarm assignment
	// parameters; a snapshot states the ones it was built with, which a
	// caller may compare with these.
	SwarmMinSize   int
	SwarmIdealSize int
	// MaxMessageBytes is the largest message data a node stores.
	MaxMessageBytes int
	// MaxTTL is the longest time-to-live a node grants a message in a
	// public inbox; it bounds how long a client must keep keys to read
	// its mail. Carried in milliseconds.
	MaxTTL time.Duration
}

// DefaultLimits returns the limits of a network file that omits them:
// oxen-core's swarm sizes (MIN_SWARM_SIZE 5, IDEAL_SWARM_SIZE 7 in
// service_node_rules.h) and session-storage-server's message limits
// (76,800 bytes of data, 14 days of TTL for public inboxes).
func DefaultLimits() Limits {
	return Limits{SwarmMinSize: 5, SwarmIdealSize: 7, MaxMessageBytes: 76_800, MaxTTL: 14 * 24 * time.Hour}
}

// Ranges the limits must fall in.
const (
	minMessageBytes = 1024
	maxMessageBytes = 16 << 20
	minTTL          = 10 * time.Second
	maxTTL          = 30 * 24 * time.Hour
)

// Services are the optional steward servers. A nil entry means the
// network offers no such service.
type Services struct {
	Files *Service
	Push  *Service
	TURN  *Service
}

// Service is one steward server: its address and, for servers reached
// through onion paths (files, push), the X25519 key of the final layer
// and the Ed25519 key its TLS certificate carries. Relays pin the latter:
// they forward to a steward server only over TLS bound to that key, never
// trusting system roots for it, so whoever controls a name or a CA cannot
// stand in for the server.
type Service struct {
	Address string
	Ed25519 *identity.Ed25519PublicKey
	X25519  *snapshot.X25519Key
	// TURN only: TLSAddress is the server's TURN-over-TLS listener
	// (optional), Endpoint the address of its credential endpoint, the
	// onion destination (required for TURN). Address is then the STUN/TURN
	// listener on UDP and TCP.
	TLSAddress string
	Endpoint   string
}

// OnionTarget is the endpoint at path of a service reached through onion
// paths: its address's host and port, HTTPS (relays pin the server's
// Ed25519 key) and POST, so that the last relay sees no operation in the
// method. Clients put it in the last relay's layer, and nodes allow
// exactly it (internal/node), so both build it here.
func (s *Service) OnionTarget(path string) onion.ServerTarget {
	// Address passed Validate: host:port, an IPv6 host in brackets, which
	// is how a target writes it too.
	addr := s.Address
	if s.Endpoint != "" {
		addr = s.Endpoint // TURN: the credential endpoint, not the TURN port
	}
	i := strings.LastIndexByte(addr, ':')
	port, _ := strconv.ParseUint(addr[i+1:], 10, 16)
	return onion.ServerTarget{Host: addr[:i], Port: uint16(port), Protocol: "https", Method: "POST", Target: path}
}

// SnapshotVerifier returns what the network's snapshots are verified
// against: its ID and its registry hosts' keys.
func (n *Network) SnapshotVerifier() snapshot.Verifier {
	keys := make([]ed25519.PublicKey, len(n.Registries))
	for i := range n.Registries {
		keys[i] = n.Registries[i].Ed25519.Bytes()
	}
	return snapshot.Verifier{NetworkID: n.ID, Hosts: keys}
}

// Validate checks n as [Parse] checks a file. Errors name fields by
// their JSON path.
func (n *Network) Validate() error {
	if err := snapshot.CheckNetworkID(n.ID); err != nil {
		return &FieldError{"network_id", err}
	}
	if len(n.Registries) == 0 || len(n.Registries) > MaxRegistries {
		return fieldErr("registries", "want 1 to %d registry hosts, got %d", MaxRegistries, len(n.Registries))
	}
	seenKey := map[identity.Ed25519PublicKey]string{}
	seenAddr := map[string]string{}
	for i, r := range n.Registries {
		path := fmt.Sprintf("registries[%d]", i)
		if err := checkAddress(path, r.Address, seenAddr); err != nil {
			return err
		}
		if err := checkEd25519(path, r.Ed25519, seenKey); err != nil {
			return err
		}
	}
	if len(n.Seeds) == 0 || len(n.Seeds) > MaxSeeds {
		return fieldErr("seeds", "want 1 to %d seed nodes, got %d", MaxSeeds, len(n.Seeds))
	}
	// Seeds are nodes, registries are not: they get their own namespaces
	// for duplicates, so one machine may host both.
	seenKey, seenAddr = map[identity.Ed25519PublicKey]string{}, map[string]string{}
	seenX := map[snapshot.X25519Key]string{}
	for i, s := range n.Seeds {
		path := fmt.Sprintf("seeds[%d]", i)
		if err := checkAddress(path, s.Address, seenAddr); err != nil {
			return err
		}
		if err := checkEd25519(path, s.Ed25519, seenKey); err != nil {
			return err
		}
		if err := checkX25519(path, s.X25519, seenX); err != nil {
			return err
		}
	}
	if err := n.Limits.validate(); err != nil {
		return err
	}
	return n.Services.validate()
}

func checkAddress(path, addr string, seen map[string]string) error {
	if err := snapshot.CheckAddress(addr); err != nil {
		return &FieldError{path + ".address", err}
	}
	if other, dup := seen[addr]; dup {
		return fieldErr(path+".address", "%q already used by %s", addr, other)
	}
	seen[addr] = path
	return nil
}

func checkEd25519(path string, k identity.Ed25519PublicKey, seen map[identity.Ed25519PublicKey]string) error {
	if err := snapshot.CheckEd25519(k); err != nil {
		return &FieldError{path + ".pubkey_ed25519", err}
	}
	if other, dup := seen[k]; dup {
		return fieldErr(path+".pubkey_ed25519", "same key as %s", other)
	}
	seen[k] = path
	return nil
}

func checkX25519(path string, k snapshot.X25519Key, seen map[snapshot.X25519Key]string) error {
	if err := snapshot.CheckX25519(k); err != nil {
		return &FieldError{path + ".pubkey_x25519", err}
	}
	if other, dup := seen[k]; dup {
		return fieldErr(path+".pubkey_x25519", "same key as %s", other)
	}
	seen[k] = path
	return nil
}

func (l Limits) validate() error {
	switch {
	case l.SwarmMinSize < snapshot.MinSwarmSize || l.SwarmMinSize > snapshot.MaxSwarmSize:
		// Below 3 a store cannot collect two confirmations besides the
		// receiving node (DESIGN §3).
		return fieldErr("limits.swarm_min_size", "%d outside %d..%d", l.SwarmMinSize, snapshot.MinSwarmSize, snapshot.MaxSwarmSize)
	case l.SwarmIdealSize < l.SwarmMinSize || l.SwarmIdealSize > snapshot.MaxSwarmSize:
		return fieldErr("limits.swarm_ideal_size", "%d outside swarm_min_size (%d)..%d", l.SwarmIdealSize, l.SwarmMinSize, snapshot.MaxSwarmSize)
	case l.MaxMessageBytes < minMessageBytes || l.MaxMessageBytes > maxMessageBytes:
		return fieldErr("limits.max_message_bytes", "%d outside %d..%d", l.MaxMessageBytes, minMessageBytes, maxMessageBytes)
	case l.MaxTTL < minTTL || l.MaxTTL > maxTTL || l.MaxTTL%time.Millisecond != 0:
		return fieldErr("limits.max_ttl_ms", "%d outside %d..%d", l.MaxTTL.Milliseconds(), minTTL.Milliseconds(), maxTTL.Milliseconds())
	}
	return nil
}

func (s Services) validate() error {
	for _, e := range []struct {
		name    string
		svc     *Service
		onionTo bool
	}{{"files", s.Files, true}, {"push", s.Push, true}, {"turn", s.TURN, true}} {
		if e.svc == nil {
			continue
		}
		path := "services." + e.name
		if err := snapshot.CheckAddress(e.svc.Address); err != nil {
			return &FieldError{path + ".address", err}
		}
		turn := e.name == "turn"
		switch {
		case !turn && e.svc.Endpoint != "":
			return fieldErr(path+".endpoint", "only the turn server has a separate endpoint; remove it")
		case !turn && e.svc.TLSAddress != "":
			return fieldErr(path+".tls_address", "only the turn server has a tls_address; remove it")
		case turn && e.svc.Endpoint == "":
			return fieldErr(path+".endpoint", "missing: the turn server's credential endpoint, reached through onion paths")
		case turn:
			if err := snapshot.CheckAddress(e.svc.Endpoint); err != nil {
				return &FieldError{path + ".endpoint", err}
			}
			if e.svc.TLSAddress != "" {
				if err := snapshot.CheckAddress(e.svc.TLSAddress); err != nil {
					return &FieldError{path + ".tls_address", err}
				}
			}
		}
		switch {
		case e.svc.X25519 == nil && e.onionTo:
			return fieldErr(path+".pubkey_x25519", "missing: the %s server is reached through onion paths sealed to this key", e.name)
		case e.svc.X25519 != nil && !e.onionTo:
			return fieldErr(path+".pubkey_x25519", "not used for %s; remove it", e.name)
		case e.svc.X25519 != nil:
			if err := snapshot.CheckX25519(*e.svc.X25519); err != nil {
				return &FieldError{path + ".pubkey_x25519", err}
			}
		}
		switch {
		case e.svc.Ed25519 == nil && e.onionTo:
			return fieldErr(path+".pubkey_ed25519", "missing: relays pin the %s server's TLS certificate to this key", e.name)
		case e.svc.Ed25519 != nil && !e.onionTo:
			return fieldErr(path+".pubkey_ed25519", "not used for %s; remove it", e.name)
		case e.svc.Ed25519 != nil:
			if err := snapshot.CheckEd25519(*e.svc.Ed25519); err != nil {
				return &FieldError{path + ".pubkey_ed25519", err}
			}
		}
	}
	return nil
}
