package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

const accountCols = `user_id, profile_id, email_mac, handle_mac, kdf, wrapped_dek, login_key, key_wrapped_dek, created_at`

func scanAccount(row interface{ Scan(...any) error }) (*app.Account, error) {
	var a app.Account
	var created int64
	err := row.Scan(&a.UserID, &a.ProfileID, &a.EmailMAC, &a.HandleMAC, &a.KDF, &a.WrappedDEK, &a.LoginKey, &a.KeyWrappedDEK, &created)
	if err != nil {
		return nil, notFound(err)
	}
	a.CreatedAt = fromMS(created)
	return &a, nil
}

// CreateAccount inserts an account and, in the same transaction, the first
// profile data that fill writes. A taken e-mail (or user id) gives
// app.ErrExists; handles repeat freely.
func (db *DB) CreateAccount(ctx context.Context, a *app.Account, dek []byte, fill func(app.Tx) error) error {
	return db.update(ctx, a.UserID, dek, func(t *tx) error {
		_, err := t.sql.ExecContext(t.ctx, `INSERT INTO accounts(`+accountCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
			a.UserID, a.ProfileID, a.EmailMAC, nullBytes(a.HandleMAC), a.KDF, a.WrappedDEK,
			nullBytes(a.LoginKey), nullBytes(a.KeyWrappedDEK), ms(a.CreatedAt))
		if isUnique(err) {
			return app.ErrExists
		}
		if err != nil {
			return fmt.Errorf("store: inserting account: %w", err)
		}
		if fill == nil {
			return nil
		}
		return fill(t)
	})
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// AccountByEmail finds an account by the keyed hash of its e-mail.
func (db *DB) AccountByEmail(ctx context.Context, mac []byte) (*app.Account, error) {
	return scanAccount(db.queryRow(ctx, db.r, `SELECT `+accountCols+` FROM accounts WHERE email_mac = ?`, mac))
}

// AccountByHandle finds the account whose handle has the keyed hash mac.
// Handles repeat: app.ErrNotFound when no account holds it, app.ErrAmbiguous
// when more than one does.
func (db *DB) AccountByHandle(ctx context.Context, mac []byte) (*app.Account, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE handle_mac = ? LIMIT 2`, mac)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found *app.Account
	for rows.Next() {
		if found != nil {
			return nil, app.ErrAmbiguous
		}
		if found, err = scanAccount(rows); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, app.ErrNotFound
	}
	return found, nil
}

// AccountByProfile finds an account by its profile id.
func (db *DB) AccountByProfile(ctx context.Context, profileID string) (*app.Account, error) {
	return scanAccount(db.queryRow(ctx, db.r, `SELECT `+accountCols+` FROM accounts WHERE profile_id = ?`, profileID))
}

// Account finds an account by user id.
func (db *DB) Account(ctx context.Context, userID string) (*app.Account, error) {
	return scanAccount(db.queryRow(ctx, db.r, `SELECT `+accountCols+` FROM accounts WHERE user_id = ?`, userID))
}

// Accounts lists every account on this device, oldest first.
func (db *DB) Accounts(ctx context.Context) ([]*app.Account, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateSession stores a session (its token only as a hash).
func (db *DB) CreateSession(ctx context.Context, s *app.Session) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO sessions(token_hash, user_id, wrapped_dek, created_at, expires_at) VALUES (?,?,?,?,?)`,
		s.TokenHash, s.UserID, s.WrappedDEK, ms(s.CreatedAt), ms(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: inserting session: %w", err)
	}
	// Expired sessions open nothing without their token; they are kept a
	// week so that a late client is told "expired", then dropped.
	_, err = db.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ms(db.now().Add(-7*24*time.Hour)))
	return err
}

// SessionByHash finds a session by its token's hash.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*app.Session, error) {
	var s app.Session
	var created, expires int64
	err := db.queryRow(ctx, db.r, `SELECT s.token_hash, s.user_id, a.profile_id, s.wrapped_dek, s.created_at, s.expires_at
		FROM sessions s JOIN accounts a ON a.user_id = s.user_id WHERE s.token_hash = ?`, hash).
		Scan(&s.TokenHash, &s.UserID, &s.ProfileID, &s.WrappedDEK, &created, &expires)
	if err != nil {
		return nil, notFound(err)
	}
	s.CreatedAt, s.ExpiresAt = fromMS(created), fromMS(expires)
	return &s, nil
}

// DeleteSession removes a session; removing an unknown one is no error.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return err
}

// PutChallenge stores a key-login challenge by its hash.
func (db *DB) PutChallenge(ctx context.Context, hash []byte, userID string, expires time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO challenges(hash, user_id, expires_at) VALUES (?,?,?)`, hash, userID, ms(expires))
	if err != nil {
		return fmt.Errorf("store: inserting challenge: %w", err)
	}
	_, err = db.w.ExecContext(ctx, `DELETE FROM challenges WHERE expires_at < ?`, ms(db.now()))
	return err
}

// TakeChallenge removes a challenge and returns what it was issued for: a
// challenge can be used once only.
func (db *DB) TakeChallenge(ctx context.Context, hash []byte) (string, time.Time, error) {
	var user string
	var expires int64
	err := db.w.QueryRowContext(ctx, `DELETE FROM challenges WHERE hash = ? RETURNING user_id, expires_at`, hash).Scan(&user, &expires)
	if err != nil {
		return "", time.Time{}, notFound(err)
	}
	return user, fromMS(expires), nil
}

// AddFailure records one failed attempt under key.
func (db *DB) AddFailure(ctx context.Context, key []byte, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO failures(key, at) VALUES (?, ?)`, key, ms(at))
	return err
}

// Failures counts the failures under key since a time, with the oldest.
func (db *DB) Failures(ctx context.Context, key []byte, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := db.queryRow(ctx, db.r, `SELECT COUNT(*), MIN(at) FROM failures WHERE key = ? AND at >= ?`, key, ms(since)).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, fromMS(oldest.Int64), nil
}

// ReserveAttempt records an attempt unless limit are already recorded
// since a time: the count and the insert are one statement on the single
// writer connection, so concurrent attempts are counted one by one.
func (db *DB) ReserveAttempt(ctx context.Context, key []byte, at, since time.Time, limit int) (bool, time.Time, error) {
	res, err := db.w.ExecContext(ctx, `INSERT INTO failures(key, at) SELECT ?1, ?2
		WHERE (SELECT COUNT(*) FROM failures WHERE key = ?1 AND at >= ?3) < ?4`, key, ms(at), ms(since), limit)
	if err != nil {
		return false, time.Time{}, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err == nil, time.Time{}, err
	}
	_, oldest, err := db.Failures(ctx, key, since)
	return false, oldest, err
}

// ReleaseAttempt removes one attempt recorded under key at `at`.
func (db *DB) ReleaseAttempt(ctx context.Context, key []byte, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM failures WHERE rowid =
		(SELECT rowid FROM failures WHERE key = ? AND at = ? LIMIT 1)`, key, ms(at))
	return err
}

// ClearFailures forgets the failures under key (after a success).
func (db *DB) ClearFailures(ctx context.Context, key []byte) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM failures WHERE key = ?`, key)
	return err
}
