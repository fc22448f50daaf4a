//go:build !lab

package labnet

import "net"

// Listen is net.Listen; the lab build wraps what it accepts.
func Listen(network, address string) (net.Listener, error) {
	return net.Listen(network, address)
}

// ListenPacket is net.ListenPacket; the lab build delays and drops.
func ListenPacket(network, address string) (net.PacketConn, error) {
	return net.ListenPacket(network, address)
}
