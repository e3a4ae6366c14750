package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

// The statements transactions run, prepared once at Open.
const (
	qGet        = `SELECT value, clear FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND field = ? AND deleted = 0`
	qEntity     = `SELECT field, value, clear FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND deleted = 0`
	qIDs        = `SELECT DISTINCT id FROM cells WHERE user_id = ? AND entity = ? AND deleted = 0 ORDER BY id`
	qFields     = `SELECT field FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND deleted = 0`
	qInsertOp   = `INSERT INTO ops(device, counter, hlc, user_id, entity, id, field, value, clear, deleted) VALUES (?,?,?,?,?,?,?,?,?,?)`
	qUpsertCell = `INSERT INTO cells(user_id, entity, id, field, value, clear, deleted, hlc, device) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT(user_id, entity, id, field) DO UPDATE SET value = excluded.value, clear = excluded.clear, deleted = excluded.deleted, hlc = excluded.hlc, device = excluded.device`
)

var txQueries = []string{qGet, qEntity, qIDs, qFields, qInsertOp, qUpsertCell}

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

func (db *DB) update(ctx context.Context, userID string, dek []byte, fn func(*tx) error) error {
	// Write transactions are serialised (one writer connection), and so,
	// by this lock, is everything they do with the operation counter: a
	// rollback gives back the counters it took before the next
	// transaction takes any (the connection alone is released by the
	// rollback, before the counter is given back: another transaction
	// could then take counters that a later one would take again).
	db.wmu.Lock()
	defer db.wmu.Unlock()
	s, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	counterAtStart := db.counter.Load()
	t := &tx{db: db, ctx: ctx, sql: s, user: userID, dek: dek, write: true}
	err = fn(t)
	if err == nil {
		err = db.derive(t)
	}
	if err != nil {
		s.Rollback()
		db.counter.Store(counterAtStart)
		return err
	}
	if err := s.Commit(); err != nil {
		db.counter.Store(counterAtStart)
		return fmt.Errorf("store: commit: %w", err)
	}
	if t.wrote {
		db.hooks.Fire(userID)
	}
	return nil
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
		return t.sql.StmtContext(t.ctx, s).QueryContext(t.ctx, args...)
	}
	return t.sql.QueryContext(t.ctx, q, args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	if s := t.db.cachedStmt(t.pool(), q); s != nil {
		return t.sql.StmtContext(t.ctx, s).QueryRowContext(t.ctx, args...)
	}
	return t.sql.QueryRowContext(t.ctx, q, args...)
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if s := t.db.cachedStmt(t.pool(), q); s != nil {
		return t.sql.StmtContext(t.ctx, s).ExecContext(t.ctx, args...)
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
	return t.write1(c.Entity, c.ID, c.Field, sealed, c.Clear, false)
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
		if err := t.write1(entity, id, f, nil, nil, true); err != nil {
			return err
		}
	}
	return nil
}

// write1 appends one operation to the log and applies it to the cells, in
// the caller's transaction. A local write is always the newest: the clock
// has observed every time it has seen.
func (t *tx) write1(entity, id, field string, sealed, clear []byte, deleted bool) error {
	if field == "token_hash" && clear != nil {
		// A token hash has one owner on the installation.
		if taken, err := t.tokenHashTaken(entity, id, clear); err != nil {
			return err
		} else if taken {
			return app.ErrTaken
		}
	}
	t.wrote = true
	t.changed = append(t.changed, app.CellRef{Entity: entity, ID: id, Field: field})
	hlc := t.db.clock.Now()
	counter := t.db.counter.Add(1)
	if _, err := t.exec(qInsertOp,
		t.db.device, counter, int64(hlc), t.user, entity, id, field, sealed, clear, deleted); err != nil {
		return fmt.Errorf("store: writing op: %w", err)
	}
	if _, err := t.exec(qUpsertCell,
		t.user, entity, id, field, sealed, clear, deleted, int64(hlc), t.db.device); err != nil {
		return fmt.Errorf("store: writing cell: %w", err)
	}
	return nil
}
