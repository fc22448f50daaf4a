package devnet

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// quick are timers for tests: everything the registry does, faster.
func quick(o Options) Options {
	o.EpochInterval, o.ProbeInterval, o.UnreachableAfter = 200*time.Millisecond, 100*time.Millisecond, time.Second
	return o
}

func TestInProcessDevnetForms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var progress bytes.Buffer
	d, err := Up(ctx, quick(Options{Dir: t.TempDir(), Nodes: 6, Progress: &progress}))
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	defer d.Stop()
	t.Log(progress.String())
	st, err := Inspect(ctx, d.Network())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 6 || len(st.Swarms) == 0 {
		t.Fatalf("status: %+v", st)
	}
	for _, n := range st.Nodes {
		if !n.Up || n.SwarmID == nil {
			t.Fatalf("node %+v", n)
		}
	}
	for _, s := range st.Swarms {
		if len(s.Members) < 3 {
			t.Fatalf("swarm %s has %d members", s.SwarmID, len(s.Members))
		}
	}
}
