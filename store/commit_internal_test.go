package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

// openWithAccount opens a store in a temporary directory with one account
// (closed when the test ends).
func openWithAccount(t testing.TB) (*DB, *app.Account, []byte) {
	t.Helper()
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acct, dek := addAccount(t, db)
	return db, acct, dek
}

// addAccount makes an account in db, with its data key.
func addAccount(t testing.TB, db *DB) (*app.Account, []byte) {
	t.Helper()
	dek, _ := crypto.NewKey()
	acct := &app.Account{UserID: app.NewID(), ProfileID: app.NewID(), EmailMAC: []byte(app.NewID()), KDF: "k", WrappedDEK: []byte("w"), CreatedAt: time.Now()}
	if err := db.CreateAccount(context.Background(), acct, dek, nil); err != nil {
		t.Fatal(err)
	}
	return acct, dek
}

// queued holds the writer's turn while n writes queue, in the order of
// their index, then lets them run: they run as one batch. It returns each
// write's error, by index.
func queued(t *testing.T, db *DB, n int, write func(i int) error) []error {
	t.Helper()
	db.turn <- struct{}{}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = write(i)
		}()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			q := db.Queued()
			if q == i+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d writes queued", q, i+1)
			}
		}
	}
	<-db.turn
	wg.Wait()
	return errs
}

// twoCellsOr writes write i's two cells, then returns errNo if i is
// fail and panics if i is panics.
func twoCellsOr(tx app.Tx, i, fail, panics int, errNo error) error {
	for f := range 2 {
		if err := tx.Put(app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", i), Field: fmt.Sprint(f), Value: []byte("v")}); err != nil {
			return err
		}
	}
	switch i {
	case fail:
		return errNo
	case panics:
		panic("a bug")
	}
	return nil
}

// checkAnswers checks each write's answer: errNo for fail, an error for
// panics, the cancellation for gone, none for the others; and that the
// cells of exactly the others are there.
func checkAnswers(t *testing.T, db *DB, acct *app.Account, dek []byte, errs []error, fail, panics, gone int, errNo error) {
	t.Helper()
	failed := map[int]bool{fail: true, panics: true, gone: true}
	for i, err := range errs {
		switch {
		case i == fail && !errors.Is(err, errNo), i == panics && err == nil, i == gone && !errors.Is(err, context.Canceled):
			t.Errorf("write %d: %v", i, err)
		case !failed[i] && err != nil:
			t.Errorf("write %d failed: %v", i, err)
		}
	}
	err := db.View(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
		for i := range errs {
			_, ok, err := tx.Get("field", fmt.Sprintf("f%d", i), "1")
			if err != nil {
				return err
			}
			if ok == failed[i] {
				t.Errorf("write %d: cell there = %v", i, ok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitAnswersEachWriteForItself: writes committed together as
// one batch each get their own answer. One that fails, one that panics and
// one whose request went away leave nothing; the others are all there,
// with their operations numbered without a gap or a repeat; and the
// batch took one commit.
func TestGroupCommitAnswersEachWriteForItself(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	var commits int
	db.OnCommit(func(string) { commits++ })
	before := db.counter.Load()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	errNo := errors.New("no")
	const n = 12
	fails := map[int]bool{3: true, 5: true, 8: true}
	errs := queued(t, db, n, func(i int) error {
		ctx := context.Background()
		if i == 8 {
			ctx = gone
		}
		return db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error { return twoCellsOr(tx, i, 3, 5, errNo) })
	})
	checkAnswers(t, db, acct, dek, errs, 3, 5, 8, errNo)
	if commits != n-len(fails) {
		t.Errorf("%d commit hooks, want one per successful write (%d)", commits, n-len(fails))
	}
	rows, err := db.r.Query(`SELECT counter FROM ops WHERE device = ? AND counter > ? ORDER BY counter`, db.device, before)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := before + 1
	for rows.Next() {
		var c int64
		rows.Scan(&c)
		if c != want {
			t.Fatalf("operation counter %d, want %d (no gap, no repeat)", c, want)
		}
		want++
	}
	if got := want - before - 1; got != int64(2*(n-len(fails))) {
		t.Errorf("%d operations, want %d", got, 2*(n-len(fails)))
	}
	if db.counter.Load() != want-1 {
		t.Errorf("counter %d, want %d", db.counter.Load(), want-1)
	}
	if b := db.batches.Load(); b != 2 { // the account's creation, then the batch
		t.Errorf("%d transactions committed, want 2", b)
	}
}

// TestGroupCommitRetriesTheOthersWhenOneFails: writes that may run again
// (UpdateRetryable) run without savepoints; when one fails, the writes
// that ran before it run again, each in its savepoint, and the ones after
// it once. No write that failed runs again, none runs a third time, and
// the batch keeps exactly the writes that succeeded, numbered without a
// gap, in one commit.
func TestGroupCommitRetriesTheOthersWhenOneFails(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	before, batches := db.counter.Load(), db.batches.Load()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	errNo := errors.New("no")
	const n = 10
	var mu sync.Mutex
	runs := make([]int, n)
	errs := queued(t, db, n, func(i int) error {
		ctx := context.Background()
		if i == 8 {
			ctx = gone
		}
		return db.UpdateRetryable(ctx, acct.UserID, dek, func(tx app.Tx) error {
			mu.Lock()
			runs[i]++
			mu.Unlock()
			return twoCellsOr(tx, i, 4, 6, errNo)
		})
	})
	checkAnswers(t, db, acct, dek, errs, 4, 6, 8, errNo)
	// 0–3 ran bare until 4 failed, then again; 4 not again; the rest once.
	want := []int{2, 2, 2, 2, 1, 1, 1, 1, 0, 1}
	if fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("runs by write %v, want %v", runs, want)
	}
	var ops, first, last int64
	db.r.QueryRow(`SELECT COUNT(*), MIN(counter), MAX(counter) FROM ops WHERE device = ? AND counter > ?`, db.device, before).Scan(&ops, &first, &last)
	if ops != 2*(n-3) || first != before+1 || last != before+ops || db.counter.Load() != last {
		t.Errorf("%d operations numbered %d–%d, counter %d; want %d from %d, no gap", ops, first, last, db.counter.Load(), 2*(n-3), before+1)
	}
	if b := db.batches.Load() - batches; b != 1 {
		t.Errorf("%d transactions committed, want 1", b)
	}
}

// TestGroupCommitRunsOtherWritesOnce: a batch that holds a write that may
// not run again runs every write in its savepoint: when a retryable one
// fails, the other is not run a second time, and is kept.
func TestGroupCommitRunsOtherWritesOnce(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	var plain int
	errs := queued(t, db, 3, func(i int) error {
		put := func(tx app.Tx) error {
			return tx.Put(app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", i), Field: "v", Value: []byte("v")})
		}
		switch i {
		case 0:
			return db.UpdateRetryable(context.Background(), acct.UserID, dek, put)
		case 1:
			return db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
				plain++
				return put(tx)
			})
		}
		return db.UpdateRetryable(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
			if err := put(tx); err != nil {
				return err
			}
			return errors.New("no")
		})
	})
	if errs[0] != nil || errs[1] != nil || errs[2] == nil || plain != 1 {
		t.Fatalf("errors %v, the plain write ran %d times", errs, plain)
	}
	db.View(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
		for i, want := range []bool{true, true, false} {
			if _, ok, _ := tx.Get("field", fmt.Sprintf("f%d", i), "v"); ok != want {
				t.Errorf("write %d: cell there = %v", i, ok)
			}
		}
		return nil
	})
}

