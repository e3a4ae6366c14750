package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/mattn/go-sqlite3"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

// The statements transactions run, prepared once at Open.
//
// A parameter written +? is one the query planner must not look at:
// where its value could change the plan (an equality beside a partial
// index's condition, the equalities before an ORDER BY, a DISTINCT, a MIN
// or MAX, a LIMIT), SQLite compiles the statement again on its next run
// whenever the parameter takes a new value
// (sqlite3VdbeReprepareOnBind), and a statement prepared once was
// compiled on every call (two thirds of listing a user's ids). The unary
// plus changes nothing else: no affinity or collation of its own, the
// same plan (TestStatementsStayPrepared, which finds each + needed).
const (
	qGet        = `SELECT value, clear FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND field = +? AND deleted = 0`
	qEntity     = `SELECT field, value, clear FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND deleted = 0`
	qIDs        = `SELECT DISTINCT id FROM cells WHERE user_id = +? AND entity = +? AND deleted = 0 ORDER BY id`
	qEntities   = `SELECT id, field, value, clear FROM cells WHERE user_id = +? AND entity = +? AND deleted = 0 ORDER BY id`
	qFields     = `SELECT field FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND deleted = 0`
	qInsertOp   = `INSERT INTO ops(device, counter, hlc, user_id, entity, id, field, value, clear, deleted) VALUES (?,?,?,?,?,?,?,?,?,?)`
	qUpsertCell = `INSERT INTO cells(user_id, entity, id, field, value, clear, deleted, hlc, device) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT(user_id, entity, id, field) DO UPDATE SET value = excluded.value, clear = excluded.clear, deleted = excluded.deleted, hlc = excluded.hlc, device = excluded.device`
)

var txQueries = append([]string{qGet, qEntity, qIDs, qEntities, qFields, qInsertOp, qUpsertCell}, capabilityTxQueries...)

// tx is one transaction over one user's cells.
type tx struct {
	db    *DB
	ctx   context.Context
	sql   *sql.Tx
	user  string
	dek   []byte
	write bool
	wrote bool // a cell changed: commit hooks run after the commit
	// changed lists the cells written, for the deriver (capabilities.go).
	changed []app.CellRef
	// before lists what the writes of its group before it changed, whose
	// views are derived with its own (Pending).
	before []app.CellRef
	// What the transaction has read, kept until it writes there: the
	// deriver reads the same entities for each of a batch's changes, and
	// one user's writes in a batch share it (commit.go).
	reads *reads
	// stmts are the statements bound to sql so far (stmt): a tx, like
	// the sql.Tx it runs on, is used by one goroutine at a time.
	stmts map[*sql.Stmt]*sql.Stmt
}

// reads is what transactions have read of one user's cells, by entity.
type reads struct {
	entities map[entityKey]map[string]app.Cell
	ids      map[string][]string
	version  *int              // ViewsVersion
	memo     map[string]string // Memo: what the data key alone gives
}

type entityKey struct{ entity, id string }

func newReads() *reads {
	return &reads{entities: map[entityKey]map[string]app.Cell{}, ids: map[string][]string{}, memo: map[string]string{}}
}

// reset forgets everything read (a rollback may have undone it).
func (r *reads) reset() { *r = *newReads() }

// forget drops what the transaction has read of an entity.
func (t *tx) forget(entity, id string) {
	if t.reads != nil {
		delete(t.reads.entities, entityKey{entity, id})
		delete(t.reads.ids, entity)
	}
}

// wroteCell keeps what the transaction has read of an entity current
// after a write of one of its cells: the cell as written (kept, by Put),
// or, for a tombstone (nil), without it. The kind's ids are forgotten
// unless the entity was read and stays live.
func (t *tx) wroteCell(entity, id, field string, kept *app.Cell) {
	if t.reads == nil {
		return
	}
	cells, ok := t.reads.entities[entityKey{entity, id}]
	if !ok {
		delete(t.reads.ids, entity)
		return
	}
	was := len(cells)
	// Copied, not changed in place: Entity and Entities hand out the maps
	// they keep, which must stay what the caller read.
	cells = maps.Clone(cells)
	if kept != nil {
		cells[field] = *kept
	} else {
		delete(cells, field)
	}
	t.reads.entities[entityKey{entity, id}] = cells
	if was == 0 || len(cells) == 0 {
		delete(t.reads.ids, entity) // the entity came or went
	}
}

// cache is where the transaction keeps what it reads.
func (t *tx) cache() *reads {
	if t.reads == nil {
		t.reads = newReads()
	}
	return t.reads
}

var _ app.Tx = (*tx)(nil)

// cellAD binds a sealed value to its place, so it cannot be moved to another
// user, entity, id or field.
func cellAD(user, entity, id, field string) []byte {
	return []byte("cell\x00" + user + "\x00" + entity + "\x00" + id + "\x00" + field)
}

