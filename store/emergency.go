package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// PutEmergencyKey stores (or replaces) this device's wrap of a user's
// emergency key.
func (db *DB) PutEmergencyKey(ctx context.Context, userID string, wrapped []byte, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO emergency_keys(user_id, wrapped_key, updated_at) VALUES (?,?,?)
		ON CONFLICT(user_id) DO UPDATE SET wrapped_key = excluded.wrapped_key, updated_at = excluded.updated_at`,
		userID, wrapped, ms(at))
	if err != nil {
		return fmt.Errorf("store: emergency key: %w", err)
	}
	return nil
}

// EmergencyKey returns this device's wrap of a user's emergency key.
func (db *DB) EmergencyKey(ctx context.Context, userID string) ([]byte, error) {
	var w []byte
	err := db.r.QueryRowContext(ctx, `SELECT wrapped_key FROM emergency_keys WHERE user_id = ?`, userID).Scan(&w)
	if err != nil {
		return nil, notFound(err)
	}
	return w, nil
}

// DeleteEmergencyKey drops this device's wrap of a user's emergency key.
func (db *DB) DeleteEmergencyKey(ctx context.Context, userID string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM emergency_keys WHERE user_id = ?`, userID)
	return err
}

const logCols = `user_id, seq, at, entry, prev_hash, hash`

func scanLog(row interface{ Scan(...any) error }) (*app.EmergencyLogRecord, error) {
	var r app.EmergencyLogRecord
	var at int64
	if err := row.Scan(&r.UserID, &r.Seq, &at, &r.Sealed, &r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.At = fromMS(at)
	return &r, nil
}

// qEmergencyLast reads a user's last emergency log entry (its +? as
// cells.go says).
const qEmergencyLast = `SELECT ` + logCols + ` FROM emergency_log WHERE user_id = +? ORDER BY seq DESC LIMIT 1`

// AppendEmergencyLog appends one entry to a user's log in a write
// transaction: fn sees the last entry and returns the next (or nil).
func (db *DB) AppendEmergencyLog(ctx context.Context, userID string, fn func(last *app.EmergencyLogRecord) (*app.EmergencyLogRecord, error)) error {
	st := db.cachedStmt(db.w, qEmergencyLast) // prepared at Open (writerQueries)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	last, err := scanLog(tx.StmtContext(ctx, st).QueryRowContext(ctx, userID))
	if errors.Is(err, sql.ErrNoRows) {
		last, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("store: reading emergency log: %w", err)
	}
	next, err := fn(last)
	if err != nil || next == nil {
		return err
	}
	if next.UserID != userID {
		return fmt.Errorf("store: emergency log entry for another user")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO emergency_log(`+logCols+`) VALUES (?,?,?,?,?,?)`,
		next.UserID, next.Seq, ms(next.At), next.Sealed, next.PrevHash, next.Hash)
	if err != nil {
		return fmt.Errorf("store: appending emergency log: %w", err)
	}
	return tx.Commit()
}

// EmergencyLog lists a user's log entries by sequence number.
func (db *DB) EmergencyLog(ctx context.Context, userID string) ([]*app.EmergencyLogRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+logCols+` FROM emergency_log WHERE user_id = ? ORDER BY seq`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.EmergencyLogRecord
	for rows.Next() {
		r, err := scanLog(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutResponder adds or replaces a responder.
func (db *DB) PutResponder(ctx context.Context, r *app.ResponderRecord) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO responders(mac, details, created_at) VALUES (?,?,?)
		ON CONFLICT(mac) DO UPDATE SET details = excluded.details`, r.MAC, r.Sealed, ms(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: responder: %w", err)
	}
	return nil
}

func scanResponder(row interface{ Scan(...any) error }) (*app.ResponderRecord, error) {
	var r app.ResponderRecord
	var at int64
	if err := row.Scan(&r.MAC, &r.Sealed, &at); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt = fromMS(at)
	return &r, nil
}

// Responder finds a responder by the keyed hash of its id.
func (db *DB) Responder(ctx context.Context, mac []byte) (*app.ResponderRecord, error) {
	return scanResponder(db.r.QueryRowContext(ctx, `SELECT mac, details, created_at FROM responders WHERE mac = ?`, mac))
}

// ResponderList lists every responder.
func (db *DB) ResponderList(ctx context.Context) ([]*app.ResponderRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT mac, details, created_at FROM responders ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.ResponderRecord
	for rows.Next() {
		r, err := scanResponder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteResponder removes a responder; false when there was none.
func (db *DB) DeleteResponder(ctx context.Context, mac []byte) (bool, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM responders WHERE mac = ?`, mac)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// PutResponderOrg adds or replaces an organization trusted to issue
// responder badges.
func (db *DB) PutResponderOrg(ctx context.Context, o *app.ResponderOrgRecord) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO responder_orgs(key_id, details, created_at) VALUES (?,?,?)
		ON CONFLICT(key_id) DO UPDATE SET details = excluded.details`, o.KeyID, o.Sealed, ms(o.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: responder organization: %w", err)
	}
	return nil
}

func scanResponderOrg(row interface{ Scan(...any) error }) (*app.ResponderOrgRecord, error) {
	var o app.ResponderOrgRecord
	var at int64
	if err := row.Scan(&o.KeyID, &o.Sealed, &at); err != nil {
		return nil, notFound(err)
	}
	o.CreatedAt = fromMS(at)
	return &o, nil
}

// ResponderOrg finds a trusted organization by its key id.
func (db *DB) ResponderOrg(ctx context.Context, keyID string) (*app.ResponderOrgRecord, error) {
	return scanResponderOrg(db.r.QueryRowContext(ctx, `SELECT key_id, details, created_at FROM responder_orgs WHERE key_id = ?`, keyID))
}

// ResponderOrgList lists every trusted organization.
func (db *DB) ResponderOrgList(ctx context.Context) ([]*app.ResponderOrgRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT key_id, details, created_at FROM responder_orgs ORDER BY created_at, key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.ResponderOrgRecord
	for rows.Next() {
		o, err := scanResponderOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// DeleteResponderOrg stops trusting an organization's key; false when it
// was not trusted.
func (db *DB) DeleteResponderOrg(ctx context.Context, keyID string) (bool, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM responder_orgs WHERE key_id = ?`, keyID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
