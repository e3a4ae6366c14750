package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
)

// replica is one device's store holding a user's profile.
type replica struct{ db *store.DB }

func replicas(t *testing.T, n int) ([]replica, string, []byte) {
	t.Helper()
	user := app.NewID()
	dek, _ := crypto.NewKey()
	out := make([]replica, n)
	for i := range out {
		out[i] = replica{openDB(t, t.TempDir())}
	}
	return out, user, dek
}

var fieldNames = []string{"name", "email", "phone", "city", "dob", "note"}
var rings = []string{app.RingPublic, app.RingSemiPrivate, app.RingPrivate, app.RingRestricted}

// randomEdit makes one local change: an edit, a ring change or a delete.
func randomEdit(t *testing.T, r *rand.Rand, db *store.DB, user string, dek []byte) {
	t.Helper()
	name := fieldNames[r.IntN(len(fieldNames))]
	err := db.Update(context.Background(), user, dek, func(tx app.Tx) error {
		switch r.IntN(5) {
		case 0, 1:
			return tx.Put(app.Cell{Entity: "field", ID: name, Field: "value", Value: []byte(fmt.Sprintf("%q", fmt.Sprint(r.Int())))})
		case 2:
			return tx.Put(app.Cell{Entity: "field", ID: name, Field: "ring", Value: []byte(rings[r.IntN(len(rings))])})
		case 3:
			return tx.Put(app.Cell{Entity: "share", ID: name, Field: "hash", Clear: []byte(fmt.Sprint(r.Int()))})
		default:
			return tx.Delete("field", name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// transfer runs one anti-entropy exchange from src to dst as sync does
// (operations dst's vector lacks, in batches), cut off after a random
// number of batches (a disconnect), each batch shuffled (order-free) and
// sometimes delivered twice (idempotent).
func transfer(t *testing.T, r *rand.Rand, src, dst *store.DB, user string, dek []byte, full bool) {
	t.Helper()
	ctx := context.Background()
	have, err := dst.OpsVector(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	// The hello: src learns what dst holds (compaction's acknowledgement).
	if err := src.PutPeerVector(ctx, user, dst.DeviceID(), have); err != nil {
		t.Fatal(err)
	}
	batches := 1 + r.IntN(4)
	for b := 0; full || b < batches; b++ {
		ops, err := src.OpsSince(ctx, user, have, 1+r.IntN(8))
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) == 0 {
			return
		}
		r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		for range 1 + r.IntN(2) {
			res, err := dst.ApplyOps(ctx, user, dek, ops)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) > 0 {
				t.Fatalf("rejected: %+v", res.Rejected)
			}
		}
		for _, o := range ops {
			have[o.Device] = max(have[o.Device], o.Counter)
		}
	}
}

// expected computes the merged state from the union of every operation:
// per cell, the operation with the greatest (HLC, device).
func expected(t *testing.T, rs []replica, user string) map[string]app.Op {
	t.Helper()
	all := map[string]app.Op{}
	for _, r := range rs {
		ops, err := r.db.OpsSince(context.Background(), user, nil, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			if o.Compacted {
				continue // superseded where it was compacted: never the winner
			}
			all[fmt.Sprint(o.Device, o.Counter)] = o
		}
	}
	state := map[string]app.Op{}
	for _, o := range all {
		k := o.Entity + "/" + o.ID + "/" + o.Field
		cur, ok := state[k]
		if !ok || o.HLC > cur.HLC || (o.HLC == cur.HLC && o.Device > cur.Device) {
			state[k] = o
		}
	}
	return state
}

func liveState(t *testing.T, db *store.DB, user string, dek []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.View(context.Background(), user, dek, func(tx app.Tx) error {
		for _, e := range []string{"field", "share"} {
			ids, err := tx.IDs(e)
			if err != nil {
				return err
			}
			for _, id := range ids {
				cells, err := tx.Entity(e, id)
				if err != nil {
					return err
				}
				for f, c := range cells {
					out[e+"/"+id+"/"+f] = string(c.Value) + "|" + string(c.Clear)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConvergenceProperty: three devices make concurrent edits, deletes and
// ring changes in random order; operations travel in random partial
// exchanges (disconnects), shuffled and duplicated. After a final
// exchange every device holds the same state, and it is the last-writer-
// wins merge of all operations. Many seeds, in memory (the transport
// between stores is a function call); sync_test runs seeds over libp2p.
func TestConvergenceProperty(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			convergeSeed(t, seed)
		})
	}
}

func convergeSeed(t *testing.T, seed int) {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	rs, user, dek := replicas(t, 3)
	var listed []string
	for _, rep := range rs {
		listed = append(listed, rep.db.DeviceID())
	}
	compact := func(i int) {
		t.Helper()
		if _, err := rs[i].db.Compact(context.Background(), user, listed); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 + r.IntN(60) {
		switch i := r.IntN(len(rs)); r.IntN(4) {
		case 0, 1:
			randomEdit(t, r, rs[i].db, user, dek)
		case 2:
			// Compaction at a random moment: superseded values dropped,
			// acknowledged tombstones too.
			compact(i)
		default:
			j := (i + 1 + r.IntN(len(rs)-1)) % len(rs)
			transfer(t, r, rs[i].db, rs[j].db, user, dek, false)
		}
	}
	// Reconnect everyone: a full exchange around the ring, twice.
	for range 2 {
		for i := range rs {
			transfer(t, r, rs[i].db, rs[(i+1)%len(rs)].db, user, dek, true)
		}
	}
	want := expected(t, rs, user)
	d0, _ := rs[0].db.Digest(context.Background(), user)
	live0 := liveState(t, rs[0].db, user, dek)
	for i, rep := range rs {
		if d, _ := rep.db.Digest(context.Background(), user); d != d0 {
			t.Fatalf("seed %d: device %d diverged", seed, i)
		}
		if live := liveState(t, rep.db, user, dek); fmt.Sprint(live) != fmt.Sprint(live0) {
			t.Fatalf("seed %d: device %d live state differs", seed, i)
		}
	}
	// The merged state is the last-writer-wins state of all operations.
	var wantLive []string
	for k, o := range want {
		if o.Deleted {
			continue
		}
		v := ""
		if o.Value != nil {
			pt, err := crypto.Open(dek, o.Value, []byte("cell\x00"+user+"\x00"+o.Entity+"\x00"+o.ID+"\x00"+o.Field))
			if err != nil {
				t.Fatal(err)
			}
			v = string(pt)
		}
		wantLive = append(wantLive, k+"="+v+"|"+string(o.Clear))
	}
	var gotLive []string
	for k, v := range live0 {
		gotLive = append(gotLive, k+"="+v)
	}
	sort.Strings(wantLive)
	sort.Strings(gotLive)
	if fmt.Sprint(wantLive) != fmt.Sprint(gotLive) {
		t.Fatalf("seed %d: merged state\n got %v\nwant %v", seed, gotLive, wantLive)
	}
	// Compacting everywhere now (every device has acknowledged
	// everything) changes no live state, and a new device that receives
	// only the current state converges too.
	for round := range 2 {
		for i := range rs {
			transfer(t, r, rs[i].db, rs[(i+1)%len(rs)].db, user, dek, true)
			compact(i)
		}
		_ = round
	}
	fresh := openDB(t, t.TempDir())
	transfer(t, r, rs[0].db, fresh, user, dek, true)
	for i, db := range []*store.DB{rs[0].db, rs[1].db, rs[2].db, fresh} {
		if live := liveState(t, db, user, dek); fmt.Sprint(live) != fmt.Sprint(live0) {
			t.Fatalf("seed %d: after compaction device %d live state differs:\n got %v\nwant %v", seed, i, live, live0)
		}
		if d, _ := db.Digest(context.Background(), user); d != d0 {
			t.Fatalf("seed %d: after compaction device %d diverged", seed, i)
		}
	}
}

// TestApplyIsIdempotentAndOrderFree applies one device's operations to
// fresh stores one by one in random orders, with repeats: every order
// gives the same state as the source.
func TestApplyIsIdempotentAndOrderFree(t *testing.T) {
	ctx := context.Background()
	rs, user, dek := replicas(t, 1)
	src := rs[0].db
	r := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		randomEdit(t, r, src, user, dek)
	}
	ops, err := src.OpsSince(ctx, user, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := src.Digest(ctx, user)
	for trial := range 5 {
		dst := openDB(t, t.TempDir())
		perm := r.Perm(len(ops))
		for _, i := range perm {
			for range 1 + r.IntN(2) {
				if _, err := dst.ApplyOps(ctx, user, dek, []app.Op{ops[i]}); err != nil {
					t.Fatal(err)
				}
			}
		}
		res, err := dst.ApplyOps(ctx, user, dek, ops)
		if err != nil || res.Applied != 0 || res.Duplicate != len(ops) {
			t.Fatalf("re-delivery: %+v %v", res, err)
		}
		if got, _ := dst.Digest(ctx, user); got != want {
			t.Fatalf("trial %d: order changed the result", trial)
		}
	}
}

// TestApplyRejectsWhatDoesNotOpen: an operation of another user, sealed
// under another key, moved to another place, claiming the receiving
// device, or keeping a clear copy beside its sealed value is rejected and
// changes nothing.
func TestApplyRejectsWhatDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	rs, user, dek := replicas(t, 2)
	src, dst := rs[0].db, rs[1].db
	if err := src.Update(ctx, user, dek, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "field", ID: "email", Field: "value", Value: []byte(`"a@example.org"`)})
	}); err != nil {
		t.Fatal(err)
	}
	ops, _ := src.OpsSince(ctx, user, nil, 10)
	good := ops[0]
	other, _ := crypto.NewKey()
	bad := []app.Op{good, good, good, good, good, good}
	bad[0].UserID = "someone-else"
	bad[1].Value, _ = crypto.Seal(other, []byte(`"x"`), []byte("cell\x00"+user+"\x00field\x00email\x00value"))
	bad[2].Field = "ring" // moved: the value was sealed for field/email/value
	bad[3].Device = dst.DeviceID()
	bad[4].Deleted = true                  // a tombstone carrying a value
	bad[5].Clear = []byte("a@example.org") // in clear beside its sealed value: only a share's token_hash may
	before, _ := dst.Digest(ctx, user)
	res, err := dst.ApplyOps(ctx, user, dek, bad)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 0 || len(res.Rejected) != len(bad) {
		t.Fatalf("result %+v", res)
	}
	if after, _ := dst.Digest(ctx, user); after != before {
		t.Fatal("rejected operations changed the state")
	}
	if v, _ := dst.OpsVector(ctx, user); len(v) != 0 {
		t.Fatalf("rejected operations were stored: %v", v)
	}
	// The genuine one applies, and the commit hook hears of it.
	heard := make(chan string, 1)
	remove := dst.OnCommit(func(u string) { heard <- u })
	defer remove()
	if res, err := dst.ApplyOps(ctx, user, dek, []app.Op{good}); err != nil || res.Applied != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if u := <-heard; u != user {
		t.Fatalf("hook got %q", u)
	}
}

// TestLocalWriteAfterRemoteIsNewer: the clock observes remote times, so a
// local change made after receiving a remote one from a device whose clock
// runs ahead still wins.
func TestLocalWriteAfterRemoteIsNewer(t *testing.T) {
	ctx := context.Background()
	rs, user, dek := replicas(t, 1)
	dst := rs[0].db
	// Ahead, but within the skew allowance (a clock further ahead is
	// refused: TestFutureOperationIsRejected).
	future := uint64(time.Now().Add(store.MaxClockSkew-time.Minute).UnixMilli()) << 16
	sealed, _ := crypto.Seal(dek, []byte(`"remote"`), []byte("cell\x00"+user+"\x00field\x00city\x00value"))
	if _, err := dst.ApplyOps(ctx, user, dek, []app.Op{{Device: "zz-remote", Counter: 1, HLC: future, UserID: user, Entity: "field", ID: "city", Field: "value", Value: sealed}}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Update(ctx, user, dek, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "field", ID: "city", Field: "value", Value: []byte(`"local"`)})
	}); err != nil {
		t.Fatal(err)
	}
	dst.View(ctx, user, dek, func(tx app.Tx) error {
		c, _, _ := tx.Get("field", "city", "value")
		if string(c.Value) != `"local"` {
			t.Fatalf("value %s", c.Value)
		}
		return nil
	})
}

func TestSyncRecordsStayLocal(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	s1, err := db.LocalSecret(ctx, "k", func() ([]byte, error) { return []byte("first"), nil })
	if err != nil || string(s1) != "first" {
		t.Fatal(s1, err)
	}
	s2, _ := db.LocalSecret(ctx, "k", func() ([]byte, error) { return []byte("second"), nil })
	if string(s2) != "first" {
		t.Fatal("local secret changed")
	}
	if err := db.PutSyncAccount(ctx, "u1", []byte("wrapped")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPeer(ctx, app.PeerRecord{UserID: "u1", DeviceID: "d1", PeerID: "p1", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}); err != nil {
		t.Fatal(err)
	}
	users, _ := db.SyncAccounts(ctx)
	peers, _ := db.Peers(ctx, "u1")
	if len(users) != 1 || len(peers) != 1 || peers[0].Addrs[0] != "/ip4/127.0.0.1/tcp/1" {
		t.Fatalf("%v %+v", users, peers)
	}
	// Where the user's other devices are is not in the database in clear.
	var stored []byte
	rawDB(t, db.Dir()).QueryRow(`SELECT addrs FROM sync_peers WHERE device_id = 'd1'`).Scan(&stored)
	if len(stored) == 0 || bytes.Contains(stored, []byte("127.0.0.1")) {
		t.Fatalf("peer addresses stored as %q", stored)
	}
	if v, _ := db.OpsVector(ctx, "u1"); len(v) != 0 {
		t.Fatal("sync records wrote operations")
	}
	if err := db.ForgetUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if users, _ := db.SyncAccounts(ctx); len(users) != 0 {
		t.Fatal("forgotten user still synced")
	}
}

// BenchmarkApply10kOps: storing and merging 10,000 remote operations in
// batches of 256, as a sync session does (no network).
func BenchmarkApply10kOps(b *testing.B) {
	ctx := context.Background()
	user := app.NewID()
	dek, _ := crypto.NewKey()
	src, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	for k := range 10 {
		src.Update(ctx, user, dek, func(tx app.Tx) error {
			for i := range 1000 {
				tx.Put(app.Cell{Entity: "field", ID: fmt.Sprint("f", (k*1000+i)%2000), Field: "value", Value: []byte(fmt.Sprint(i))})
			}
			return nil
		})
	}
	ops, _ := src.OpsSince(ctx, user, nil, 1<<20)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dst, err := store.Open(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < len(ops); i += 256 {
			if _, err := dst.ApplyOps(ctx, user, dek, ops[i:min(i+256, len(ops))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		dst.Close()
	}
}

// TestRollbacksGiveCountersBackSafely: write transactions that roll back
// beside ones that commit, from many goroutines: a rolled-back one gives
// its counters back before the next one takes any, so no committed
// operation's counter is ever taken again (the race once made local
// writes fail with "UNIQUE constraint failed: ops.device, ops.counter").
func TestRollbacksGiveCountersBackSafely(t *testing.T) {
	db := openDB(t, t.TempDir())
	acct, dek := newAccount(t, db, nil)
	ctx := context.Background()
	errNo := errors.New("roll back")
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
					if err := tx.Put(app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", g), Field: "value", Value: []byte(fmt.Sprint(i))}); err != nil {
						return err
					}
					if (g+i)%2 == 0 {
						return errNo
					}
					return nil
				})
				if err != nil && !errors.Is(err, errNo) {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