// Update runs fn in a write transaction over the user's profile data.
func (db *DB) Update(ctx context.Context, userID string, dek []byte, fn func(app.Tx) error) error {
	return db.update(ctx, userID, dek, func(t *tx) error { return fn(t) })
}

// UpdateRetryable is Update for an fn that may run more than once, its
// changes undone in between (app.Store).
func (db *DB) UpdateRetryable(ctx context.Context, userID string, dek []byte, fn func(app.Tx) error) error {
	return db.queueWrite(&write{ctx: ctx, user: userID, dek: dek, fn: func(t *tx) error { return fn(t) }, retry: true, done: make(chan struct{})})
}

func (db *DB) update(ctx context.Context, userID string, dek []byte, fn func(*tx) error) error {
	return db.queueWrite(&write{ctx: ctx, user: userID, dek: dek, fn: fn, done: make(chan struct{})})
}

// queueWrite queues w and returns its error once it is final.
func (db *DB) queueWrite(w *write) error {
	db.qmu.Lock()
	db.queue = append(db.queue, w)
	db.qmu.Unlock()
	// Group commit: whoever takes the writer's turn runs every write
	// queued by then in one transaction (commit.go); the others wait for
	// theirs to be done, by this turn or by a later one.
	select {
	case <-w.done:
		return w.err
	case db.turn <- struct{}{}:
	}
	func() {
		defer func() { <-db.turn }() // given back even if the batch panics
		db.qmu.Lock()
		batch := db.queue
		db.queue = nil
		db.qmu.Unlock()
		if len(batch) > 0 {
			db.commitBatch(batch)
		}
	}()
	<-w.done
	return w.err
}

// Queued is how many writes wait for the writer's turn: those that will
// run in the next group (tests queue writes in a known order with it).
func (db *DB) Queued() int {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	return len(db.queue)
}

// View runs fn in a read transaction over the user's profile data. The
// transaction lasts at most maxReadTx: its snapshot is given up then (fn's
// further reads fail), so that no reader keeps the WAL from being reset.
func (db *DB) View(ctx context.Context, userID string, dek []byte, fn func(app.Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, maxReadTx)
	defer cancel()
	s, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer s.Rollback()
	return fn(&tx{db: db, ctx: ctx, sql: s, user: userID, dek: dek})
}

// query and queryRow run SQL in the transaction through the statement cache.
func (t *tx) pool() *sql.DB {
	if t.write {
		return t.db.w
	}
	return t.db.r
}

// A query not in txQueries runs unprepared (correct, only slower).
func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	if s := t.db.cachedStmt(t.pool(), q); s != nil {
		return t.stmt(s).QueryContext(t.ctx, args...)
	}
	return t.sql.QueryContext(t.ctx, q, args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	if s := t.db.cachedStmt(t.pool(), q); s != nil {
		return t.stmt(s).QueryRowContext(t.ctx, args...)
	}
	return t.sql.QueryRowContext(t.ctx, q, args...)
}

// stmt is s on the transaction's connection (Tx.StmtContext), made once
// for the transaction: the writes of a group share theirs.
func (t *tx) stmt(s *sql.Stmt) *sql.Stmt {
	if t.stmts == nil {
		t.stmts = map[*sql.Stmt]*sql.Stmt{}
	}
	ts, ok := t.stmts[s]
	if !ok {
		ts = t.sql.StmtContext(t.ctx, s)
		t.stmts[s] = ts
	}
	return ts
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if s := t.db.cachedStmt(t.pool(), q); s != nil {
		return t.stmt(s).ExecContext(t.ctx, args...)
	}
	return t.sql.ExecContext(t.ctx, q, args...)
}

func (t *tx) open(entity, id, field string, value, clear []byte) (app.Cell, error) {
	c := app.Cell{Entity: entity, ID: id, Field: field, Clear: clear}
	if value != nil {
		pt, err := crypto.Open(t.dek, value, cellAD(t.user, entity, id, field))
		if err != nil {
			return app.Cell{}, fmt.Errorf("store: opening %s/%s/%s: %w", entity, id, field, err)
		}
		c.Value = pt
	}
	return c, nil
}

func (t *tx) Get(entity, id, field string) (app.Cell, bool, error) {
	if cells, ok := t.cache().entities[entityKey{entity, id}]; ok {
		c, ok := cells[field]
		return c, ok, nil
	}
	var value, clear []byte
	err := t.queryRow(qGet,
		t.user, entity, id, field).Scan(&value, &clear)
	if errors.Is(err, sql.ErrNoRows) {
		return app.Cell{}, false, nil
	}
	if err != nil {
		return app.Cell{}, false, err
	}
	c, err := t.open(entity, id, field, value, clear)
	return c, err == nil, err
}

func (t *tx) Entity(entity, id string) (map[string]app.Cell, error) {
	key := entityKey{entity, id}
	r := t.cache()
	if cells, ok := r.entities[key]; ok {
		return cells, nil
	}
	cells, err := t.readEntity(entity, id)
	if err != nil {
		return nil, err
	}
	r.entities[key] = cells
	return cells, nil
}

