// Package raftnet carries Raft traffic between registry hosts over mutual
// TLS pinned to the hosts' Ed25519 keys: it is a raft.StreamLayer for
// hashicorp/raft's NetworkTransport (DESIGN §3, Transport).
//
// Both ends present their host certificate (package keytls) and accept
// the other only if its key is currently trusted. Trust is a function the
// registry supplies, so it follows host membership as the log changes it
// without rebuilding the transport. The peer's key is checked, not that
// it matches the address dialled: any trusted host may answer at any
// address, which Raft tolerates because it identifies servers by the IDs
// inside its own messages.
package raftnet

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
)

// ErrBadAdvertise is returned by [New] for an advertised address that is
// not a resolvable host:port.
var ErrBadAdvertise = errors.New("raftnet: advertised address is not host:port")

// Layer is a raft.StreamLayer over mutual TLS.
type Layer struct {
	net.Listener // a TLS listener; handshakes happen on first read
	advertise    net.Addr
	client       *tls.Config
}

var _ raft.StreamLayer = (*Layer)(nil)

// New wraps ln, which the caller has bound, in mutual TLS with cert as
// this host's identity and trusted deciding which peer keys to accept in
// either direction. advertise is the address other hosts dial; empty
// means ln's address. Closing the Layer closes ln.
func New(ln net.Listener, advertise string, cert tls.Certificate, trusted func(identity.Ed25519PublicKey) bool) (*Layer, error) {
	addr := ln.Addr()
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			return nil, errors.Join(ErrBadAdvertise, err)
		}
		addr = a
	}
	return &Layer{
		Listener:  tls.NewListener(ln, keytls.ServerConfig(cert, trusted)),
		advertise: addr,
		client:    keytls.ClientConfig(&cert, trusted),
	}, nil
}

// Addr returns the advertised address, which Raft hands to its peers.
func (l *Layer) Addr() net.Addr { return l.advertise }

// Dial opens a TLS connection to a host and completes the handshake, so
// a peer with an untrusted key fails here rather than mid-RPC.
func (l *Layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", string(address), l.client)
}
