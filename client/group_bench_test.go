package client

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/group"
)

// BenchmarkGroupSend compares, in one run on a standalone node, a 1:1
// send (sealed with v2 to the recipient's device and to the own account:
// two stores) with a send to a group of 100 members (one store of one
// ciphertext, whatever the size of the group). stores/op counts the
// outbox items each send queues.
func BenchmarkGroupSend(b *testing.B) {
	nd := startStandalone(b)
	ctx := context.Background()
	alice := openV2(b, newHome(b), Options{Standalone: nd})
	bob := openV2(b, newHome(b), Options{Standalone: nd})
	for _, c := range []*Client{alice, bob} {
		if err := c.PublishKeys(ctx); err != nil {
			b.Fatal(err)
		}
	}
	g, err := alice.CreateGroup(ctx, "hundred", []identity.AccountID{bob.Account()})
	if err != nil {
		b.Fatal(err)
	}
	// 98 more members (the send does not read them: one ciphertext for
	// all).
	err = alice.updateGroup(g.ID, func(st *groupState) error {
		es := st.entries()
		for range group.MaxMembers - 2 {
			es = append(es, group.Entry{Account: identity.NewAccount().ID(), Role: group.RoleMember, State: group.StateJoined, Changed: 1})
		}
		st.setEntries(group.MergeEntries(es))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if gi, _ := alice.GroupInfo(g.ID); gi.Members != group.MaxMembers {
		b.Fatalf("%d members", gi.Members)
	}
	for _, tc := range []struct {
		name string
		to   identity.AccountID
	}{{"1to1", bob.Account()}, {"group100", g.ID}} {
		b.Run(tc.name, func(b *testing.B) {
			stores := 0
			for b.Loop() {
				before, _ := alice.db.Outbox()
				var err error
				if IsGroupID(tc.to) {
					_, err = alice.queueGroupData(tc.to, &envelope.DataMessage{Body: "x"}, nil)
				} else {
					_, err = alice.Queue(tc.to, "x")
				}
				if err != nil {
					b.Fatal(err)
				}
				after, _ := alice.db.Outbox()
				stores += len(after) - len(before)
				if _, err := alice.FlushOutbox(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(stores)/float64(b.N), "stores/op")
		})
	}
}

// BenchmarkGroupFanout compares the work of an admin who removes a member
// of a 100-member group (one device each) with the least a fresh key for
// 99 members costs 1:1: 99 protocol v2 seals of a 32-byte key (and 99
// stores). The removal seals an 82-byte grant per member with v2, packs
// the seals into key messages signed by the group key, and signs and
// seals the revocation list and the member and info configs; its stores
// are the key messages (a few), the two configs and the list.
func BenchmarkGroupFanout(b *testing.B) {
	now := time.Now()
	type member struct {
		id      identity.AccountID
		bundles []prekey.Bundle
	}
	members := make([]member, group.MaxMembers-1)
	for i := range members {
		acct := identity.NewAccount()
		dev := devicerecord.NewDevice()
		keys, err := prekey.NewDeviceKeys(dev.ID, prekey.Inbox)
		if err != nil {
			b.Fatal(err)
		}
		if err := keys.Generate(prekey.EpochOf(now)-1, prekey.EpochOf(now)); err != nil {
			b.Fatal(err)
		}
		raw, err := devicerecord.Make(acct, dev, keys, now)
		if err != nil {
			b.Fatal(err)
		}
		rec, err := devicerecord.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		members[i] = member{acct.ID(), devicerecord.Bundles([]*devicerecord.Record{rec})}
	}
	admin := identity.NewAccount()
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	ga, err := group.NewAdmin(seed)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-99-v2-seals", func(b *testing.B) {
		var key [32]byte
		for b.Loop() {
			rand.Read(key[:])
			for _, m := range members {
				if _, err := sealv2.Seal(admin, m.id, m.bundles, now, key[:]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(members)), "stores/op")
	})
	b.Run("group-removal-100", func(b *testing.B) {
		var stores int
		var entries []group.Entry
		var mkeys []group.MemberKey
		for _, m := range members {
			entries = append(entries, group.Entry{Account: m.id, Role: group.RoleMember, State: group.StateJoined, Changed: 1})
			mk := identity.NewAccount().Ed25519Public()
			mkeys = append(mkeys, group.MemberKey{Account: m.id, Key: mk})
		}
		for b.Loop() {
			k := group.Key{Generation: 2}
			rand.Read(k.Secret[:])
			grant := group.Grant{Group: ga.Group(), Key: k, Created: now}.Marshal()
			var sealed [][]byte
			for _, m := range members {
				s, err := sealv2.Seal(admin, m.id, m.bundles, now, grant)
				if err != nil {
					b.Fatal(err)
				}
				sealed = append(sealed, s)
			}
			msgs, err := group.SplitKeyMessages(k.Generation, k.ID(ga.Group()), now, sealed)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range msgs {
				if _, err := m.Sign(ga); err != nil {
					b.Fatal(err)
				}
			}
			rev := &group.Revocations{Version: 1, Created: now, Revoked: []identity.Ed25519PublicKey{mkeys[0].Key}}
			if _, err := rev.Sign(ga); err != nil {
				b.Fatal(err)
			}
			sec, err := group.SealAdminSection(ga, mkeys)
			if err != nil {
				b.Fatal(err)
			}
			payload, err := (&group.Members{Entries: group.MergeEntries(entries), AdminSection: sec}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := group.SealConfig(ga, group.KindMembers, 2, now, k, payload); err != nil {
				b.Fatal(err)
			}
			info, _ := (&group.Info{Name: "hundred"}).Marshal()
			if _, err := group.SealConfig(ga, group.KindInfo, 2, now, k, info); err != nil {
				b.Fatal(err)
			}
			stores += len(msgs) + 3
		}
		b.ReportMetric(float64(stores)/float64(b.N), "stores/op")
	})
}
