package store

// Group commit. Write transactions of cells are serialised (one writer
// connection); rather than one SQLite transaction each, the writes queued
// while the writer is busy run together in one transaction, each in a
// savepoint of its own (or, when all of a user's writes may run again,
// without: runUser), and are committed at once. Each write is acknowledged
// (update returns) only after that commit: a write that fails leaves
// nothing and reports its error, the others are kept; a commit that fails
// fails every write of the batch. Nothing is acknowledged before it is
// committed.

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/secure-personal-profile/spp/app"
)

// write is one queued write transaction (update).
type write struct {
	ctx     context.Context
	user    string
	dek     []byte
	fn      func(*tx) error
	retry   bool // fn may run again (UpdateRetryable): no savepoint of its own
	err     error
	wrote   bool          // it changed a cell: commit hooks run for it
	changed []app.CellRef // the cells it wrote, still to derive views for
	done    chan struct{} // closed when err is final
}

// maxBatch bounds how many writes one commit holds: the last of them
// waits for all the others to run.
const maxBatch = 64

// commitBatch runs the writes in one transaction (in savepoints when there
// are several), commits it, then closes each write's done. The caller has
// the writer's turn. Writes beyond maxBatch run in further transactions.
func (db *DB) commitBatch(batch []*write) {
	for len(batch) > 0 {
		n := min(len(batch), maxBatch)
		db.commitGroup(batch[:n])
		batch = batch[n:]
	}
}

func (db *DB) commitGroup(batch []*write) {
	var s *sql.Tx
	counterAtStart := db.counter.Load()
	committed := false
	defer func() {
		// A panic past run's (the driver's, a hook's): nothing that was
		// not committed is acknowledged, and every write is answered.
		r := recover()
		if r != nil && !committed {
			if s != nil {
				s.Rollback()
			}
			db.counter.Store(counterAtStart)
			fail(batch, fmt.Errorf("store: write panicked: %v", r))
		}
		for _, w := range batch {
			close(w.done)
		}
		if r != nil {
			panic(r)
		}
	}()
	// The transaction is not any one request's: a request that goes away
	// must not interrupt (and so roll back) the others' writes.
	var err error
	s, err = db.w.BeginTx(context.Background(), nil)
	if err != nil {
		fail(batch, fmt.Errorf("store: begin: %w", err))
		return
	}
	g := &group{db: db, sql: s, stmts: map[*sql.Stmt]*sql.Stmt{}, single: len(batch) == 1}
	for _, users := range byUser(batch) {
		if err := g.runUser(users); err != nil {
			s.Rollback()
			db.counter.Store(counterAtStart)
			fail(batch, err)
			return
		}
	}
	if g.ok == 0 {
		s.Rollback()
		return
	}
	if err := s.Commit(); err != nil {
		db.counter.Store(counterAtStart)
		fail(batch, fmt.Errorf("store: commit: %w", err))
		return
	}
	committed = true
	db.batches.Add(1)
	for _, w := range batch {
		if w.err == nil && w.wrote {
			db.hooks.Fire(w.user)
		}
	}
}

// fail gives err to every write of the batch that has no error yet.
func fail(batch []*write, err error) {
	for _, w := range batch {
		if w.err == nil {
			w.err = err
		}
	}
}

// byUser splits the batch by user and data key, in the order they first
// appear: one user's writes run together, share what they read and have
// their views derived once for all. A write made without the data key
// (or with another) is in a group of its own kind: it never reads what a
// write with the key opened. (Different users' cells are apart, so their
// order does not matter.)
func byUser(batch []*write) [][]*write {
	var out [][]*write
	at := map[string]int{}
	for _, w := range batch {
		key := w.user + "\x00" + string(w.dek)
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], w)
	}
	return out
}

// group is one batch's transaction as it runs.
type group struct {
	db     *DB
	sql    *sql.Tx
	stmts  map[*sql.Stmt]*sql.Stmt // sql's statements, shared by its transactions (tx.stmt)
	single bool                    // one write: no savepoints (the transaction is its own)
	ok     int                     // writes that succeeded
}

