package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Capability records (migration 0009) are device-local: each device
// derives them from the synced cells, inside the write transaction that
// changed what they show (the app's Deriver, called by update and
// ApplyOps), kept in the order of what they name (migration 0016). A
// record's token hash is its entity's live token_hash cell, which has one
// owner on the installation (the cells' unique index): a record is found
// by its token hash through that cell (migration 0017).

// A record's columns, and the same prefixed for the alias k.
const (
	capCols  = `token_hash, user_id, kind, id, dep, state, expires_at, kdf, failures, view, owner`
	capColsK = `k.token_hash, k.user_id, k.kind, k.id, k.dep, k.state, k.expires_at, k.kdf, k.failures, k.view, k.owner`
)

// kindOfCell is SQL for the capability kind of the entity of cells row c
// (app.CapabilityEntity; TestKindOfCellNamesEveryKind).
const kindOfCell = `CASE c.entity WHEN 'share' THEN 'share' WHEN 'public' THEN 'public' WHEN 'health_link' THEN 'link' WHEN 'emergency' THEN 'emergency' END`

// The statements write transactions run on capabilities (prepared at Open:
// txQueries).
const (
	// A record of the same thing is replaced. Under the same token, a
	// link locked here stays locked (and viewless), whatever the cells say
	// before its lock has reached them, and keeps its failures; a new token
	// starts afresh.
	qPutCapability = `INSERT INTO capabilities(` + capCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(user_id, kind, id) DO UPDATE SET token_hash = excluded.token_hash, dep = excluded.dep,
		expires_at = excluded.expires_at, kdf = excluded.kdf, owner = excluded.owner,
		failures = CASE WHEN capabilities.token_hash = excluded.token_hash THEN MAX(failures, excluded.failures) ELSE excluded.failures END,
		state = CASE WHEN capabilities.token_hash = excluded.token_hash AND capabilities.state = 'locked' THEN 'locked' ELSE excluded.state END,
		view = CASE WHEN capabilities.token_hash = excluded.token_hash AND capabilities.state = 'locked' THEN NULL ELSE excluded.view END`
	qCapabilitiesOfKind = `SELECT ` + capCols + ` FROM capabilities WHERE user_id = ? AND kind = ?`
	// The index is named, as for the dep query (capabilitiesOfDeps); owner
	// <> '' is what lets SQLite use it (it holds only records with one).
	qCapabilitiesOwnedBy = `SELECT ` + capCols + ` FROM capabilities INDEXED BY capabilities_owner
		WHERE user_id = ? AND kind = ? AND owner = ? AND owner <> ''`
	qViewsVersion    = `SELECT version FROM capability_builds WHERE user_id = ?`
	qSetViewsVersion = `INSERT INTO capability_builds(user_id, version) VALUES (?, ?)
		ON CONFLICT(user_id) DO UPDATE SET version = excluded.version`
	// The live token_hash cell that holds a hash: its owner.
	qTokenHashOwner   = `SELECT user_id, entity, id FROM cells WHERE field = 'token_hash' AND deleted = 0 AND clear = ?`
	qTokenHashInCells = `SELECT COUNT(*) FROM cells WHERE field = 'token_hash' AND deleted = 0 AND clear = ?
		AND NOT (user_id = ? AND entity = ? AND id = ?)`
)

var capabilityTxQueries = []string{
	qPutCapability, qCapabilitiesOfKind, qCapabilitiesOwnedBy,
	capabilitiesOfDeps(1), qViewsVersion, qSetViewsVersion,
	qTokenHashOwner, qTokenHashInCells, qDropCapability, qDropCapabilitiesOfKind,
}

func scanCapability(s interface{ Scan(...any) error }) (*app.Capability, error) {
	c := &app.Capability{}
	var exp int64
	if err := s.Scan(&c.TokenHash, &c.UserID, &c.Kind, &c.ID, &c.Dep, &c.State, &exp, &c.KDF, &c.Failures, &c.View, &c.Owner); err != nil {
		return nil, err
	}
	if exp > 0 {
		c.ExpiresAt = fromMS(exp)
	}
	return c, nil
}

// SetDeriver installs the function every write transaction calls before it
// commits (nil: none).
func (db *DB) SetDeriver(d app.Deriver) { db.deriver.Store(&d) }

func (db *DB) derive(t *tx) error {
	d := db.deriver.Load()
	if d == nil || *d == nil || len(t.changed) == 0 {
		return nil
	}
	changed := t.changed
	t.changed = nil
	return (*d)(t, t.dek, changed)
}

// PutCapability writes one of the transaction's user's capability records.
// Its token hash must be the live token_hash cell of what it names (the
// cell is written first, in the same transaction); under a hash another
// cell holds, or none does, it is refused (app.ErrTaken) and changes
// nothing. A record under no hash claims no token, and no lookup by hash
// finds it.
func (t *tx) PutCapability(c *app.Capability) error {
	if !t.write {
		return errors.New("store: write in a read transaction")
	}
	hash := c.TokenHash
	if len(hash) == 0 {
		hash = []byte{} // a record that claims no token: found by none
	} else if err := t.ownsTokenHash(app.CapabilityEntity(c.Kind), c.ID, hash); err != nil {
		return err
	}
	var exp int64
	if !c.ExpiresAt.IsZero() {
		exp = ms(c.ExpiresAt)
	}
	if _, err := t.exec(qPutCapability, hash, t.user, c.Kind, c.ID, c.Dep, c.State, exp, c.KDF, c.Failures, c.View, c.Owner); err != nil {
		return fmt.Errorf("store: writing capability: %w", err)
	}
	return nil
}

// ownsTokenHash checks that the live token_hash cell of (entity, id) holds
// hash (app.ErrTaken if not). What the transaction has read of the entity,
// kept current by its writes, is enough when it shows that cell: the cells'
// unique index has made it the hash's one owner.
func (t *tx) ownsTokenHash(entity, id string, hash []byte) error {
	if t.reads != nil {
		if c, ok := t.reads.entities[entityKey{entity, id}]["token_hash"]; ok && bytes.Equal(c.Clear, hash) {
			return nil
		}
	}
	var user, e, i string
	err := t.queryRow(qTokenHashOwner, hash).Scan(&user, &e, &i)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && (user != t.user || e != entity || i != id):
		return app.ErrTaken
	case err != nil:
		return fmt.Errorf("store: writing capability: %w", err)
	}
	return nil
}

// capabilitiesOfDeps selects a kind's records that show one of n fields.
// The index is named: without statistics SQLite would walk the primary
// key's (user, kind) range, every share of the user, for each change of
// a field (capabilities_dep finds just that field's).
func capabilitiesOfDeps(n int) string {
	return `SELECT ` + capCols + ` FROM capabilities INDEXED BY capabilities_dep WHERE user_id = ? AND kind = ? AND dep IN (?` + strings.Repeat(",?", n-1) + `)`
}

// Capabilities lists the user's capability records of a kind.
func (t *tx) Capabilities(kind string, deps ...string) ([]*app.Capability, error) {
	q := qCapabilitiesOfKind
	args := []any{t.user, kind}
	if len(deps) > 0 {
		q = capabilitiesOfDeps(len(deps))
		for _, d := range deps {
			args = append(args, d)
		}
	}
	return t.capabilities(q, args...)
}

// CapabilitiesOwnedBy lists the user's capability records of a kind whose
// thing owner holds (a service's shares).
func (t *tx) CapabilitiesOwnedBy(kind, owner string) ([]*app.Capability, error) {
	return t.capabilities(qCapabilitiesOwnedBy, t.user, kind, owner)
}

func (t *tx) capabilities(q string, args ...any) ([]*app.Capability, error) {
	return scanCapabilities(t.query(q, args...))
}

// scanCapabilities reads every record a query found.
func scanCapabilities(rows *sql.Rows, err error) ([]*app.Capability, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Capability
	for rows.Next() {
		c, err := scanCapability(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ViewsVersion is the version of the views derived here for the user.
func (t *tx) ViewsVersion() (int, error) {
	r := t.cache()
	if r.version != nil {
		return *r.version, nil
	}
	var v int
	err := t.queryRow(qViewsVersion, t.user).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v, err = 0, nil
	}
	if err == nil {
		r.version = &v
	}
	return v, err
}

// SetViewsVersion records the version of the views derived for the user.
func (t *tx) SetViewsVersion(v int) error {
	_, err := t.exec(qSetViewsVersion, t.user, v)
	if err == nil {
		t.cache().version = &v
	}
	return err
}

// PutSigningKey keeps the user's wrapped signing key on this device.
func (t *tx) PutSigningKey(wrapped []byte) error {
	_, err := t.sql.ExecContext(t.ctx, `INSERT INTO signing_keys(user_id, wrapped) VALUES (?, ?)
		ON CONFLICT(user_id) DO UPDATE SET wrapped = excluded.wrapped`, t.user, wrapped)
	return err
}

// qCapabilityByHash finds the cell that holds the hash, then its record,
// if the record is under that hash still.
const qCapabilityByHash = `SELECT ` + capColsK + ` FROM cells c
		JOIN capabilities k ON k.user_id = c.user_id AND k.kind = ` + kindOfCell + ` AND k.id = c.id AND k.token_hash = c.clear
		WHERE c.field = 'token_hash' AND c.deleted = 0 AND c.clear = +?`

// CapabilityByHash finds a capability by its token's index (crypto.TokenIndex).
func (db *DB) CapabilityByHash(ctx context.Context, tokenHash []byte) (*app.Capability, error) {
	c, err := scanCapability(db.queryRow(ctx, db.r, qCapabilityByHash, tokenHash))
	if err != nil {
		return nil, notFound(err)
	}
	return c, nil
}

// One probe of the primary key for each user id among the records (a skip
// scan of the key: every record counts, an account's or not, such as
// those a join's first sync derives before its account is made), and no
// index by kind and id kept for this alone.
const qCapabilitiesByID = `WITH RECURSIVE u(user_id) AS (
		SELECT MIN(user_id) FROM capabilities
		UNION ALL
		SELECT (SELECT MIN(user_id) FROM capabilities WHERE user_id > u.user_id) FROM u WHERE u.user_id IS NOT NULL
	)
	SELECT ` + capColsK + ` FROM u JOIN capabilities k ON k.user_id = u.user_id AND k.kind = +?1 AND k.id = +?2`

// CapabilitiesByID lists the records, of every account, that name the kind
// and id: more than one only if an account has taken another's id (an
// import, a sync operation), which the caller must not trust.
func (db *DB) CapabilitiesByID(ctx context.Context, kind, id string) ([]*app.Capability, error) {
	st, err := db.stmt(db.r, qCapabilitiesByID)
	if err != nil {
		return nil, err
	}
	return scanCapabilities(st.QueryContext(ctx, kind, id))
}

const qCapabilityFailure = `UPDATE capabilities SET failures = failures + 1,
		state = CASE WHEN failures + 1 >= ? THEN 'locked' ELSE state END,
		view = CASE WHEN failures + 1 >= ? THEN NULL ELSE view END
		WHERE (user_id, kind, id) = (SELECT c.user_id, ` + kindOfCell + `, c.id FROM cells c
			WHERE c.field = 'token_hash' AND c.deleted = 0 AND c.clear = ?)
		AND token_hash = ? RETURNING failures, state`

// CapabilityFailure counts a wrong passcode; at limit the capability is
// locked and its view dropped, in the same statement.
func (db *DB) CapabilityFailure(ctx context.Context, tokenHash []byte, limit int) (int, bool, error) {
	var n int
	var state string
	err := db.queryRow(ctx, db.w, qCapabilityFailure, limit, limit, tokenHash, tokenHash).Scan(&n, &state)
	if err != nil {
		return 0, false, notFound(err)
	}
	return n, state == app.CapLocked, nil
}

const qExpireCapabilities = `UPDATE capabilities SET view = NULL, state = 'expired'
		WHERE view IS NOT NULL AND expires_at > 0 AND expires_at <= ?`

// ExpireCapabilities drops the views of capabilities whose time is up.
func (db *DB) ExpireCapabilities(ctx context.Context, now time.Time) (int, error) {
	r, err := db.w.ExecContext(ctx, qExpireCapabilities, ms(now))
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// SigningKey returns the user's signing key wrapped under the installation
// key.
func (db *DB) SigningKey(ctx context.Context, userID string) ([]byte, error) {
	var w []byte
	if err := db.queryRow(ctx, db.r, `SELECT wrapped FROM signing_keys WHERE user_id = ?`, userID).Scan(&w); err != nil {
		return nil, notFound(err)
	}
	return w, nil
}

// tokenHashTaken reports whether a live token_hash cell with this value
// belongs to something other than (user, entity, id).
func (t *tx) tokenHashTaken(entity, id string, hash []byte) (bool, error) {
	var n int
	err := t.queryRow(qTokenHashInCells, hash, t.user, entity, id).Scan(&n)
	return n > 0, err
}

// Pending lists the cells the transaction changed, and the writes of its
// group before it, whose capability views are not derived yet.
func (t *tx) Pending() []app.CellRef {
	return append(t.before[:len(t.before):len(t.before)], t.changed...)
}

// UserID is the transaction's user.
func (t *tx) UserID() string { return t.user }

// DropCapability deletes the user's capability records of a kind for id
// ("": all of the kind).
func (t *tx) DropCapability(kind, id string) error {
	if !t.write {
		return errors.New("store: write in a read transaction")
	}
	var err error
	if id == "" {
		_, err = t.exec(qDropCapabilitiesOfKind, t.user, kind)
	} else {
		_, err = t.exec(qDropCapability, t.user, kind, id)
	}
	return err
}

// Two statements, not one matching every id when id is empty, which
// SQLite cannot narrow by id: dropping one share's record walked every
// share's.
const (
	qDropCapability         = `DELETE FROM capabilities WHERE user_id = ? AND kind = ? AND id = ?`
	qDropCapabilitiesOfKind = `DELETE FROM capabilities WHERE user_id = ? AND kind = ?`
)

// DEK is the data key the transaction was opened with.
func (t *tx) DEK() []byte { return t.dek }

// Memo keeps f's result with what the transaction has read (reads): a
// user's writes grouped in one commit share it, and they share the data
// key too (byUser).
func (t *tx) Memo(key string, f func() string) string {
	r := t.cache()
	if v, ok := r.memo[key]; ok {
		return v
	}
	v := f()
	r.memo[key] = v
	return v
}
