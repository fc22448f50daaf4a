package client

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// The arrival marks of one namespace (receive.go) are kept together, in
// one record keyed by node: a poll rewrites it with the members of the
// account's current swarm only, so the marks of nodes that left the swarm
// are dropped rather than kept forever, and the record stays the size of
// a swarm whatever the churn. A node that leaves and comes back is asked
// for its mark alone again, as a node never read is; what reached it
// meanwhile is the lookback's.

// arrivalMarks is a namespace's record: each node's mark by its Ed25519
// key (hex).
type arrivalMarks map[string]int64

func arrivalsName(ns int32) string { return fmt.Sprintf("arrived/%d", ns) }

// legacyArrivalName names the record of one node's mark, as marks were
// kept before they were kept together; read when the namespace's record
// has no mark of the node.
func legacyArrivalName(ns int32, n snapshot.Node) string {
	return fmt.Sprintf("arrived/%d/%s", ns, n.Ed25519.String())
}

// loadArrivalMarks returns namespace ns's record (empty if none or
// unreadable: the nodes are then asked for their marks alone).
func (c *Client) loadArrivalMarks(ns int32) arrivalMarks {
	return c.loadArrivalRecord(arrivalsName(ns))
}

// loadArrivalRecord is loadArrivalMarks for the record kept as name (a
// group swarm's namespace: groupnet.go).
func (c *Client) loadArrivalRecord(name string) arrivalMarks {
	marks := arrivalMarks{}
	cur, err := c.db.Cursor(name)
	if err != nil || cur.Position == "" {
		return marks
	}
	if err := json.Unmarshal([]byte(cur.Position), &marks); err != nil {
		c.log.Debug("arrival marks unreadable; asking afresh", "err", err)
		return arrivalMarks{}
	}
	return marks
}

func (c *Client) storeArrivalRecord(name string, marks arrivalMarks) {
	b, err := json.Marshal(marks)
	if err == nil {
		err = c.db.SetCursor(name, clientdb.Cursor{Position: string(b), Time: c.clock()})
	}
	if err != nil {
		c.log.Debug("arrival marks", "err", err)
	}
}

// arrivalMark returns the exchange to make with node n for namespace ns:
// the mark n gave last.
func (c *Client) arrivalMark(ns int32, n snapshot.Node) *arrival {
	ar := &arrival{node: n, asked: rpc.ArrivalMarkOnly}
	if m, ok := c.loadArrivalMarks(ns)[n.Ed25519.String()]; ok {
		if m >= 0 {
			ar.asked = m
		}
		return ar
	}
	if cur, err := c.db.Cursor(legacyArrivalName(ns, n)); err == nil && cur.Position != "" {
		if m, err := strconv.ParseInt(cur.Position, 10, 64); err == nil && m >= 0 {
			ar.asked = m
		}
	}
	return ar
}

// saveArrivalMark keeps the mark ar's node answered, once what it sent
// is stored. A mark below the one asked means the node counts afresh (a
// new database): its count is taken as it is.
func (c *Client) saveArrivalMark(ns int32, ar *arrival) {
	c.saveArrivalMarks(ns, nil, []*arrival{ar})
}

// saveArrivalMarks keeps the marks of ars as saveArrivalMark does and,
// when members is not nil (the account's current swarm), drops the marks
// of every node that is not one of them.
func (c *Client) saveArrivalMarks(ns int32, members []snapshot.Node, ars []*arrival) {
	c.saveArrivalRecord(arrivalsName(ns), members, ars)
}

// saveArrivalRecord is saveArrivalMarks for the record kept as name.
func (c *Client) saveArrivalRecord(name string, members []snapshot.Node, ars []*arrival) {
	c.marksMu.Lock()
	defer c.marksMu.Unlock()
	marks := c.loadArrivalRecord(name)
	changed := false
	if members != nil {
		in := make(map[string]bool, len(members))
		for _, m := range members {
			in[m.Ed25519.String()] = true
		}
		for k := range marks {
			if !in[k] {
				delete(marks, k)
				changed = true
			}
		}
	}
	for _, ar := range ars {
		if ar.mark == nil {
			continue
		}
		k := ar.node.Ed25519.String()
		if old, ok := marks[k]; ok && old == *ar.mark {
			continue
		}
		marks[k] = *ar.mark
		changed = true
	}
	if changed {
		c.storeArrivalRecord(name, marks)
	}
}
