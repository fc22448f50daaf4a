package node

import (
	"log/slog"
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/snapshot"
)

// TestRegistrationNotDroppedBeforeItShows: a node registers before it
// has any snapshot (a devnet's nodes all do), and the first snapshots it
// installs were built before its registration was committed. It must not
// take them for the registry having dropped it and register again (every
// devnet node did, once each: "the registry dropped this node;
// registering again" right after "registered with the registry
// epoch=0"). A snapshot without it after one that listed it, or two
// epochs after the first one it installed since registering, does mean
// it was dropped.
func TestRegistrationNotDroppedBeforeItShows(t *testing.T) {
	seed := make([]byte, 32)
	seed[0] = 7
	id, err := identityFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	self := id.Ed25519Public()
	snap := func(epoch uint64, listed bool) *snapshot.Snapshot {
		s := testSnapshot(epoch, time.Now().Add(time.Hour), map[uint64][]byte{1 << 60: {1, 2, 3}})
		if listed {
			s.Nodes = append(s.Nodes, snapshot.Node{Ed25519: self, Address: "127.0.0.1:2", Swarm: 1 << 60})
			for i := len(s.Nodes) - 1; i > 0 && s.Nodes[i].Ed25519.Compare(s.Nodes[i-1].Ed25519) < 0; i-- {
				s.Nodes[i], s.Nodes[i-1] = s.Nodes[i-1], s.Nodes[i]
			}
		}
		return s
	}
	type step struct {
		epoch  uint64
		listed bool
		again  bool // a new registration is wanted after it
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"registered before any snapshot", []step{{22, false, false}, {23, false, false}, {24, true, false}, {25, true, false}}},
		{"dropped after it showed", []step{{22, false, false}, {23, true, false}, {24, false, true}}},
		{"never shows", []step{{22, false, false}, {23, false, false}, {24, false, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &registryLink{id: id, members: &snapshotMembership{self: self}, logger: slog.New(slog.DiscardHandler),
				dataDir: t.TempDir(), again: make(chan struct{}, 1)}
			l.reg.succeeded() // with no snapshot installed yet
			for _, st := range tt.steps {
				if err := l.install(snap(st.epoch, st.listed), []byte("raw")); err != nil {
					t.Fatal(err)
				}
				var again bool
				select {
				case <-l.again:
					again = true
				default:
				}
				if again != st.again {
					t.Fatalf("epoch %d (listed %v): registering again %v, want %v", st.epoch, st.listed, again, st.again)
				}
			}
		})
	}
}
