package store_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
)

func put(t *testing.T, db *store.DB, user string, dek []byte, c app.Cell) {
	t.Helper()
	if err := db.Update(context.Background(), user, dek, func(tx app.Tx) error { return tx.Put(c) }); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, db *store.DB, user string, dek []byte, entity, id string) {
	t.Helper()
	if err := db.Update(context.Background(), user, dek, func(tx app.Tx) error { return tx.Delete(entity, id) }); err != nil {
		t.Fatal(err)
	}
}

func allOps(t *testing.T, db *store.DB, user string) []app.Op {
	t.Helper()
	ops, err := db.OpsSince(context.Background(), user, nil, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// fileBytes reads the database file and its WAL.
func fileBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{store.DBFile, store.DBFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// windows are pieces of b, any of which found in a file would mean b (or
// enough of it to recognise) is still there.
func windows(b []byte) [][]byte {
	const w = 24
	var out [][]byte
	for i := 0; i+w <= len(b); i += max(w, len(b)/16) {
		out = append(out, b[i:i+w])
	}
	return out
}

// TestDeletedValuesLeaveNoTrace deletes a health record and rejects (deletes)
// a licence image, each with a distinctive plaintext; after compaction and
// its checkpoint, neither the plaintext nor any piece of the ciphertexts
// the operations and cells held is anywhere in profile.db or its WAL.
func TestDeletedValuesLeaveNoTrace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, dir)
	user := app.NewID()
	dek, _ := crypto.NewKey()
	record := []byte(`{"diagnosis":"SECRET-DIAGNOSIS-hypothetical-condition-7Q3"}`)
	image := bytes.Repeat([]byte("LICENCE-IMAGE-PIXELS-8F2K-"), 8000) // ~200 KiB: overflow pages
	put(t, db, user, dek, app.Cell{Entity: "health_record", ID: "r1", Field: "data", Value: record})
	put(t, db, user, dek, app.Cell{Entity: "credential", ID: "c1", Field: "image", Value: image})
	put(t, db, user, dek, app.Cell{Entity: "field", ID: "name", Field: "value", Value: []byte(`"Ada"`)})
	// Something stays: the kept values must still be there.
	var secrets [][]byte
	for _, o := range allOps(t, db, user) {
		if o.Entity == "health_record" || o.Entity == "credential" {
			secrets = append(secrets, windows(o.Value)...)
		}
	}
	if len(secrets) == 0 {
		t.Fatal("no ciphertext captured")
	}
	secrets = append(secrets, []byte("SECRET-DIAGNOSIS"), []byte("LICENCE-IMAGE-PIXELS"))
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// The attack today: the values stay in the log after the delete.
	del(t, db, user, dek, "health_record", "r1")
	del(t, db, user, dek, "credential", "c1")
	res, err := db.Compact(ctx, user, []string{db.DeviceID()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Superseded < 2 || res.Tombstones < 2 {
		t.Fatalf("compaction %+v", res)
	}
	for name, b := range fileBytes(t, dir) {
		for _, s := range secrets {
			if bytes.Contains(b, s) {
				t.Fatalf("%s still holds %q… of a deleted value", name, s[:8])
			}
		}
	}
	// The live value survives, and no operation anywhere carries the old ones.
	db.View(ctx, user, dek, func(tx app.Tx) error {
		c, ok, err := tx.Get("field", "name", "value")
		if err != nil || !ok || string(c.Value) != `"Ada"` {
			t.Fatalf("live value lost: %q %v %v", c.Value, ok, err)
		}
		return nil
	})
	for _, o := range allOps(t, db, user) {
		if !o.Compacted && (o.Entity == "health_record" || o.Entity == "credential") {
			t.Fatalf("an operation of the deleted record stays: %+v", o)
		}
	}
}

// TestCompactKeepsIdentityAndWaitsForAcks: superseded values go at once,
// the vector is unchanged, and a tombstone stays until every listed device
// reported holding it (and this device holds what they held).
func TestCompactKeepsIdentityAndWaitsForAcks(t *testing.T) {
	ctx := context.Background()
	rs, user, dek := replicas(t, 2)
	a, b := rs[0].db, rs[1].db
	put(t, a, user, dek, app.Cell{Entity: "field", ID: "city", Field: "value", Value: []byte(`"Oslo"`)})
	put(t, a, user, dek, app.Cell{Entity: "field", ID: "city", Field: "value", Value: []byte(`"Bergen"`)})
	del(t, a, user, dek, "field", "city")
	before, _ := a.OpsVector(ctx, user)
	listed := []string{a.DeviceID(), b.DeviceID()}
	res, err := a.Compact(ctx, user, listed)
	if err != nil || res.Superseded != 2 || res.Tombstones != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if after, _ := a.OpsVector(ctx, user); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("vector changed: %v → %v", before, after)
	}
	ops := allOps(t, a, user)
	if len(ops) != 3 || !ops[0].Compacted || !ops[1].Compacted || ops[2].Compacted || !ops[2].Deleted {
		t.Fatalf("ops %+v", ops)
	}
	// b reports a vector that lacks the tombstone: it stays.
	a.PutPeerVector(ctx, user, b.DeviceID(), map[string]int64{a.DeviceID(): 2})
	if res, _ := a.Compact(ctx, user, listed); res.Tombstones != 0 {
		t.Fatal("a tombstone was dropped before every device held it")
	}
	// b holds it, but also something a lacks: it stays.
	a.PutPeerVector(ctx, user, b.DeviceID(), map[string]int64{a.DeviceID(): 3, b.DeviceID(): 1})
	if res, _ := a.Compact(ctx, user, listed); res.Tombstones != 0 {
		t.Fatal("a tombstone was dropped while a device held operations not seen here")
	}
	a.PutPeerVector(ctx, user, b.DeviceID(), map[string]int64{a.DeviceID(): 3})
	if res, _ := a.Compact(ctx, user, listed); res.Tombstones != 1 {
		t.Fatalf("the acknowledged tombstone stayed: %+v", res)
	}
	if after, _ := a.OpsVector(ctx, user); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("vector changed: %v → %v", before, after)
	}
	// Re-delivery of the old operations (from a device that kept them)
	// changes nothing: their identities are held.
	old, _ := crypto.Seal(dek, []byte(`"Oslo"`), []byte("cell\x00"+user+"\x00field\x00city\x00value"))
	r, err := a.ApplyOps(ctx, user, dek, []app.Op{{Device: a.DeviceID(), Counter: 1, HLC: 1, UserID: user, Entity: "field", ID: "city", Field: "value", Value: old}})
	if err != nil || r.Applied != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	if live := liveState(t, a, user, dek); len(live) != 0 {
		t.Fatalf("deleted cell came back: %v", live)
	}
}

// TestNewDeviceGetsOnlyTheCurrentState: a device joining after compaction
// receives the live cells' latest operations, live tombstones, and bare
// identities for the rest: no superseded value crosses.
func TestNewDeviceGetsOnlyTheCurrentState(t *testing.T) {
	ctx := context.Background()
	rs, user, dek := replicas(t, 2)
	src, dst := rs[0].db, rs[1].db
	for i := range 5 {
		put(t, src, user, dek, app.Cell{Entity: "field", ID: "note", Field: "value", Value: []byte(fmt.Sprintf(`"OLD-NOTE-%d"`, i))})
	}
	put(t, src, user, dek, app.Cell{Entity: "field", ID: "note", Field: "value", Value: []byte(`"current"`)})
	put(t, src, user, dek, app.Cell{Entity: "health_record", ID: "r", Field: "data", Value: []byte(`"OLD-RECORD"`)})
	del(t, src, user, dek, "health_record", "r")
	if _, err := src.Compact(ctx, user, nil); err != nil {
		t.Fatal(err)
	}
	ops := allOps(t, src, user)
	for _, o := range ops {
		if o.Compacted {
			if o.Value != nil || o.Clear != nil || o.Entity != "" {
				t.Fatalf("a compacted operation carries content: %+v", o)
			}
			continue
		}
		if o.Value != nil {
			pt, _ := crypto.Open(dek, o.Value, []byte("cell\x00"+user+"\x00"+o.Entity+"\x00"+o.ID+"\x00"+o.Field))
			if strings.Contains(string(pt), "OLD") {
				t.Fatalf("a superseded value would travel: %s", pt)
			}
		}
	}
	res, err := dst.ApplyOps(ctx, user, dek, ops)
	if err != nil || len(res.Rejected) > 0 || res.Applied != len(ops) {
		t.Fatalf("%+v %v", res, err)
	}
	v1, _ := src.OpsVector(ctx, user)
	v2, _ := dst.OpsVector(ctx, user)
	if fmt.Sprint(v1) != fmt.Sprint(v2) {
		t.Fatalf("vectors %v %v", v1, v2)
	}
	if fmt.Sprint(liveState(t, src, user, dek)) != fmt.Sprint(liveState(t, dst, user, dek)) {
		t.Fatal("the new device's state differs")
	}
	if d1, _ := src.Digest(ctx, user); true {
		if d2, _ := dst.Digest(ctx, user); d1 != d2 {
			t.Fatal("digests differ")
		}
	}
	// Nothing more to send.
	if more, _ := src.OpsSince(ctx, user, v2, 10); len(more) != 0 {
		t.Fatalf("more: %+v", more)
	}
}

// TestFutureOperationIsRejected: an operation whose HLC is beyond wall time
// plus the skew allowance would win its cell against every honest write
// for as long as its clock is ahead; it is rejected, logged without its
// value, and changes nothing. Within the allowance it applies.
func TestFutureOperationIsRejected(t *testing.T) {
	ctx := context.Background()
	rs, user, dek := replicas(t, 1)
	db := rs[0].db
	put(t, db, user, dek, app.Cell{Entity: "field", ID: "city", Field: "value", Value: []byte(`"Oslo"`)})
	sealed, _ := crypto.Seal(dek, []byte(`"pinned"`), []byte("cell\x00"+user+"\x00field\x00city\x00value"))
	far := uint64(time.Now().Add(store.MaxClockSkew+time.Minute).UnixMilli()) << 16
	before, _ := db.Digest(ctx, user)
	for _, op := range []app.Op{
		{Device: "peer", Counter: 1, HLC: far, UserID: user, Entity: "field", ID: "city", Field: "value", Value: sealed},
		{Device: "peer", Counter: 2, HLC: 1<<63 - 1, UserID: user, Entity: "field", ID: "city", Field: "value", Value: sealed},
		{Device: "peer", Counter: 3, HLC: far, UserID: user, Compacted: true},
	} {
		res, err := db.ApplyOps(ctx, user, dek, []app.Op{op})
		if err != nil {
			t.Fatal(err)
		}
		if res.Applied != 0 || len(res.Rejected) != 1 || res.Rejected[0].Reason != "time too far in the future" {
			t.Fatalf("counter %d: %+v", op.Counter, res)
		}
		if strings.Contains(fmt.Sprint(res.Rejected), "pinned") {
			t.Fatal("a value in the rejection")
		}
	}
	if after, _ := db.Digest(ctx, user); after != before {
		t.Fatal("a future operation changed the state")
	}
	if v, _ := db.OpsVector(ctx, user); v["peer"] != 0 {
		t.Fatal("a future operation was stored")
	}
	// A later honest write still wins.
	put(t, db, user, dek, app.Cell{Entity: "field", ID: "city", Field: "value", Value: []byte(`"Bergen"`)})
	if live := liveState(t, db, user, dek); live["field/city/value"] != `"Bergen"|` {
		t.Fatalf("live %v", live)
	}
	near := uint64(time.Now().Add(store.MaxClockSkew-time.Minute).UnixMilli()) << 16
	if res, _ := db.ApplyOps(ctx, user, dek, []app.Op{{Device: "peer", Counter: 1, HLC: near, UserID: user, Entity: "field", ID: "city", Field: "value", Value: sealed}}); res.Applied != 1 {
		t.Fatalf("within the allowance: %+v", res)
	}
}

// TestCompactionInChunksMissesNone: compaction looks at a device's
// operations a few at a time (here 7, so the 50 operations take eight
// transactions, some boundaries falling on superseded operations, some on
// winners); every superseded operation loses its value, every winner
// keeps it, whatever chunk it fell in.
func TestCompactionInChunksMissesNone(t *testing.T) {
	defer store.SetCompactChunk(7)()
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	user := app.NewID()
	dek, _ := crypto.NewKey()
	for i := range 50 {
		put(t, db, user, dek, app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", i%3), Field: "value", Value: fmt.Appendf(nil, `"v%d"`, i)})
	}
	res, err := db.Compact(ctx, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Superseded != 47 {
		t.Errorf("superseded %d operations, want 47", res.Superseded)
	}
	kept := 0
	for _, op := range allOps(t, db, user) {
		if !op.Compacted {
			kept++
		}
	}
	if kept != 3 {
		t.Errorf("%d operations keep their values, want the 3 winners", kept)
	}
	for i := 47; i < 50; i++ {
		var c app.Cell
		var ok bool
		err := db.View(ctx, user, dek, func(tx app.Tx) (err error) {
			c, ok, err = tx.Get("field", fmt.Sprintf("f%d", i%3), "value")
			return err
		})
		if err != nil || !ok || string(c.Value) != fmt.Sprintf(`"v%d"`, i) {
			t.Errorf("f%d: %q %v %v, want \"v%d\"", i%3, c.Value, ok, err, i)
		}
	}
	if res, _ := db.Compact(ctx, user, nil); res.Superseded != 0 {
		t.Errorf("a second compaction superseded %d more", res.Superseded)
	}
}

// TestCompactionFollowsRowsNotCounters: a device's counters are far apart
// for one user (they are shared by all its users, and another device may
// send any counter up to the largest); compaction's chunks follow the
// user's rows, so it ends at once, where counting through the range (and
// past the largest counter) never did, and misses none at the chunks'
// boundaries: two users' writes interleaved on this device, and another
// device's 14 identities, the 14th at the largest counter (two chunks of
// 7 exactly).
func TestCompactionFollowsRowsNotCounters(t *testing.T) {
	defer store.SetCompactChunk(7)()
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	users := []string{app.NewID(), app.NewID()}
	dek, _ := crypto.NewKey()
	for i := range 50 {
		for _, u := range users {
			put(t, db, u, dek, app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", i%3), Field: "value", Value: fmt.Appendf(nil, `"v%d"`, i)})
		}
	}
	var far []app.Op
	for i := range 13 {
		far = append(far, app.Op{Device: "another-device", Counter: int64(1 + i*5_000_000), HLC: uint64(i + 1), UserID: users[0], Compacted: true})
	}
	far = append(far, app.Op{Device: "another-device", Counter: math.MaxInt64, HLC: 14, UserID: users[0], Compacted: true})
	if res, err := db.ApplyOps(ctx, users[0], dek, far); err != nil || res.Applied != len(far) {
		t.Fatalf("apply: %+v %v", res, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, u := range users {
		res, err := db.Compact(ctx, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Superseded != 47 {
			t.Errorf("superseded %d operations, want 47", res.Superseded)
		}
	}
}

// TestCancelledCompactionStillTruncates: a compaction stopped part way
// (its chunks are committed one by one) has dropped values all the same,
// and still ends with the TRUNCATE that takes them out of the WAL.
func TestCancelledCompactionStillTruncates(t *testing.T) {
	defer store.SetCompactChunk(1)()
	dir := t.TempDir()
	db := openDB(t, dir)
	user := app.NewID()
	dek, _ := crypto.NewKey()
	err := db.Update(context.Background(), user, dek, func(tx app.Tx) error {
		for i := range 20000 {
			if err := tx.Put(app.Cell{Entity: "field", ID: "city", Field: "value", Value: fmt.Appendf(nil, `"city %d"`, i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer store.SetCompactChunkDone(func(dropped int) {
		if dropped >= 100 {
			cancel()
		}
	})()
	res, err := db.Compact(ctx, user, nil)
	if err == nil || res.Superseded < 100 || res.Superseded == 19999 {
		t.Fatalf("compaction: %+v %v, want it stopped part way (cancelled after 100 of 20,000 chunks)", res, err)
	}
	if n := walSize(dir); n != 0 {
		t.Errorf("after a compaction that dropped %d values, the WAL is %d bytes", res.Superseded, n)
	}
}