func (t *tx) readEntity(entity, id string) (map[string]app.Cell, error) {
	rows, err := t.query(qEntity,
		t.user, entity, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]app.Cell{}
	for rows.Next() {
		var field string
		var value, clear []byte
		if err := rows.Scan(&field, &value, &clear); err != nil {
			return nil, err
		}
		c, err := t.open(entity, id, field, value, clear)
		if err != nil {
			return nil, err
		}
		out[field] = c
	}
	return out, rows.Err()
}

func (t *tx) IDs(entity string) ([]string, error) {
	r := t.cache()
	if ids, ok := r.ids[entity]; ok {
		return slices.Clone(ids), nil
	}
	ids, err := t.readIDs(entity)
	if err != nil {
		return nil, err
	}
	r.ids[entity] = ids
	return slices.Clone(ids), nil
}

// Entities reads every live entity of a kind, by id, in one query (and
// keeps them as Entity and IDs would).
func (t *tx) Entities(entity string) (map[string]map[string]app.Cell, error) {
	rows, err := t.query(qEntities, t.user, entity)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]app.Cell{}
	var ids []string
	for rows.Next() {
		var id, field string
		var value, clear []byte
		if err := rows.Scan(&id, &field, &value, &clear); err != nil {
			return nil, err
		}
		c, err := t.open(entity, id, field, value, clear)
		if err != nil {
			return nil, err
		}
		cells, ok := out[id]
		if !ok {
			cells = map[string]app.Cell{}
			out[id] = cells
			ids = append(ids, id)
		}
		cells[field] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	r := t.cache()
	for id, cells := range out {
		r.entities[entityKey{entity, id}] = cells // shared, as Entity's (wroteCell copies)
	}
	r.ids[entity] = ids
	return out, nil
}

func (t *tx) readIDs(entity string) ([]string, error) {
	rows, err := t.query(qIDs, t.user, entity)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Fresh records that the entity has no cell yet, without reading it: its
// id is one the caller has just made at random (app.NewID).
func (t *tx) Fresh(entity, id string) {
	t.cache().entities[entityKey{entity, id}] = map[string]app.Cell{}
}

func (t *tx) Put(c app.Cell) error {
	if !t.write {
		return errors.New("store: write in a read transaction")
	}
	var sealed []byte
	if c.Value != nil {
		var err error
		if sealed, err = crypto.Seal(t.dek, c.Value, cellAD(t.user, c.Entity, c.ID, c.Field)); err != nil {
			return err
		}
	}
	kept := app.Cell{Entity: c.Entity, ID: c.ID, Field: c.Field, Value: bytes.Clone(c.Value), Clear: bytes.Clone(c.Clear), Parsed: c.Parsed}
	return t.write1(c.Entity, c.ID, c.Field, sealed, c.Clear, false, &kept)
}

func (t *tx) Delete(entity, id string) error {
	if !t.write {
		return errors.New("store: write in a read transaction")
	}
	fields, err := t.query(qFields, t.user, entity, id)
	if err != nil {
		return err
	}
	var names []string
	for fields.Next() {
		var f string
		if err := fields.Scan(&f); err != nil {
			fields.Close()
			return err
		}
		names = append(names, f)
	}
	fields.Close()
	for _, f := range names {
		if err := t.write1(entity, id, f, nil, nil, true, nil); err != nil {
			return err
		}
	}
	return nil
}

// uniqueViolation reports whether err is SQLite refusing a duplicate of
// a unique index.
func uniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}

// write1 appends one operation to the log and applies it to the cells, in
// the caller's transaction. A local write is always the newest: the clock
// has observed every time it has seen.
//
// kept is the cell as Put wrote it (nil for a tombstone), for what the
// transaction has read of the entity (wroteCell).
func (t *tx) write1(entity, id, field string, sealed, clear []byte, deleted bool, kept *app.Cell) error {
	// A token hash has one owner on the installation: no other live
	// token_hash cell holds it (the cells' unique index, below; capability
	// records follow their cells: PutCapability).
	tokenHash := field == "token_hash" && clear != nil && !deleted
	t.wrote = true
	t.changed = append(t.changed, app.CellRef{Entity: entity, ID: id, Field: field})
	hlc := t.db.clock.Now()
	counter := t.db.counter.Add(1)
	if _, err := t.exec(qInsertOp,
		t.db.device, counter, int64(hlc), t.user, entity, id, field, sealed, clear, deleted); err != nil {
		t.forget(entity, id)
		return fmt.Errorf("store: writing op: %w", err)
	}
	if _, err := t.exec(qUpsertCell,
		t.user, entity, id, field, sealed, clear, deleted, int64(hlc), t.db.device); err != nil {
		t.forget(entity, id)
		if tokenHash && uniqueViolation(err) {
			return app.ErrTaken
		}
		return fmt.Errorf("store: writing cell: %w", err)
	}
	t.wroteCell(entity, id, field, kept)
	return nil
}
