// Package hush is the root of the hush module. It holds no code, only tests
// that keep the whole tree honest: every package has a doc comment, every
// file is gofmt-clean, and the wire-format and crypto packages do no I/O.
//
// The binaries are cmd/hush (the client) and cmd/hushd (the servers); the
// public libraries are identity, crypto/..., protocol/... and swarm; the rest
// is under internal/. ../shared/DESIGN.md in the team's workspace, and the
// README, describe the system.
package hush
