package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
)

// notificationsCommand is `hush notifications slow|fast|status`, `hush
// notifications push` and `hush notifications test`: this device's
// notification mode (DESIGN.md §7) and what it exposes.
func (a *app) notificationsCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "notifications slow|fast|status",
		Short: "Choose how this device learns of new messages",
		Long: `Set this device's notification mode, or show it with what it exposes.

  slow    poll your swarm through onion paths every few seconds
  fast    hold one long-lived request through an onion path, answered as soon
          as a message arrives (the default)
  push    let the network's push server wake this device through its provider
          (hush notifications push --webpush/--apns/--fcm; see its help)

The mode is a setting of this device only. "hush notifications status" shows
the mode with a paragraph on who learns what; read it before choosing.
Leaving push mode cancels the push subscription (at the push server and in
your swarm); when the network cannot be reached, the next command that
reaches it finishes that.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(client.NotifySlow), string(client.NotifyFast), "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			var mode client.NotificationMode
			if args[0] != "status" {
				var err error
				if mode, err = client.ParseNotificationMode(args[0]); err != nil {
					return err
				}
				if mode == client.NotifyPush {
					return errors.New("push needs a target: hush notifications push --webpush URL --p256dh KEY --auth SECRET, --apns TOKEN or --fcm TOKEN")
				}
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			leaving := false
			if mode != "" {
				if err := c.SetNotifications(mode); err != nil {
					c.Close()
					return err
				}
				st, err := c.Notifications()
				leaving = err == nil && st.Push != nil
			}
			if leaving {
				// Leaving push: cancel the subscription now if the network
				// can be reached (the home is opened again with it).
				c.Close()
				nc, err := a.openClient(cmd.Context(), &f, true)
				if err == nil {
					err = nc.UnsubscribePush(cmd.Context())
					nc.Close()
				}
				if err != nil {
					fmt.Fprintf(a.stderr, "The push subscription could not be cancelled yet (%v); the next hush command that reaches the network will.\n", err)
				}
				if c, err = a.openClient(cmd.Context(), &netFlags{}, false); err != nil {
					return err
				}
			}
			defer c.Close()
			return a.showNotifications(c)
		},
	}
	f.register(cmd)
	cmd.AddCommand(a.notificationsPushCommand(), a.notificationsTestCommand())
	return cmd
}

// showNotifications prints the mode, the push subscription if any, and
// what the mode exposes.
func (a *app) showNotifications(c *client.Client) error {
	st, err := c.Notifications()
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(st)
	}
	fmt.Fprintf(a.stdout, "notifications: %s\n", st.Mode)
	if p := st.Push; p != nil {
		fmt.Fprintf(a.stdout, "push subscription: %s (%s)\n", p.State, p.Provider)
		fmt.Fprintf(a.stdout, "  target:          %s\n", p.Target)
		fmt.Fprintf(a.stdout, "  push server:     %s\n", p.Server)
		fmt.Fprintf(a.stdout, "  subscription ID: %s\n", p.SubID)
		fmt.Fprintf(a.stdout, "  expires:         %s (renewed from %s)\n", p.Expires.Format(time.RFC3339), p.RenewAt.Format(time.RFC3339))
		if p.Problem != "" {
			fmt.Fprintf(a.stdout, "  problem:         %s\n", p.Problem)
		}
		for _, g := range p.Groups {
			fmt.Fprintf(a.stdout, "  group %s: %s, subscription ID %s, expires %s\n", g.Group.Short(), g.State, g.SubID, g.Expires.Format(time.RFC3339))
			if g.Problem != "" {
				fmt.Fprintf(a.stdout, "    problem: %s\n", g.Problem)
			}
		}
	}
	fmt.Fprintf(a.stdout, "\n%s\n", st.Explanation)
	return nil
}

func (a *app) notificationsPushCommand() *cobra.Command {
	var f netFlags
	var webpush, p256dh, auth, apns, fcm string
	cmd := &cobra.Command{
		Use:   "push (--webpush URL --p256dh KEY --auth SECRET | --apns TOKEN | --fcm TOKEN)",
		Short: "Subscribe this device to pushes and make push its notification mode",
		Long: `Subscribe this device to pushes through the network's push server, and make
push its notification mode.

  --webpush URL --p256dh KEY --auth SECRET
          a Web Push subscription: what a UnifiedPush distributor or a browser's
          PushSubscription hands an application (keys in base64url)
  --apns TOKEN   an APNs device token (hex), for iOS builds
  --fcm TOKEN    an FCM registration token, for Android builds

The subscription is registered through an onion path, so the push server
learns neither your IP address nor your Account ID; its record is stored in
your own swarm, whose nodes then notify the push server of new messages.
It is renewed by the background duties before it expires (14 days), and
hush still polls now and then in case a push is lost. Read the paragraph it
prints on who learns what.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var t client.PushTarget
			n := 0
			if webpush != "" || p256dh != "" || auth != "" {
				if webpush == "" || p256dh == "" || auth == "" {
					return errors.New("--webpush needs --p256dh and --auth")
				}
				t.WebPush = &client.WebPushTarget{Endpoint: webpush, P256dh: p256dh, Auth: auth}
				n++
			}
			if apns != "" {
				t.APNs = apns
				n++
			}
			if fcm != "" {
				t.FCM = fcm
				n++
			}
			if n != 1 {
				return errors.New("give exactly one of --webpush (with --p256dh and --auth), --apns or --fcm")
			}
			c, err := a.openClient(cmd.Context(), &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.SubscribePush(cmd.Context(), t); err != nil {
				return err
			}
			return a.showNotifications(c)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&webpush, "webpush", "", "Web Push endpoint (https URL)")
	fl.StringVar(&p256dh, "p256dh", "", "Web Push subscriber's P-256 public key (base64url)")
	fl.StringVar(&auth, "auth", "", "Web Push authentication secret (base64url)")
	fl.StringVar(&apns, "apns", "", "APNs device token (hex)")
	fl.StringVar(&fcm, "fcm", "", "FCM registration token")
	return cmd
}

func (a *app) notificationsTestCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Push to this device through the push server, as a new message would",
		Long: `Send this device a push through the push server, as a node of your swarm
does for a new message. The provider delivers an opaque payload; "hush tool
push-open PAYLOAD" opens it and says it is a test.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openClient(cmd.Context(), &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.TestPush(cmd.Context()); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]bool{"sent": true})
			}
			fmt.Fprintln(a.stdout, "Test push sent to the push server; it should reach this device through its provider.")
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// pushPayload decodes a push payload as a device hands it over: base64 in
// any common spelling.
func pushPayload(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return b64url.DecodeString(s)
}
