package labnet

import (
	"math/rand/v2"
	"net"
	"time"
)

// WrapPacketConn returns pc with datagrams delayed and dropped by the
// profile of each peer's link. Both directions are handled here (a
// datagram's peer may be no lab process): each is dropped with the
// link's loss and delayed by half its round trip, so an exchange costs
// one round trip. Received datagrams are held in order, so one late
// datagram delays those behind it.
func WrapPacketConn(pc net.PacketConn, cfg *Config) net.PacketConn {
	return WrapPacketConnFunc(pc, func() *Config { return cfg })
}

// WrapPacketConnFunc is WrapPacketConn with the links read from src at
// every datagram.
func WrapPacketConnFunc(pc net.PacketConn, src func() *Config) net.PacketConn {
	return &packetConn{PacketConn: pc, src: src}
}

type packetConn struct {
	net.PacketConn
	src func() *Config
}

func (c *packetConn) profile(peer net.Addr) Profile {
	return c.src().For(addrOf(c.LocalAddr()), addrOf(peer))
}

// pdelay is a datagram's one-way delay: loss drops it instead.
func (p Profile) pdelay() (time.Duration, bool) {
	if p.Loss > 0 && rand.Float64() < p.Loss {
		return 0, false
	}
	d := p.RTT / 2
	if p.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*p.Jitter)+1)) - p.Jitter
	}
	return max(d, 0), true
}

func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		d, ok := c.profile(addr).pdelay()
		if !ok {
			continue
		}
		time.Sleep(d)
		return n, addr, nil
	}
}

func (c *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	d, ok := c.profile(addr).pdelay()
	if !ok {
		return len(b), nil // lost on the way
	}
	if d == 0 {
		return c.PacketConn.WriteTo(b, addr)
	}
	msg := append([]byte(nil), b...)
	time.AfterFunc(d, func() { c.PacketConn.WriteTo(msg, addr) })
	return len(b), nil
}