// runUser runs one user's writes, one after the other, then derives the
// views for all their changes at once. When that fails, none of them is
// kept: they all fail with its error (no write runs again). An error
// returned fails the whole batch (the transaction is in an unknown
// state).
//
// Each runs in its savepoint, except when every write may run again
// (retry): then they first run without, which saves a large part of a small
// write's cost in SQLite (each page it changes is copied to the savepoint
// journal first). If one of them fails (or its request has gone), all
// since "u" is rolled back and the others run, each in its savepoint
// (again, for those before it); the one that failed keeps its error and
// does not run again.
func (g *group) runUser(ws []*write) error {
	if len(ws) == 1 {
		return g.runOne(ws[0], true, nil, !g.single, nil)
	}
	if err := g.savepoint("u"); err != nil {
		return err
	}
	counter, ok := g.db.counter.Load(), g.ok
	shared := newReads()
	var pending []app.CellRef // what the writes so far changed (Tx.Pending)
	bare := retryable(ws)
	if bare {
		for _, w := range ws {
			if err := g.runOne(w, false, shared, false, &pending); err != nil {
				return err
			}
			if w.err != nil {
				// Its changes are still there, beside the others': undo
				// them all, and run the others again in savepoints.
				if err := g.rollbackTo("u"); err != nil {
					return err
				}
				g.db.counter.Store(counter)
				g.ok = ok
				shared.reset()
				pending = nil
				for _, w := range ws {
					w.wrote, w.changed = false, nil
				}
				bare = false
				break
			}
		}
	}
	if !bare {
		for _, w := range ws {
			if w.err != nil {
				continue // it failed running bare: it does not run again
			}
			if err := g.runOne(w, false, shared, true, &pending); err != nil {
				return err
			}
		}
	}
	var ran []*write
	for _, w := range ws {
		if w.err == nil {
			ran = append(ran, w)
		}
	}
	// pending is what they all changed, the writes that were kept.
	t := &tx{db: g.db, ctx: context.Background(), sql: g.sql, stmts: g.stmts, user: ws[0].user, dek: ws[0].dek, write: true, changed: pending, reads: shared}
	err := run(g.db.derive, t)
	if err == nil {
		return g.release("u")
	}
	if err := g.rollback("u"); err != nil {
		return err
	}
	g.db.counter.Store(counter)
	g.ok = ok
	for _, w := range ran {
		w.err, w.wrote, w.changed = err, false, nil
	}
	return nil
}

// runOne runs one write (and, with derive, derives its views), in a
// savepoint when sp, with what the user's writes before it read (shared;
// nil: nothing) and changed (pending, which it adds its changes to). A
// write that fails gets its error and, in its savepoint, leaves nothing
// (its savepoint rolled back, its counters given back before the next
// write takes any, what it read forgotten); without one, the caller
// undoes what it left.
func (g *group) runOne(w *write, derive bool, shared *reads, sp bool, pending *[]app.CellRef) error {
	if err := w.ctx.Err(); err != nil {
		w.err = err
		return nil
	}
	if sp {
		if err := g.savepoint("w"); err != nil {
			return err
		}
	}
	counter := g.db.counter.Load()
	t := &tx{db: g.db, ctx: context.WithoutCancel(w.ctx), sql: g.sql, stmts: g.stmts, user: w.user, dek: w.dek, write: true, reads: shared}
	if pending != nil {
		t.before = *pending
	}
	err := run(w.fn, t)
	if err == nil && derive {
		err = run(g.db.derive, t)
	}
	if err != nil {
		w.err = err
		g.db.counter.Store(counter)
		if shared != nil {
			shared.reset() // it may hold what the rollback undoes
		}
		if !sp {
			return nil // the caller rolls back
		}
		return g.rollback("w")
	}
	w.wrote, w.changed = t.wrote, t.changed
	if pending != nil {
		*pending = append(*pending, t.changed...)
	}
	g.ok++
	if !sp {
		return nil
	}
	return g.release("w")
}

// retryable reports whether every write may run again.
func retryable(ws []*write) bool {
	for _, w := range ws {
		if !w.retry {
			return false
		}
	}
	return true
}

// The savepoints' statements are prepared on the writer at Open: every
// write of a batch opens and releases one.
var savepointQueries = []string{`SAVEPOINT u`, `RELEASE u`, `SAVEPOINT w`, `RELEASE w`}

// writerQueries are the other statements only the writer runs outside a
// group, prepared at Open with the savepoints'.
var writerQueries = []string{qEmergencyLast, qCapabilityFailure}

func (g *group) savepoint(name string) error { return g.exec(`SAVEPOINT ` + name) }

func (g *group) release(name string) error { return g.exec(`RELEASE ` + name) }

// exec runs a savepoint statement through the transaction's statement
// cache (tx.exec).
func (g *group) exec(q string) error {
	t := &tx{db: g.db, ctx: context.Background(), sql: g.sql, stmts: g.stmts, write: true}
	if _, err := t.exec(q); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	return nil
}

// rollbackTo undoes everything since the savepoint, which stays open.
func (g *group) rollbackTo(name string) error {
	if _, err := g.sql.Exec(`ROLLBACK TO ` + name); err != nil {
		return fmt.Errorf("store: rolling back writes: %w", err)
	}
	return nil
}

func (g *group) rollback(name string) error {
	if _, err := g.sql.Exec(`ROLLBACK TO ` + name + `; RELEASE ` + name); err != nil {
		return fmt.Errorf("store: rolling back a write: %w", err)
	}
	return nil
}

// run calls fn, turning a panic into its error: the other writes of the
// batch must still be answered.
func run(fn func(*tx) error, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	return fn(t)
}
