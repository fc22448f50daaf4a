package lab

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hushnet/hush/client"
)

// Ledger records every send and every receipt of a fault test, so the
// test can show that nothing acknowledged was lost and nothing was
// shown twice. Texts must be unique per recipient.
type Ledger struct {
	mu      sync.Mutex
	acked   map[key]bool // true: acknowledged; false: left queued
	counted map[key]int
}

type key struct{ to, text string }

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{acked: map[key]bool{}, counted: map[key]int{}} }

// Sent records a send to to; acked is whether the sender had the
// swarm's confirmations (status sent or later).
func (l *Ledger) Sent(to, text string, acked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[key{to, text}] = acked
}

// Received records what recipient to was shown.
func (l *Ledger) Received(to string, ms []client.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range ms {
		if !m.Outgoing {
			l.counted[key{to, m.Text}]++
		}
	}
}

// Balance sums up a ledger.
type Balance struct {
	Acked, Queued            int // sends
	Received, QueuedReceived int // distinct messages received
	Missing, Duplicated      []string
	Unknown                  []string // received but never sent
}

func (b Balance) String() string {
	return fmt.Sprintf("%d acknowledged sends, %d queued; %d acknowledged received, %d queued received; %d missing, %d duplicated, %d unknown",
		b.Acked, b.Queued, b.Received, b.QueuedReceived, len(b.Missing), len(b.Duplicated), len(b.Unknown))
}

// OK reports whether every acknowledged message arrived exactly once
// and no message arrived twice.
func (b Balance) OK() bool {
	return len(b.Missing) == 0 && len(b.Duplicated) == 0 && len(b.Unknown) == 0
}

// Balance compares the sends with the receipts.
func (l *Ledger) Balance() Balance {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b Balance
	for k, acked := range l.acked {
		n := l.counted[k]
		switch {
		case acked:
			b.Acked++
		default:
			b.Queued++
		}
		if n > 1 {
			b.Duplicated = append(b.Duplicated, k.text)
		}
		if n >= 1 && acked {
			b.Received++
		} else if n >= 1 {
			b.QueuedReceived++
		} else if acked {
			b.Missing = append(b.Missing, k.text)
		}
	}
	for k := range l.counted {
		if _, ok := l.acked[k]; !ok {
			b.Unknown = append(b.Unknown, k.text)
		}
	}
	slices.Sort(b.Missing)
	slices.Sort(b.Duplicated)
	return b
}

// Missing lists the texts still owed to recipient to.
func (l *Ledger) Missing(to string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for k, acked := range l.acked {
		if k.to == to && acked && l.counted[k] == 0 {
			out = append(out, k.text)
		}
	}
	slices.Sort(out)
	return out
}

// Details lists (the first few) missing, duplicated and unknown texts.
func (b Balance) Details() string {
	trim := func(s []string) string {
		if len(s) > 10 {
			s = append(s[:10:10], "…")
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("missing [%s] duplicated [%s] unknown [%s]", trim(b.Missing), trim(b.Duplicated), trim(b.Unknown))
}
