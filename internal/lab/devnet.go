//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"

	"github.com/hushnet/hush/internal/labnet"
)

// ErrDevnetOptions reports DevnetOptions the lab cannot build.
var ErrDevnetOptions = errors.New("lab: bad devnet options")

// MaxDevnetNodes bounds DevnetOptions.Nodes: the nodes' /24s
// (10.77.30.0 to 10.77.98.0, two nodes each) end below the observer's.
const MaxDevnetNodes = 138

// DevnetOptions describe the network `hush devnet up --lab` runs.
type DevnetOptions struct {
	// Hushd is a hushd built with -tags lab; Hush is the hush binary
	// the clients and the lab's own status checks run.
	Hushd, Hush string
	// Nodes and Registries (1 or 3) count the hosts.
	Nodes, Registries int
	// Profile names the labnet profile of every link ("lan" when
	// empty).
	Profile string
	// Clients are the names of the client namespaces, each with an
	// account ("alice" and "bob" when empty).
	Clients []string
}

// DevnetNodeAddr is the address of node i (from 0) of a lab devnet: two
// nodes in each /24 from 10.77.30.0/24 on, so the client's /24 path rule
// has pairs to keep apart.
func DevnetNodeAddr(i int) string { return fmt.Sprintf("10.77.%d.%d", 30+i/2, 1+i%2) }

// DevnetClientAddr is the address of client i, each in a /24 of its own
// (10.77.20.0/24 on).
func DevnetClientAddr(i int) string { return fmt.Sprintf("10.77.%d.1", 20+i) }

// Devnet is a devnet running in a lab: the network and its clients.
type Devnet struct {
	Net     *Network
	Clients []*Client
}

// StartDevnet starts the network o describes in l, with every link
// given o.Profile (its latency by the lab build of hushd, its rate by
// Shape on every host), waits until it has formed, and creates the
// clients' namespaces and accounts. l is the caller's to close, also on
// error.
func (l *Lab) StartDevnet(ctx context.Context, o DevnetOptions) (*Devnet, error) {
	if o.Profile == "" {
		o.Profile = "lan"
	}
	if _, ok := labnet.Profiles[o.Profile]; !ok {
		return nil, fmt.Errorf("%w: no profile %q", ErrDevnetOptions, o.Profile)
	}
	if o.Registries != 1 && o.Registries != 3 {
		return nil, fmt.Errorf("%w: %d registry hosts; want 1 or 3", ErrDevnetOptions, o.Registries)
	}
	if o.Nodes < 1 || o.Nodes > MaxDevnetNodes {
		return nil, fmt.Errorf("%w: %d nodes; want 1 to %d", ErrDevnetOptions, o.Nodes, MaxDevnetNodes)
	}
	if len(o.Clients) == 0 {
		o.Clients = []string{"alice", "bob"}
	}
	if len(o.Clients) > 9 {
		return nil, fmt.Errorf("%w: %d clients; want at most 9", ErrDevnetOptions, len(o.Clients))
	}
	no := NetOptions{Hushd: o.Hushd, Hush: o.Hush, Links: labnet.File{Default: o.Profile}}
	for i := range o.Registries {
		no.Registries = append(no.Registries, fmt.Sprintf("10.77.10.%d", i+1))
	}
	for i := range o.Nodes {
		no.Nodes = append(no.Nodes, DevnetNodeAddr(i))
	}
	n, err := l.StartNetwork(ctx, no)
	if err != nil {
		return nil, err
	}
	if rate := labnet.Profiles[o.Profile].Rate; rate > 0 {
		// After the start: shaping the hosts while the network forms
		// would only slow the forming, and a user watches the links.
		for _, h := range l.Hosts() {
			if err := l.Shape(h, rate); err != nil {
				return nil, err
			}
		}
	}
	d := &Devnet{Net: n}
	for i, name := range o.Clients {
		h, err := l.AddHost(name, DevnetClientAddr(i))
		if err != nil {
			return nil, err
		}
		// Shaped before its account is made, as every other host
		// before it is used.
		if rate := labnet.Profiles[o.Profile].Rate; rate > 0 {
			if err := l.Shape(h, rate); err != nil {
				return nil, err
			}
		}
		c, err := n.NewClient(ctx, h)
		if err != nil {
			return nil, err
		}
		d.Clients = append(d.Clients, c)
	}
	return d, nil
}
