package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

func outboxAD(id string) []byte { return []byte("outbox\x00" + id) }

// Enqueue adds a message to the outbox in the transaction, its payload
// sealed under the installation key.
func (t *tx) Enqueue(m *app.Message) error {
	if !t.write {
		return fmt.Errorf("store: enqueue in a read transaction")
	}
	sealed, err := crypto.Seal(t.db.installKey, m.Payload, outboxAD(m.ID))
	if err != nil {
		return err
	}
	_, err = t.sql.ExecContext(t.ctx, `INSERT INTO outbox(id, user_id, kind, payload, attempts, next_at, created_at) VALUES (?,?,?,?,?,?,?)`,
		m.ID, m.UserID, m.Kind, sealed, m.Attempts, ms(m.NextAt), ms(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

const outboxCols = `id, user_id, kind, payload, attempts, next_at, created_at, delivered_at, last_error, failed_at`

func (db *DB) scanMessages(rows *sql.Rows, err error) ([]*app.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Message
	for rows.Next() {
		var m app.Message
		var sealed []byte
		var next, created int64
		var delivered, failed sql.NullInt64
		if err := rows.Scan(&m.ID, &m.UserID, &m.Kind, &sealed, &m.Attempts, &next, &created, &delivered, &m.LastError, &failed); err != nil {
			return nil, err
		}
		if m.Payload, err = crypto.Open(db.installKey, sealed, outboxAD(m.ID)); err != nil {
			return nil, fmt.Errorf("store: opening outbox message %s: %w", m.ID, err)
		}
		m.NextAt, m.CreatedAt = fromMS(next), fromMS(created)
		if delivered.Valid {
			m.DeliveredAt = fromMS(delivered.Int64)
		}
		if failed.Valid {
			m.FailedAt = fromMS(failed.Int64)
		}
		out = append(out, &m)
	}
	return out, rows.Err()
}

// DueMessages lists undelivered messages whose time has come, oldest
// first; one failed for good never is.
func (db *DB) DueMessages(ctx context.Context, now time.Time, limit int) ([]*app.Message, error) {
	return db.scanMessages(db.r.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= ? ORDER BY next_at LIMIT ?`, ms(now), limit))
}

// Messages lists a user's outbox, newest first.
func (db *DB) Messages(ctx context.Context, userID string) ([]*app.Message, error) {
	return db.scanMessages(db.r.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID))
}

// MarkDelivered records a delivery.
func (db *DB) MarkDelivered(ctx context.Context, id string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `UPDATE outbox SET delivered_at = ?, last_error = '' WHERE id = ?`, ms(at), id)
	return err
}

// MarkFailed records a failed attempt and when to try again.
func (db *DB) MarkFailed(ctx context.Context, id string, attempts int, next time.Time, lastError string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?`, attempts, ms(next), clipError(lastError), id)
	return err
}

// RetryKind makes every waiting message of a kind due at at: a sender for
// that kind has just been set up.
func (db *DB) RetryKind(ctx context.Context, kind string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `UPDATE outbox SET next_at = ? WHERE kind = ? AND delivered_at IS NULL AND failed_at IS NULL AND next_at > ?`, ms(at), kind, ms(at))
	return err
}

// MarkFailedForGood records a last attempt: the message stays, failed,
// and is never due again.
func (db *DB) MarkFailedForGood(ctx context.Context, id string, attempts int, at time.Time, lastError string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE outbox SET attempts = ?, failed_at = ?, last_error = ? WHERE id = ?`, attempts, ms(at), clipError(lastError), id)
	return err
}

func clipError(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}
