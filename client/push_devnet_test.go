package client

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/push/pushtest"
)

// TestPushDevnet: on a devnet of hushd processes with a real push server
// (`hushd push`), bob subscribes with each provider in turn — a Web Push
// receiver that decrypts with bob's keys (RFC 8291) and checks the VAPID
// token, then the APNs and FCM stand-ins that check every header and
// signature. Alice sends; exactly one push arrives (every member of bob's
// swarm notifies; the push server drops the repeats), it opens with bob's
// subscription key and names alice's message, which bob then fetches.
func TestPushDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hushd processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute) // the devnet may take six to form
	defer cancel()

	ca := pushtest.NewCA(t)
	web := pushtest.StartWebPush(t, ca)
	apns := pushtest.StartAPNs(t, ca, "org.hush.app")
	fcm := pushtest.StartFCM(t, ca, "hush-test")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	der, err := x509.MarshalPKCS8PrivateKey(apns.Key)
	if err != nil {
		t.Fatal(err)
	}
	roots := write("ca.pem", ca.PEM)
	apnsKey := write("apns.p8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	fcmKey := write("fcm.json", fcm.ServiceAccountJSON)

	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("build hushd: %v\n%s", err, out)
	}
	d, err := devnet.Up(ctx, devnet.Options{
		// Six minutes to form, as the CLI scripts give it: the two-minute
		// default was passed under -race on a loaded machine.
		Timeout: 6 * time.Minute,
		Dir:     t.TempDir(), Nodes: 6, Processes: true, HushdPath: bin,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, UnreachableAfter: time.Hour,
		Push: func(c *config.Push) {
			c.TestExtraRoots = roots
			c.APNsBaseURL, c.APNsTeamID, c.APNsKeyID, c.APNsKeyFile, c.APNsTopic = apns.URL, apns.Team, apns.KeyID, apnsKey, apns.Topic
			c.FCMBaseURL, c.FCMServiceAccount, c.FCMTokenURL = fcm.URL, fcmKey, fcm.TokenURL()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })

	o := Options{Network: d.Network()}
	alice, bob := open(t, newHome(t), o), open(t, newHome(t), o)
	bob.AddContact(alice.Account(), "alice")
	alice.AddContact(bob.Account(), "bob")

	sub := web.Subscribe(t)
	for _, tc := range []struct {
		name   string
		target PushTarget
		pushes chan pushtest.Push
		refuse chan string
	}{
		{"webpush", PushTarget{WebPush: &WebPushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}}, web.Pushes, web.Refused},
		{"apns", PushTarget{APNs: apns.DeviceToken()}, apns.Pushes, apns.Refused},
		{"fcm", PushTarget{FCM: fcm.DeviceToken()}, fcm.Pushes, fcm.Refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The push server serves the relays of the snapshots it
			// follows; the first may still be on its way.
			waitForLong(t, time.Minute, "the subscription", func() bool {
				err := bob.SubscribePush(ctx, tc.target)
				if err != nil {
					t.Logf("subscribe: %v", err)
				}
				return err == nil
			})
			text := "wake up, " + tc.name
			if _, err := alice.Send(ctx, bob.Account(), text); err != nil {
				t.Fatal(err)
			}
			var p pushtest.Push
			select {
			case p = <-tc.pushes:
			case r := <-tc.refuse:
				t.Fatalf("the provider refused the push: %s", r)
			case <-ctx.Done():
				t.Fatal("no push arrived")
			}
			in, err := bob.OpenPush(p.Payload)
			if err != nil || in.Test || in.Hash == "" {
				t.Fatalf("OpenPush = %+v, %v", in, err)
			}
			// A push comes once the first member has the message; a sync
			// asks two members, which may not all have it yet.
			waitForLong(t, time.Minute, "bob fetches the pushed message", func() bool {
				_, found, err := bob.FetchPushed(ctx, in)
				if err != nil {
					t.Logf("fetch: %v", err)
				}
				h, _ := bob.History(alice.Account())
				return found || (len(h) > 0 && h[len(h)-1].Text == text)
			})
			// Every member of bob's swarm notified; one push went out.
			select {
			case extra := <-tc.pushes:
				if again, err := bob.OpenPush(extra.Payload); err == nil && again.Hash == in.Hash {
					t.Fatal("a second push for the same message")
				}
			case <-time.After(2 * time.Second):
			}
		})
	}
}
