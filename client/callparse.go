package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The parsers of untrusted call signals: an SDP or an ICE candidate from
// a peer reaches this device's media engine only after these checks, and
// in relay-only mode anything that could carry an address other than a
// relay's is removed, on the way out and on the way in.

// ErrBadCallSignal: an SDP or ICE candidate does not parse.
var ErrBadCallSignal = errors.New("malformed call signal")

// parseCandidateType checks an ICE candidate attribute (RFC 8839 §5.1,
// with or without its "candidate:" prefix) and returns its type: host,
// srflx, prflx or relay.
func parseCandidateType(s string) (string, error) {
	f, err := candidateFields(s)
	if err != nil {
		return "", err
	}
	return f[7], nil
}

// candidateFields splits and checks a candidate attribute.
func candidateFields(s string) ([]string, error) {
	bad := func(why string) ([]string, error) { return nil, fmt.Errorf("%w: candidate %s", ErrBadCallSignal, why) }
	if len(s) > maxCandidate {
		return bad("too long")
	}
	if !utf8.ValidString(s) {
		return bad("is not UTF-8")
	}
	s = strings.TrimPrefix(s, "a=")
	s = strings.TrimPrefix(s, "candidate:")
	for _, r := range s {
		if r < 0x21 && r != ' ' || r == 0x7f {
			return bad("has a control character")
		}
	}
	f := strings.Split(s, " ")
	if len(f) < 8 || len(f)%2 != 0 {
		return bad("has the wrong number of fields")
	}
	if n := len(f[0]); n == 0 || n > 32 || strings.IndexFunc(f[0], func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/')
	}) >= 0 {
		return bad("foundation is malformed")
	}
	if n, err := strconv.ParseUint(f[1], 10, 16); err != nil || n < 1 || n > 256 {
		return bad("component is malformed")
	}
	if t := strings.ToLower(f[2]); t != "udp" && t != "tcp" {
		return bad("transport is not udp or tcp")
	}
	if _, err := strconv.ParseUint(f[3], 10, 32); err != nil {
		return bad("priority is malformed")
	}
	if f[4] == "" || len(f[4]) > 255 {
		return bad("address is malformed")
	}
	if _, err := strconv.ParseUint(f[5], 10, 16); err != nil {
		return bad("port is malformed")
	}
	if f[6] != "typ" {
		return bad("has no typ")
	}
	switch f[7] {
	case "host", "srflx", "prflx", "relay":
	default:
		return bad("type is unknown")
	}
	for i := 8; i < len(f); i += 2 {
		if f[i] == "" || f[i+1] == "" {
			return bad("has an empty extension")
		}
		if f[i] == "rport" {
			if _, err := strconv.ParseUint(f[i+1], 10, 16); err != nil {
				return bad("rport is malformed")
			}
		}
	}
	return f, nil
}

// relayCandidate returns a relay candidate with its related address
// (raddr, rport: the address the TURN server saw the device come from)
// replaced by 0.0.0.0:0, as browsers do: in relay-only mode it must not
// reach the peer. ok is false for a candidate of another type.
func relayCandidate(s string) (out string, ok bool, err error) {
	f, err := candidateFields(s)
	if err != nil {
		return "", false, err
	}
	if f[7] != "relay" {
		return "", false, nil
	}
	for i := 8; i < len(f); i += 2 {
		switch f[i] {
		case "raddr":
			f[i+1] = "0.0.0.0"
		case "rport":
			f[i+1] = "0"
		}
	}
	prefix := ""
	if strings.HasPrefix(s, "candidate:") {
		prefix = "candidate:"
	}
	return prefix + strings.Join(f, " "), true, nil
}

// checkSDP checks a session description: UTF-8 text of type=value lines
// that begins with v=0 and has a media section, within maxSDP. In
// relay-only mode its candidate lines other than relay ones are removed
// and the relay ones' related addresses cleared. It returns the SDP to
// use, with CRLF line ends.
func checkSDP(sdp string, relayOnly bool) (string, error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("%w: SDP %s", ErrBadCallSignal, why) }
	if len(sdp) > maxSDP {
		return bad("too long")
	}
	if !utf8.ValidString(sdp) {
		return bad("is not UTF-8")
	}
	lines := strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 || lines[0] != "v=0" {
		return bad("does not begin with v=0")
	}
	var out []string
	media := false
	for _, l := range lines {
		if len(l) < 2 || l[1] != '=' || l[0] < 'a' || l[0] > 'z' {
			return bad("has a line that is not type=value")
		}
		if strings.IndexFunc(l, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) >= 0 {
			return bad("has a control character")
		}
		if l[0] == 'm' {
			media = true
		}
		if strings.HasPrefix(l, "a=candidate:") {
			if relayOnly {
				cand, ok, err := relayCandidate(l[2:])
				if err != nil {
					return "", err
				}
				if !ok {
					continue
				}
				l = "a=" + cand
			} else if _, err := candidateFields(l[2:]); err != nil {
				return "", err
			}
		}
		out = append(out, l)
	}
	if !media {
		return bad("has no media section")
	}
	return strings.Join(out, "\r\n") + "\r\n", nil
}
