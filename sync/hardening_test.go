package p2psync_test

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// TestLargeFrameBeforeAuthenticationIsRefused: a stranger announces a
// frame of 8 MiB as its hello. The device refuses it at once, without
// reading or allocating it (before authentication frames are bounded to
// kilobytes; the 96 MiB bound holds only once the peer is admitted).
func TestLargeFrameBeforeAuthenticationIsRefused(t *testing.T) {
	a, stranger := newDevice(t), newDevice(t)
	a.register(t, "ada@example.org")
	r := openRaw(t, stranger, a)
	r.s.Write(binary.AppendUvarint(nil, 8<<20))
	r.s.Write([]byte(`{"t":"hello","user":"`))
	start := time.Now()
	if m, err := r.recv(); err == nil {
		t.Fatalf("answered: %v", m)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the stream was held open %v waiting for the frame", d)
	}
	eventually(t, 5*time.Second, "the refusal in the log", func() bool {
		return strings.Contains(a.logs.String(), "frame too large")
	})
}

// TestRemovedDeviceCannotReplayItsWayBack: a removed device keeps the
// signed device list that named it. While one device (b) has not yet heard
// of the removal, the removed device writes its device cells back and puts
// the old signed list into the list's cell, with times after the removal,
// and b carries both to the device that removed it. Last-writer-wins alone
// would take them (the old list verifies under the profile key, and names
// exactly the devices of the cells): the removed device would be listed
// again everywhere. Every device that has seen the removal refuses the
// replayed list, tombstones the device cells again and puts the list in
// force back, and the removed device stays out.
func TestRemovedDeviceCannotReplayItsWayBack(t *testing.T) {
	ctx := context.Background()
	a, b, r := newDevice(t), newDevice(t), newDevice(t)
	pa := a.register(t, "ada@example.org")
	pb := b.join(t, a, pa, "b")
	pr := r.join(t, a, pa, "r")
	// b and r meet directly (no mDNS in tests).
	b.svc.Host().Peerstore().AddAddrs(r.svc.Host().ID(), r.svc.Host().Addrs(), time.Hour)
	r.svc.Host().Peerstore().AddAddrs(b.svc.Host().ID(), b.svc.Host().Addrs(), time.Hour)
	b.svc.Refresh(pb.UserID)
	converged(t, pa.UserID, a, b, r)
	eventually(t, 10*time.Second, "all three lists", func() bool {
		l, _, _ := b.App.DeviceList(ctx, pa.UserID, pa.DEK)
		return l != nil && len(l.Devices) == 3
	})
	_, oldList, _ := r.App.DeviceList(ctx, pr.UserID, pr.DEK)

	// a removes r while offline: b does not hear of it yet.
	a.svc.Close()
	if err := a.App.RemoveDevice(ctx, pa, r.DB.DeviceID()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // r's times come after the removal's
	// The removed device writes itself back, replaying the old list.
	err := r.DB.Update(ctx, pr.UserID, pr.DEK, func(tx app.Tx) error {
		for _, c := range []app.Cell{
			{Entity: app.EntityDevice, ID: r.DB.DeviceID(), Field: "peer_id", Clear: []byte(r.svc.PeerID())},
			{Entity: app.EntityDevice, ID: r.DB.DeviceID(), Field: "name", Value: []byte("r")},
			{Entity: app.EntityDevice, ID: r.DB.DeviceID(), Field: "added_at", Clear: []byte(time.Now().UTC().Format(time.RFC3339))},
			{Entity: app.EntityDeviceList, ID: pr.ProfileID, Field: "signed", Clear: oldList},
		} {
			if err := tx.Put(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, pa.UserID, b, r) // b carries it
	// a comes back and meets b.
	a.start(t)
	eventually(t, 20*time.Second, "the removal on b", func() bool {
		l, _, _ := b.App.DeviceList(ctx, pa.UserID, pa.DEK)
		return l != nil && len(l.Devices) == 2 && !l.Has(r.DB.DeviceID(), r.svc.PeerID())
	})
	// Both take the written-back cells first (they are newer), and the
	// digests agree for a moment; then each, after the exchange, tombstones
	// them again. Wait for that, not for the moment.
	eventually(t, 20*time.Second, "the written-back device cells tombstoned again", func() bool {
		for d, p := range map[*device]*app.Principal{a: pa, b: pb} {
			if ds, err := d.App.Devices(ctx, p); err != nil || len(ds) != 2 {
				return false
			}
		}
		return true
	})
	converged(t, pa.UserID, a, b)
	for name, d := range map[string]*device{"a": a, "b": b} {
		l, _, err := d.App.DeviceList(ctx, pa.UserID, pa.DEK)
		if err != nil || l.Has(r.DB.DeviceID(), r.svc.PeerID()) {
			t.Fatalf("%s lists the removed device again: %+v %v", name, l, err)
		}
		p := pa
		if d == b {
			p = pb
		}
		ds, err := d.App.Devices(ctx, p)
		if err != nil || len(ds) != 2 {
			t.Fatalf("%s shows %d devices: %+v %v", name, len(ds), ds, err)
		}
	}
	// The replayed list opens no stream, on either device.
	for name, d := range map[string]*device{"a": a, "b": b} {
		raw := openRaw(t, r, d)
		raw.send(t, map[string]any{"t": "hello", "user": pr.UserID, "device": r.DB.DeviceID(), "list": oldList})
		if m, err := raw.recv(); err == nil {
			t.Fatalf("%s answered the removed device: %v", name, m)
		}
	}
	// And b, once it knows, refuses to list it again when asked to pair it.
	again := app.PeerRecord{DeviceID: r.DB.DeviceID(), PeerID: r.svc.PeerID()}
	if _, err := b.App.Replica().AddDevice(ctx, pa.UserID, again, "r", func([]byte) bool { return true }); err == nil {
		t.Fatal("a removed device was listed again")
	}
}
