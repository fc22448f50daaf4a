package clientdb

import (
	"errors"
	"testing"
)

func TestContacts(t *testing.T) {
	carol := account(0xc0)
	tests := []struct {
		name    string
		upserts []Contact
		wantErr error // of the last upsert
		check   func(t *testing.T, db *DB)
	}{
		{
			name:    "create and find by account and nickname",
			upserts: []Contact{{Account: alice, Nickname: "Alice", DisplayName: "A. Liddell", Accepted: true}},
			check: func(t *testing.T, db *DB) {
				for _, lookup := range []func() (Contact, error){
					func() (Contact, error) { return db.ContactByAccount(alice) },
					func() (Contact, error) { return db.ContactByNickname("alice") },
					func() (Contact, error) { return db.ContactByNickname("  ALICE ") },
				} {
					c, err := lookup()
					if err != nil {
						t.Fatal(err)
					}
					if c.Account != alice || c.Nickname != "Alice" || c.DisplayName != "A. Liddell" || !c.Accepted || c.Blocked || !c.Created.Equal(t0) {
						t.Fatalf("got %+v", c)
					}
				}
			},
		},
		{
			name: "nickname taken by another contact",
			upserts: []Contact{
				{Account: alice, Nickname: "friend"},
				{Account: bob, Nickname: " Friend"},
			},
			wantErr: ErrNicknameTaken,
			check: func(t *testing.T, db *DB) {
				if _, err := db.ContactByAccount(bob); !errors.Is(err, ErrNotFound) {
					t.Fatalf("bob after refused upsert: %v", err)
				}
			},
		},
		{
			name: "renaming keeps created and frees the old nickname",
			upserts: []Contact{
				{Account: alice, Nickname: "old", Created: t0},
				{Account: alice, Nickname: "new", Created: at(100), Blocked: true},
				{Account: bob, Nickname: "old"},
			},
			check: func(t *testing.T, db *DB) {
				c, err := db.ContactByNickname("new")
				if err != nil || c.Account != alice || !c.Created.Equal(t0) || !c.Blocked {
					t.Fatalf("alice: %+v, %v", c, err)
				}
				if c, err := db.ContactByNickname("old"); err != nil || c.Account != bob {
					t.Fatalf("old: %+v, %v", c, err)
				}
			},
		},
		{
			name:    "display name never addresses",
			upserts: []Contact{{Account: alice, DisplayName: "boss"}},
			check: func(t *testing.T, db *DB) {
				if _, err := db.ContactByNickname("boss"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("lookup by display name: %v", err)
				}
			},
		},
		{
			name:    "zero account refused",
			upserts: []Contact{{Nickname: "nobody"}},
			wantErr: ErrInvalid,
		},
		{
			name:    "blank nickname refused",
			upserts: []Contact{{Account: alice, Nickname: "   "}},
			wantErr: ErrInvalid,
		},
		{
			name:    "over-long nickname refused",
			upserts: []Contact{{Account: alice, Nickname: string(make([]byte, maxNicknameLen+1))}},
			wantErr: ErrInvalid,
		},
		{
			name: "listing order: nicknames folded, then unnamed",
			upserts: []Contact{
				{Account: carol, DisplayName: "zed"},
				{Account: bob, Nickname: "bob"},
				{Account: alice, Nickname: "Alice"},
			},
			check: func(t *testing.T, db *DB) {
				cs, err := db.Contacts()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range cs {
					got = append(got, c.Nickname+"/"+c.DisplayName)
				}
				want := []string{"Alice/", "bob/", "/zed"}
				if len(got) != len(want) {
					t.Fatalf("got %q, want %q", got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("got %q, want %q", got, want)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			var err error
			for _, c := range tt.upserts {
				err = db.UpsertContact(c, t0)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("last UpsertContact: %v, want %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, db)
			}
		})
	}
}

func TestSetDisplayNameAndDelete(t *testing.T) {
	db, _ := openTest(t)
	if err := db.SetDisplayName(alice, "Alice W.", at(5)); err != nil {
		t.Fatal(err)
	}
	c, err := db.ContactByAccount(alice)
	if err != nil || c.DisplayName != "Alice W." || c.Accepted || c.Nickname != "" || !c.Created.Equal(at(5)) {
		t.Fatalf("new request contact: %+v, %v", c, err)
	}
	c.Nickname, c.Accepted = "al", true
	if err := db.UpsertContact(c, at(6)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDisplayName(alice, "Alice X.", at(7)); err != nil {
		t.Fatal(err)
	}
	c, err = db.ContactByNickname("al")
	if err != nil || c.DisplayName != "Alice X." || !c.Accepted || !c.Created.Equal(at(5)) {
		t.Fatalf("after display name change: %+v, %v", c, err)
	}
	if err := db.DeleteContact(alice); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContact(alice); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := db.ContactByNickname("al"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("nickname after delete: %v", err)
	}
	if err := db.UpsertContact(Contact{Account: bob}, zeroTime); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero now: %v", err)
	}
}
