package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/store/storetest"
)

const mib = 1 << 20

// walSize is the size of the data directory's WAL file (0 when absent).
func walSize(dir string) int64 { return fileSize(filepath.Join(dir, store.DBFile+"-wal")) }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// storm is a write storm through the app's real write path (token check,
// sealed cells, operations, views re-derived: what update-info does) with
// as many profile readers beside the writers, and a sampler of the WAL's
// size.
type storm struct {
	env    *storetest.Env
	token  string
	writes atomic.Int64 // acknowledged update-info calls
	reads  atomic.Int64
	maxWAL atomic.Int64 // the largest WAL file seen
	// minLarge is the smallest WAL file seen once it had grown past
	// 16 MiB (-1: it has not).
	minLarge atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	errs     chan error
	start    time.Time
}

// startStorm starts writers writers and as many readers; a writer stops
// when its budget (shared, -1: none) is spent or at stop.
func startStorm(t testing.TB, env *storetest.Env, writers int, budget int64) *storm {
	t.Helper()
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Email: "storm@example.org", Password: "a long enough password", Name: "Storm"})
	if err != nil {
		t.Fatal(err)
	}
	s := &storm{env: env, token: auth.Token, stop: make(chan struct{}), errs: make(chan error, 2*writers+1), start: time.Now()}
	s.minLarge.Store(-1)
	var left atomic.Int64
	left.Store(budget)
	stopped := func() bool {
		select {
		case <-s.stop:
			return true
		default:
			return false
		}
	}
	for w := range writers {
		s.wg.Add(2)
		go func() { // distinct values, two fields a call
			defer s.wg.Done()
			for i := 0; !stopped() && (budget < 0 || left.Add(-1) >= 0); i++ {
				p, err := env.App.Authenticate(ctx, auth.Token)
				if err == nil {
					raw, _ := json.Marshal(map[string]string{
						"city":                    fmt.Sprintf("city %d-%d", w, i),
						fmt.Sprintf("note_%d", w): fmt.Sprintf("a note a little longer than a city, %d-%d, as real data would be", w, i),
					})
					_, err = env.App.UpdateInfo(ctx, p, raw)
				}
				if err != nil {
					s.errs <- err
					return
				}
				s.writes.Add(1)
			}
		}()
		go func() { // the profile, as GET /profile reads it
			defer s.wg.Done()
			for !stopped() {
				p, err := env.App.Authenticate(ctx, auth.Token)
				if err == nil {
					_, err = env.App.Fields(ctx, p)
				}
				if err != nil {
					s.errs <- err
					return
				}
				s.reads.Add(1)
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for !stopped() {
			<-tick.C
			n := walSize(env.Dir)
			if n > s.maxWAL.Load() {
				s.maxWAL.Store(n)
			}
			if m := s.minLarge.Load(); (m < 0 && n > 16*mib) || (m >= 0 && n < m) {
				s.minLarge.Store(n)
			}
		}
	}()
	return s
}

// wait lets the storm run for d (from its start), stops it and returns
// how long it ran.
func (s *storm) wait(t testing.TB, d time.Duration) time.Duration {
	t.Helper()
	select {
	case err := <-s.errs:
		t.Fatalf("storm: %v", err)
	case <-time.After(time.Until(s.start.Add(d))):
	}
	elapsed := time.Since(s.start)
	close(s.stop)
	s.wg.Wait()
	select {
	case err := <-s.errs:
		t.Fatalf("storm: %v", err)
	default:
	}
	return elapsed
}

// TestWALStaysBoundedUnderAWriteStorm: four writers and four readers
// through the app for a few seconds keep the WAL under 64 MiB (unbounded,
// it grew by some 40 MiB a second here) without truncating its file, and
// it is back under 16 MiB, then truncated, within seconds after the storm.
func TestWALStaysBoundedUnderAWriteStorm(t *testing.T) {
	env := storetest.New(t, app.Config{})
	s := startStorm(t, env, 4, -1)
	// 3 s, or on a slower machine until the WAL has been past 16 MiB for
	// a second (at most 15 s).
	for deadline := time.Now().Add(14 * time.Second); s.minLarge.Load() < 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := s.wait(t, max(3*time.Second, time.Since(s.start)+time.Second))
	t.Logf("%d writes (%.0f/s), %d reads, max WAL %.1f MiB, database %.1f MiB", s.writes.Load(), float64(s.writes.Load())/elapsed.Seconds(),
		s.reads.Load(), float64(s.maxWAL.Load())/mib, float64(fileSize(filepath.Join(env.Dir, store.DBFile)))/mib)
	if s.maxWAL.Load() >= 64*mib {
		t.Errorf("the WAL reached %.1f MiB during the storm (bound: 64 MiB)", float64(s.maxWAL.Load())/mib)
	}
	// Kept bounded by being written over from its beginning, not by
	// truncating its file (and growing it again) with the writer held.
	switch m := s.minLarge.Load(); {
	case m < 0:
		t.Errorf("the WAL never grew past 16 MiB: no storm (max %.1f MiB)", float64(s.maxWAL.Load())/mib)
	case m < 16*mib:
		t.Errorf("the WAL file was truncated during the storm, to %.1f MiB", float64(m)/mib)
	}
	after := time.Now()
	for walSize(env.Dir) >= 16*mib {
		if time.Since(after) > 5*time.Second {
			t.Fatalf("the WAL is still %.1f MiB 5 s after the storm", float64(walSize(env.Dir))/mib)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Idle, the WAL gives its room back (journal_size_limit, and the
	// checkpointer's TRUNCATE once all of it is in the database).
	for walSize(env.Dir) > 4*mib {
		if time.Since(after) > 5*time.Second {
			t.Fatalf("the idle WAL is still %.1f MiB 5 s after the storm", float64(walSize(env.Dir))/mib)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("WAL %.1f MiB %v after the storm", float64(walSize(env.Dir))/mib, time.Since(after).Round(time.Millisecond))
	integrityOK(t, env.Dir)
}

// TestWALShrinksUnderALightLoad: after a storm, writes going on now and
// then (never idle for a second) still let the WAL give its room back.
func TestWALShrinksUnderALightLoad(t *testing.T) {
	env := storetest.New(t, app.Config{})
	s := startStorm(t, env, 4, -1)
	// 2 s, or on a slower machine until the WAL has been past 16 MiB (at
	// most 15 s).
	for deadline := time.Now().Add(14 * time.Second); s.minLarge.Load() < 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	s.wait(t, max(2*time.Second, time.Since(s.start)+100*time.Millisecond))
	if walSize(env.Dir) <= 4*mib {
		t.Fatalf("the storm left a WAL of %.1f MiB: no storm", float64(walSize(env.Dir))/mib)
	}
	ctx := context.Background()
	p, err := env.App.Authenticate(ctx, s.token)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	for i := 0; walSize(env.Dir) > 4*mib; i++ {
		if time.Since(after) > 5*time.Second {
			t.Fatalf("under a light load the WAL is still %.1f MiB 5 s after the storm", float64(walSize(env.Dir))/mib)
		}
		if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(fmt.Sprintf(`{"city":"light %d"}`, i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("WAL %.1f MiB %v after the storm", float64(walSize(env.Dir))/mib, time.Since(after).Round(time.Millisecond))
}

// TestALongReadCannotHoldTheWALForever: a read transaction that never
// ends would keep every checkpoint from reaching the WAL's end; View gives
// its snapshot up after a bound (here shortened to half a second), and
// then the WAL is reset even though the storm goes on.
func TestALongReadCannotHoldTheWALForever(t *testing.T) {
	defer store.SetMaxReadTx(500 * time.Millisecond)()
	env := storetest.New(t, app.Config{})
	s := startStorm(t, env, 2, -1)
	p, err := env.App.Authenticate(t.Context(), s.token)
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		held <- env.DB.View(t.Context(), p.UserID, p.DEK, func(tx app.Tx) error {
			if _, _, err := tx.Get("field", "city", "value"); err != nil {
				return err
			}
			time.Sleep(2 * time.Second) // a reader that forgot to finish
			_, _, err := tx.Get("field", "city", "value")
			return err
		})
	}()
	elapsed := s.wait(t, 3*time.Second)
	if err := <-held; err == nil {
		t.Fatal("a read transaction outlived its bound")
	}
	t.Logf("%d writes in %v, max WAL %.1f MiB", s.writes.Load(), elapsed.Round(time.Millisecond), float64(s.maxWAL.Load())/mib)
	if s.maxWAL.Load() >= 64*mib {
		t.Errorf("the WAL reached %.1f MiB beside a long reader (bound: 64 MiB)", float64(s.maxWAL.Load())/mib)
	}
}

// BenchmarkWALStorm: update-info through the app from four writers with
// four profile readers beside them; ns/op is per acknowledged write, and
// max-wal-MiB the largest the WAL file grew (bound: 64 MiB). Run it with
// a fixed count, e.g. -benchtime=8000x.
func BenchmarkWALStorm(b *testing.B) {
	env := storetest.New(b, app.Config{})
	b.ResetTimer()
	s := startStorm(b, env, 4, int64(b.N))
	for s.writes.Load() < int64(b.N) {
		select {
		case err := <-s.errs:
			b.Fatalf("storm: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	b.StopTimer()
	close(s.stop)
	s.wg.Wait()
	b.ReportMetric(float64(s.maxWAL.Load())/mib, "max-wal-MiB")
	b.ReportMetric(float64(s.reads.Load())/float64(b.N), "reads/op")
}

// TestCheckpointWaitsOutAnotherCheckpoint: a compaction's TRUNCATE that
// meets another connection's checkpoint (the checkpointer's PASSIVE, which
// runs beside it) gets busy at once from SQLite, whatever the timeout; it
// tries again instead of leaving the dropped values in the WAL.
func TestCheckpointWaitsOutAnotherCheckpoint(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, store.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // another checkpoint, over and over
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			other.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}()
	user := app.NewID()
	dek, _ := crypto.NewKey()
	failed := 0
	for i := range 40 {
		if err := db.Update(ctx, user, dek, func(tx app.Tx) error {
			return tx.Put(app.Cell{Entity: "field", ID: "city", Field: "value", Value: fmt.Appendf(nil, `"city %d"`, i)})
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Checkpoint(ctx); err != nil {
			failed++
		}
	}
	close(stop)
	<-done
	if failed > 0 {
		t.Errorf("%d of 40 checkpoints failed beside another checkpoint", failed)
	}
}
