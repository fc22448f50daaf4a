package client

import (
	"bytes"
	"context"
	"testing"
)

// TestGroupSendFiles: a group message with a file (issue 21, item 4) is
// uploaded as for a 1:1 chat and sent as one group copy; a member
// stores its pointer, fetches the file and opens it to the bytes sent.
func TestGroupSendFiles(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	files, codec := newFakeFiles(), newMediaCodec()
	o := Options{Standalone: nd, Files: files}
	alice := openV2(t, newHome(t), o)
	bob := openV2(t, newHome(t), o)
	alice.codec, bob.codec = codec, codec
	gid := groupOf(t, alice, bob)

	path, want := writeFile(t, "group-secret-name.bin", 2*pieceSize+777)
	m, err := alice.SendFiles(ctx, gid, "a file for the group", []FileToSend{{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "a file for the group" || len(m.Attachments) != 1 {
		t.Fatalf("sent message: %+v", m)
	}
	if got := open1(t, alice, m.ID, 0); !bytes.Equal(got, want) {
		t.Fatal("alice's own copy does not open to the bytes sent")
	}
	var got Message
	groupSync(t, bob, "the group message with a file", func() bool {
		h, _ := bob.History(gid)
		for _, x := range h {
			if x.Text == "a file for the group" {
				got = x
				return true
			}
		}
		return false
	})
	if got.Sender != alice.Account() || len(got.Attachments) != 1 {
		t.Fatalf("bob's message: %+v", got)
	}
	if a := got.Attachments[0]; a.FileName != "group-secret-name.bin" || a.Size != int64(len(want)) {
		t.Fatalf("bob's attachment: %+v", a)
	}
	if err := bob.FetchMedia(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if b := open1(t, bob, got.ID, 0); !bytes.Equal(b, want) {
		t.Fatal("bob's copy does not open to the bytes sent")
	}
}
