package clientdb

import (
	"errors"
	"testing"
)

func TestDevices(t *testing.T) {
	key1, key2 := []byte("device-key-one-32-bytes-long...."), []byte("device-key-two-32-bytes-long....")
	tests := []struct {
		name    string
		d       Device
		now     int
		wantNew bool
		wantErr error
	}{
		{"first device", Device{Account: me, ID: DeviceID{1}, PublicKey: key1, Name: "laptop", Created: at(1)}, 10, true, nil},
		{"announced again, renamed", Device{Account: me, ID: DeviceID{1}, PublicKey: key1, Name: "work laptop", Created: at(1)}, 20, false, nil},
		{"a second device appears", Device{Account: me, ID: DeviceID{2}, PublicKey: key2, Name: "phone"}, 30, true, nil},
		{"same ID, another account", Device{Account: alice, ID: DeviceID{1}, PublicKey: key2}, 40, true, nil},
		{"key change refused", Device{Account: me, ID: DeviceID{1}, PublicKey: key2}, 50, false, ErrDeviceKeyChanged},
		{"no key", Device{Account: me, ID: DeviceID{3}}, 60, false, ErrInvalid},
		{"zero ID", Device{Account: me, PublicKey: key1}, 60, false, ErrInvalid},
	}
	db, _ := openTest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isNew, err := db.UpsertDevice(tt.d, at(tt.now))
			if !errors.Is(err, tt.wantErr) || isNew != tt.wantNew {
				t.Fatalf("UpsertDevice = %v, %v; want %v, %v", isNew, err, tt.wantNew, tt.wantErr)
			}
		})
	}
	ds, err := db.Devices(me)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Devices(me) = %+v, %v", ds, err)
	}
	d := ds[0]
	if d.ID != (DeviceID{1}) || d.Name != "work laptop" || string(d.PublicKey) != string(key1) || !d.Created.Equal(at(1)) ||
		!d.FirstSeen.Equal(at(10)) || !d.LastSeen.Equal(at(20)) {
		t.Fatalf("first device: %+v", d)
	}
	if ds[1].Name != "phone" || !ds[1].Created.IsZero() {
		t.Fatalf("second device: %+v", ds[1])
	}
	if err := db.DeleteDevice(me, DeviceID{2}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDevice(me, DeviceID{2}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteDevice: %v", err)
	}
	if ds, _ := db.Devices(me); len(ds) != 1 {
		t.Fatalf("after delete: %+v", ds)
	}
	if ds, _ := db.Devices(alice); len(ds) != 1 || ds[0].Account != alice {
		t.Fatalf("alice's devices: %+v", ds)
	}
}
