package rpc

import (
	"strconv"
	"time"
)

// DomainLabel starts every string a client signs for a hush node.
const DomainLabel = "hush/1"

// sigBuilder appends the parts of a signed string: the domain prefix, then
// Session's method string, with integers in decimal.
type sigBuilder []byte

func newSig(networkID, method string) sigBuilder {
	b := make(sigBuilder, 0, len(DomainLabel)+1+len(networkID)+len(method)+64)
	b = append(b, DomainLabel...)
	b = append(b, byte(len(networkID)))
	b = append(b, networkID...)
	return append(b, method...)
}

func (b sigBuilder) str(s string) sigBuilder { return append(b, s...) }
func (b sigBuilder) ms(t time.Time) sigBuilder {
	return strconv.AppendInt(b, t.UnixMilli(), 10)
}
func (b sigBuilder) hashes(hs []string) sigBuilder {
	for _, h := range hs {
		b = append(b, h...)
	}
	return b
}

// nsString is how Session writes a single namespace into a signed string:
// nothing for the default namespace 0, else decimal.
func nsString(ns int32) string {
	if ns == 0 {
		return ""
	}
	return strconv.Itoa(int(ns))
}

// nsVarString is the same for "namespace or all" (nil means all):
// Session's signature_value in client_rpc_endpoints.h.
func nsVarString(ns *int32) string {
	if ns == nil {
		return "all"
	}
	return nsString(*ns)
}

// SigStore is the string signed for store: "store" ‖ ns ‖ sig_timestamp.
func SigStore(networkID string, ns int32, sigTimestamp time.Time) []byte {
	return newSig(networkID, "store").str(nsString(ns)).ms(sigTimestamp)
}

// SigRetrieve is the string signed for retrieve: "retrieve" ‖ ns ‖ timestamp.
func SigRetrieve(networkID string, ns int32, timestamp time.Time) []byte {
	return newSig(networkID, "retrieve").str(nsString(ns)).ms(timestamp)
}

// timed starts hush's own format for the methods Session signs without a
// request time (delete, delete_before, expire, expire_all): the method,
// ":", the signed request time, then each field after a ":". The colon
// appears in no field (decimal numbers, "all", a mode word, base64
// hashes), so, unlike Session's run-together strings, no two field lists
// give one string, and no Session-format string of any method has a ":"
// after its method name, so the two formats never meet either.
func timed(networkID, method string, ts time.Time) sigBuilder {
	return newSig(networkID, method).str(":").ms(ts)
}

// field appends ":" and s.
func (b sigBuilder) field(s string) sigBuilder { return append(append(b, ':'), s...) }

// nsField is a namespace as a timed string writes it: decimal (0 too),
// or "all" for nil.
func nsField(ns *int32) string {
	if ns == nil {
		return "all"
	}
	return strconv.Itoa(int(*ns))
}

// SigDelete is the string signed for delete: "delete:" ‖ timestamp ‖ ":" ‖
// hash… (hush's format; Session signs "delete" ‖ hash… with no time).
func SigDelete(networkID string, timestamp time.Time, hashes []string) []byte {
	return timed(networkID, "delete", timestamp).field("").hashes(hashes)
}

// SigDeleteAll is the string signed for delete_all: "delete_all" ‖ ns ‖
// timestamp, ns being "all" when ns is nil.
func SigDeleteAll(networkID string, ns *int32, timestamp time.Time) []byte {
	return newSig(networkID, "delete_all").str(nsVarString(ns)).ms(timestamp)
}

// SigDeleteBefore is the string signed for delete_before:
// "delete_before:" ‖ timestamp ‖ ":" ‖ ns ‖ ":" ‖ before (hush's format).
func SigDeleteBefore(networkID string, timestamp time.Time, ns *int32, before time.Time) []byte {
	return timed(networkID, "delete_before", timestamp).field(nsField(ns)).field("").ms(before)
}

// SigExpire is the string signed for expire: "expire:" ‖ timestamp ‖ ":" ‖
// mode ‖ ":" ‖ expiry ‖ ":" ‖ hash… (hush's format), mode being
// "shorten", "extend" or nothing.
func SigExpire(networkID string, timestamp time.Time, mode ExpireMode, expiry time.Time, hashes []string) []byte {
	return timed(networkID, "expire", timestamp).field(mode.String()).field("").ms(expiry).field("").hashes(hashes)
}

// SigExpireAll is the string signed for expire_all: "expire_all:" ‖
// timestamp ‖ ":" ‖ ns ‖ ":" ‖ expiry (hush's format).
func SigExpireAll(networkID string, timestamp time.Time, ns *int32, expiry time.Time) []byte {
	return timed(networkID, "expire_all", timestamp).field(nsField(ns)).field("").ms(expiry)
}

// SigGetExpiries is the string signed for get_expiries: "get_expiries" ‖
// timestamp ‖ hash….
func SigGetExpiries(networkID string, timestamp time.Time, hashes []string) []byte {
	return newSig(networkID, "get_expiries").ms(timestamp).hashes(hashes)
}

// ExpireMode is expire's optional restriction.
type ExpireMode int

const (
	ExpireAny     ExpireMode = iota // set the expiry as given
	ExpireShorten                   // only move expiries earlier
	ExpireExtend                    // only move expiries later
)

// String returns the mode as it appears in the signed string.
func (m ExpireMode) String() string {
	switch m {
	case ExpireShorten:
		return "shorten"
	case ExpireExtend:
		return "extend"
	}
	return ""
}