// TestGroupCommitFailsEveryWriteWhenTheCommitFails: a batch whose commit
// fails acknowledges none of its writes, and gives their counters back.
func TestGroupCommitFailsEveryWriteWhenTheCommitFails(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	before := db.counter.Load()
	// A deferred foreign key fails at COMMIT, whichever write made it.
	errs := queued(t, db, 4, func(i int) error {
		return db.update(context.Background(), acct.UserID, dek, func(tx *tx) error {
			if err := tx.Put(app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", i), Field: "v", Value: []byte("v")}); err != nil {
				return err
			}
			if i == 2 {
				if _, err := tx.sql.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
					return err
				}
				if _, err := tx.sql.Exec(`INSERT INTO sessions(token_hash, user_id, wrapped_dek, created_at, expires_at) VALUES (x'00', 'nobody', x'00', 0, 0)`); err != nil {
					return err
				}
			}
			return nil
		})
	})
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d acknowledged, though its commit failed", i)
		}
	}
	if db.counter.Load() != before {
		t.Errorf("counter %d, want %d given back", db.counter.Load(), before)
	}
}

// TestGroupCommitDerivesOnceAndFailsTogether: one user's writes of a
// batch have their views derived once, for all their changes; when that
// derivation fails, or panics, none of them is kept (each gets the
// error, none runs twice), and the writer goes on to the next writes.
func TestGroupCommitDerivesOnceAndFailsTogether(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	errBad := errors.New("cannot derive")
	var calls, cells, runs int
	db.SetDeriver(func(tx app.Tx, _ []byte, changed []app.CellRef) error {
		calls++
		cells += len(changed)
		for _, c := range changed {
			switch c.ID {
			case "bad":
				return errBad
			case "panic":
				panic("a bug in a view")
			}
		}
		return nil
	})
	batch := func(prefix, odd string) []error {
		return queued(t, db, 5, func(i int) error {
			return db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
				runs++
				id := fmt.Sprintf("%s%d", prefix, i)
				if i == 2 && odd != "" {
					id = odd
				}
				return tx.Put(app.Cell{Entity: "field", ID: id, Field: "v", Value: []byte("v")})
			})
		})
	}
	for i, err := range batch("good", "") {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if calls != 1 || cells != 5 {
		t.Fatalf("derived %d times for %d cells, want once for 5", calls, cells)
	}
	for _, odd := range []string{"bad", "panic"} {
		calls, runs = 0, 0
		for i, err := range batch(odd+"-batch", odd) {
			if err == nil || (odd == "bad" && !errors.Is(err, errBad)) {
				t.Errorf("%s: write %d: %v", odd, i, err)
			}
		}
		if calls != 1 || runs != 5 {
			t.Errorf("%s: derived %d times, ran %d writes; want once, each write once", odd, calls, runs)
		}
		err := db.View(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
			for i := range 5 {
				if _, ok, _ := tx.Get("field", fmt.Sprintf("%s-batch%d", odd, i), "v"); ok {
					t.Errorf("%s: write %d kept", odd, i)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The writer's turn was given back: a write alone commits.
	db.SetDeriver(nil)
	done := make(chan error, 1)
	go func() {
		done <- db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
			return tx.Put(app.Cell{Entity: "field", ID: "after", Field: "v", Value: []byte("v")})
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer is stuck after a failed batch")
	}
}

// TestGroupCommitReadsWhatTheBatchWrote: one user's writes in a batch
// share what they read, and each sees what those before it wrote, never
// what a failed one wrote and rolled back.
func TestGroupCommitReadsWhatTheBatchWrote(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	errNo := errors.New("no")
	seen := make([]string, 6)
	var order []int
	errs := queued(t, db, 6, func(i int) error {
		time.Sleep(time.Duration(i) * 5 * time.Millisecond) // queue in order
		return db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
			order = append(order, i)
			e, err := tx.Entity("field", "x")
			if err != nil {
				return err
			}
			seen[i] = string(e["v"].Value)
			switch i {
			case 0, 3:
				return tx.Put(app.Cell{Entity: "field", ID: "x", Field: "v", Value: []byte(fmt.Sprint("from ", i))})
			case 1:
				if err := tx.Put(app.Cell{Entity: "field", ID: "x", Field: "v", Value: []byte("rolled back")}); err != nil {
					return err
				}
				if _, err := tx.Entity("field", "x"); err != nil { // read after its own write
					return err
				}
				return errNo
			}
			return nil
		})
	})
	if !errors.Is(errs[1], errNo) {
		t.Fatalf("write 1: %v", errs[1])
	}
	want := map[int]string{0: "", 1: "from 0", 2: "from 0", 3: "from 0", 4: "from 3", 5: "from 3"}
	for _, i := range order {
		if seen[i] != want[i] {
			t.Errorf("write %d (order %v) saw %q, want %q", i, order, seen[i], want[i])
		}
	}
}

// TestGroupCommitKeepsKeylessWritesApart: a write made without the data
// key, in the same batch as the user's writes with it, does not read
// what they opened: it fails to open a sealed cell, as alone.
func TestGroupCommitKeepsKeylessWritesApart(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	if err := db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "field", ID: "secret", Field: "value", Value: []byte("hiv positive")})
	}); err != nil {
		t.Fatal(err)
	}
	var keyless []byte
	errs := queued(t, db, 2, func(i int) error {
		if i == 0 {
			return db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
				_, err := tx.Entity("field", "secret") // opened, kept
				return err
			})
		}
		time.Sleep(5 * time.Millisecond) // queued after the keyed write
		return db.Update(context.Background(), acct.UserID, nil, func(tx app.Tx) error {
			c, ok, err := tx.Get("field", "secret", "value")
			if ok {
				keyless = c.Value
			}
			if err != nil {
				return nil // as alone: the sealed value does not open
			}
			return errors.New("no error opening a sealed cell without the key")
		})
	})
	if errs[0] != nil || errs[1] != nil || keyless != nil {
		t.Fatalf("keyed %v, keyless %v, read %q", errs[0], errs[1], keyless)
	}
}

// BenchmarkGroupCommit: 32 writers at once, each write one small cell of
// the same user, as a busy listener's requests: ns/op is per write, and
// writes/commit how many a commit carried.
func BenchmarkGroupCommit(b *testing.B) {
	db, acct, dek := openWithAccount(b)
	before := db.batches.Load()
	b.SetParallelism(16) // 32 writers on 2 cores
	b.ReportAllocs()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			err := db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
				return tx.Put(app.Cell{Entity: "field", ID: fmt.Sprintf("f%d", i%100), Field: "value", Value: []byte("v")})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	if c := db.batches.Load() - before; c > 0 {
		b.ReportMetric(float64(n.Load())/float64(c), "writes/commit")
	}
}
