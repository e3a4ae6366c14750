package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

func requestAD(id string) []byte { return []byte("request\x00" + id) }

// requestProofAD binds a request's sealed proof to its row and column.
func requestProofAD(id string) []byte { return []byte("request\x00" + id + "\x00proof") }

const requestCols = `id, poll_hash, user_id, box_key, payload, status, result, created_at, expires_at, decided_at, proof`

func (db *DB) scanRequest(row interface{ Scan(...any) error }) (*app.Request, error) {
	var r app.Request
	var sealed, proof []byte
	var created, expires int64
	var decided sql.NullInt64
	if err := row.Scan(&r.ID, &r.PollHash, &r.UserID, &r.BoxKey, &sealed, &r.Status, &r.Result, &created, &expires, &decided, &proof); err != nil {
		return nil, notFound(err)
	}
	pt, err := crypto.Open(db.installKey, sealed, requestAD(r.ID))
	if err != nil {
		return nil, fmt.Errorf("store: opening request %s: %w", r.ID, err)
	}
	r.Payload = pt
	if proof != nil {
		if r.Proof, err = crypto.Open(db.installKey, proof, requestProofAD(r.ID)); err != nil {
			return nil, fmt.Errorf("store: opening request %s's proof: %w", r.ID, err)
		}
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	if decided.Valid {
		r.DecidedAt = fromMS(decided.Int64)
	}
	return &r, nil
}

// PutRequest stores a new request, its payload (and proof, if any)
// sealed under the installation key.
func (db *DB) PutRequest(ctx context.Context, r *app.Request) error {
	sealed, err := crypto.Seal(db.installKey, r.Payload, requestAD(r.ID))
	if err != nil {
		return err
	}
	proof, err := db.sealRequestProof(r.ID, r.Proof)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO requests(`+requestCols+`) VALUES (?,?,?,?,?,?,?,?,?,NULL,?)`,
		r.ID, r.PollHash, r.UserID, r.BoxKey, sealed, r.Status, r.Result, ms(r.CreatedAt), ms(r.ExpiresAt), proof)
	if isUnique(err) {
		return app.ErrExists
	}
	return err
}

// RequestByPollHash finds a request by the SHA-256 of its request_id.
func (db *DB) RequestByPollHash(ctx context.Context, hash []byte) (*app.Request, error) {
	return db.scanRequest(db.r.QueryRowContext(ctx, `SELECT `+requestCols+` FROM requests WHERE poll_hash = ?`, hash))
}

// UserRequest finds one of a user's requests by its id.
func (db *DB) UserRequest(ctx context.Context, userID, id string) (*app.Request, error) {
	return db.scanRequest(db.r.QueryRowContext(ctx, `SELECT `+requestCols+` FROM requests WHERE user_id = ? AND id = ?`, userID, id))
}

// UserRequests lists a user's requests, newest first.
func (db *DB) UserRequests(ctx context.Context, userID string) ([]*app.Request, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+requestCols+` FROM requests WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Request
	for rows.Next() {
		r, err := db.scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DecideRequest moves a pending request of the user to status, with its
// result. A request that is not (or no longer) pending gives
// app.ErrNotFound, so two decisions cannot both win.
func (db *DB) DecideRequest(ctx context.Context, userID, id, status string, result []byte, at time.Time) error {
	return updatedOne(db.w.ExecContext(ctx, `UPDATE requests SET status = ?, result = ?, decided_at = ? WHERE user_id = ? AND id = ? AND status = ?`,
		status, result, ms(at), userID, id, app.RequestPending))
}

// updatedOne is an UPDATE's outcome: app.ErrNotFound when it changed no
// row.
func updatedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return app.ErrNotFound
	}
	return nil
}

// SetRequestProof replaces what checking a request's domain found, sealed
// under the installation key; app.ErrNotFound for an unknown request.
func (db *DB) SetRequestProof(ctx context.Context, id string, proof []byte) error {
	sealed, err := db.sealRequestProof(id, proof)
	if err != nil {
		return err
	}
	return updatedOne(db.w.ExecContext(ctx, `UPDATE requests SET proof = ? WHERE id = ?`, sealed, id))
}

// sealRequestProof seals a request's proof (nil stays NULL).
func (db *DB) sealRequestProof(id string, proof []byte) ([]byte, error) {
	if proof == nil {
		return nil, nil
	}
	return crypto.Seal(db.installKey, proof, requestProofAD(id))
}
