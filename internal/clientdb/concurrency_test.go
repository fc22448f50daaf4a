package clientdb

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestTwoHandles runs writers and readers on two DBs over one file, as `hush
// receive --follow` and `hush send` do on one home: every write must land,
// no call may fail with SQLITE_BUSY, and readers must never see a torn state.
func TestTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	a, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	const perWriter = 40
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	write := func(db *DB, base int) {
		defer wg.Done()
		for i := range perWriter {
			n := base + i
			m := incoming(0, n, fmt.Sprintf("msg %d", n))
			m.MessageID = MessageID{byte(n >> 8), byte(n), 1}
			id, isNew, err := db.InsertMessage(alice, m)
			if err != nil || !isNew {
				errs <- fmt.Errorf("insert %d: new=%v %w", n, isNew, err)
				return
			}
			if _, err := db.EnqueueOutbox(OutboxItem{Message: id, To: alice}, at(n)); err != nil {
				errs <- fmt.Errorf("enqueue %d: %w", n, err)
				return
			}
			if i%8 == 7 {
				// Deletions checkpoint the WAL while the other handle works.
				if _, err := db.DeleteMessage(id, at(n)); err != nil {
					errs <- fmt.Errorf("delete %d: %w", n, err)
					return
				}
			}
		}
	}
	var stop sync.WaitGroup
	done := make(chan struct{})
	read := func(db *DB) {
		defer stop.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			c, err := db.Conversation(alice)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				errs <- fmt.Errorf("read conversation: %w", err)
				return
			}
			ms, err := db.Messages(c.ID, Page{Limit: 50})
			if err != nil {
				errs <- fmt.Errorf("read messages: %w", err)
				return
			}
			for i := 1; i < len(ms); i++ {
				if ms[i].SentAt.Before(ms[i-1].SentAt) {
					errs <- fmt.Errorf("reader saw messages out of order")
					return
				}
			}
		}
	}
	stop.Add(2)
	go read(a)
	go read(b)
	wg.Add(4)
	go write(a, 0)
	go write(b, 1000)
	go write(a, 2000)
	go write(b, 3000)
	wg.Wait()
	close(done)
	stop.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := b.Conversation(alice)
	if err != nil {
		t.Fatal(err)
	}
	deleted := 4 * (perWriter / 8)
	if want := 4*perWriter - deleted; c.Messages != want {
		t.Fatalf("%d messages stored, want %d", c.Messages, want)
	}
	if items, _ := a.Outbox(); len(items) != 4*perWriter-deleted {
		t.Fatalf("%d outbox items, want %d", len(items), 4*perWriter-deleted)
	}
}

// TestTwoProcesses writes from this process and from a child process (this
// test binary re-run as a helper) into one file at the same time.
func TestTwoProcesses(t *testing.T) {
	if os.Getenv("CLIENTDB_HELPER_PATH") != "" {
		t.Skip("helper run")
	}
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 60
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "CLIENTDB_HELPER_PATH="+path, "CLIENTDB_HELPER_N="+strconv.Itoa(n))
	out := make(chan error, 1)
	go func() {
		b, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, b)
		}
		out <- err
	}()
	for i := range n {
		m := incoming(0, i, "parent")
		m.MessageID = MessageID{1, byte(i)}
		if _, _, err := db.InsertMessage(alice, m); err != nil {
			t.Fatalf("parent insert %d: %v", i, err)
		}
	}
	if err := <-out; err != nil {
		t.Fatalf("helper: %v", err)
	}
	c, err := db.Conversation(alice)
	if err != nil || c.Messages != 2*n {
		t.Fatalf("%d messages after both processes wrote %d, %v", c.Messages, n, err)
	}
}

// TestHelperProcess is the child of TestTwoProcesses.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("CLIENTDB_HELPER_PATH")
	if path == "" {
		t.Skip("only run as a helper of TestTwoProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("CLIENTDB_HELPER_N"))
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		m := incoming(0, i, "child")
		m.MessageID = MessageID{2, byte(i)}
		if _, _, err := db.InsertMessage(alice, m); err != nil {
			t.Fatalf("child insert %d: %v", i, err)
		}
		if i%10 == 9 {
			if _, err := db.DeleteMessageByID(bob, MessageID{3, byte(i)}, at(i)); err != nil {
				t.Fatalf("child delete %d: %v", i, err)
			}
		}
	}
}
