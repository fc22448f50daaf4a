//go:build lab && linux

package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/labnet"
)

// attachmentSize is a large attachment: the largest onion size class
// (2 MiB), what one chunk of a file crosses a client's link as.
const attachmentSize = 2 << 20

// headerSlack bounds the bytes a transfer's counters may see outside its
// timed window (ARP, the handshake before it, the last ACK and FIN after
// it).
const headerSlack = 4 << 10

// TestLabBandwidth checks the mobile profile's 2 Mbit/s (tc tbf on the
// phone's veth and bridge port): an attachment-size transfer up and down
// takes at least the bytes its eth0 counters saw, less the bucket, over
// the rate. It asserts that lower bound only, never an upper one: a busy
// machine may take longer. An unshaped transfer is logged for contrast.
func TestLabBandwidth(t *testing.T) {
	ctx := testCtx(t, 10*time.Minute)
	l := newLab(t)
	phone, err := l.AddHost("phone", "10.77.20.1")
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.AddHost("server", "10.77.1.1")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rate := labnet.Mobile.Rate
	for i, tc := range []struct {
		name   string
		shaped bool
		upload bool
	}{
		{"unshaped upload", false, true},
		{"mobile upload", true, true},
		{"mobile download", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shape := int64(0)
			if tc.shaped {
				shape = rate
			}
			if err := l.Shape(phone, shape); err != nil {
				t.Fatal(err)
			}
			addr := fmt.Sprintf("%s:%d", server.Addr, 9100+i)
			up, down := int64(attachmentSize), int64(1)
			if !tc.upload {
				up, down = 0, attachmentSize
			}
			job, _ := json.Marshal(helperJob{Mode: "serve", Nodes: []helperNode{{Address: addr}}, Download: down})
			srv, err := l.Start(server, filepath.Join(l.Dir, fmt.Sprintf("serve%d.log", i)), []string{envHelper + "=" + string(job)}, self, "-test.run=^$")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			before, err := l.Counters(phone)
			if err != nil {
				t.Fatal(err)
			}
			res := runHelper(ctx, t, l, phone, helperJob{Mode: "transfer", Nodes: []helperNode{{Address: addr}}, Upload: up})
			after, err := l.Counters(phone)
			if err != nil {
				t.Fatal(err)
			}
			payload, moved := res.Sent, after.TxBytes-before.TxBytes
			if !tc.upload {
				payload, moved = res.Received, after.RxBytes-before.RxBytes
			}
			if payload != attachmentSize || moved < attachmentSize {
				t.Fatalf("%d payload bytes, %d on the phone's eth0; want %d and more", payload, moved, attachmentSize)
			}
			t.Logf("%d payload bytes, %d on the phone's eth0 (headers included) in %v: %.2f Mbit/s",
				payload, moved, res.Took.Round(time.Millisecond), float64(moved)*8/res.Took.Seconds()/1e6)
			if !tc.shaped {
				return
			}
			least := time.Duration(float64(moved-ShapeBurst-headerSlack) * 8 / float64(rate) * float64(time.Second))
			if res.Took < least {
				t.Fatalf("%d bytes crossed a %d bit/s link in %v, less than the %v the rate allows", moved, rate, res.Took, least)
			}
			t.Logf("at least %v at %.0f Mbit/s: took %v", least.Round(time.Millisecond), float64(rate)/1e6, res.Took.Round(time.Millisecond))
		})
	}
}
