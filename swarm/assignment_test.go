package swarm

import (
	"slices"
	"testing"
)

func TestDiffAndSwarmChanges(t *testing.T) {
	k1, k2, k3, k4 := testKey(1), testKey(2), testKey(3), testKey(4)
	before := Assignment{k1: 10, k2: 10, k3: 20}
	after := Assignment{k1: 10, k2: 30, k4: 30, k3: Invalid}
	want := []Move{
		{Node: k2, From: 10, To: 30},
		{Node: k3, From: 20, To: Invalid},
		{Node: k4, From: Invalid, To: 30},
	}
	slices.SortFunc(want, func(x, y Move) int { return x.Node.Compare(y.Node) })
	if got := Diff(before, after); !slices.Equal(got, want) {
		t.Errorf("Diff = %v, want %v", got, want)
	}
	if got := Reassigned(Diff(before, after)); got != 1 {
		t.Errorf("Reassigned = %d, want 1", got)
	}
	created, dissolved := SwarmChanges(before, after)
	if !slices.Equal(created, []ID{30}) || !slices.Equal(dissolved, []ID{20}) {
		t.Errorf("SwarmChanges = %v, %v; want [30], [20]", created, dissolved)
	}
	if !before.Equal(Assignment{k3: 20, k2: 10, k1: 10}) || before.Equal(after) {
		t.Error("Equal disagrees with Diff")
	}
}

func TestAssignmentViews(t *testing.T) {
	k1, k2, k3 := testKey(1), testKey(2), testKey(3)
	a := Assignment{k1: 10, k2: 5, k3: 10, testKey(4): Invalid}
	if got := a.IDs(); !slices.Equal(got, []ID{5, 10}) {
		t.Errorf("IDs = %v", got)
	}
	members := []NodeKey{k1, k3}
	slices.SortFunc(members, NodeKey.Compare)
	if got := a.Members(10); !slices.Equal(got, members) {
		t.Errorf("Members(10) = %v, want %v", got, members)
	}
	if got := a.Swarms(); len(got) != 2 || !slices.Equal(got[10], members) {
		t.Errorf("Swarms = %v", got)
	}
	if got := a.Members(Invalid); got != nil {
		t.Errorf("Members(Invalid) = %v, want nil", got)
	}
	if got := len(a.Nodes()); got != 3 {
		t.Errorf("%d nodes, want 3", got)
	}
	// Position 7 is 2 from swarm 5 and 3 from swarm 10.
	if id, _ := a.Ring().LookupPosition(7); id != 5 {
		t.Errorf("Ring lookup = %d, want 5", id)
	}
}
