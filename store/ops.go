package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

// Replication of the operation log (what sync needs), and the device-local
// records sync keeps. Nothing here is ever replicated itself: only the ops
// table travels, and only a user's own operations.

var _ app.SyncStore = (*DB)(nil)

// Bounds on what a remote operation may carry.
const (
	maxOpName  = 256     // entity, id, field, device
	maxOpValue = 1 << 24 // 16 MiB sealed or clear value
)

// OnCommit calls fn after every commit that changed a user's cells.
func (db *DB) OnCommit(fn func(userID string)) func() { return db.hooks.Add(fn) }

// OpsVector returns, per device, the highest counter of the user's
// operations held here.
func (db *DB) OpsVector(ctx context.Context, userID string) (map[string]int64, error) {
	s, err := db.stmt(db.r, qOpsVector)
	if err != nil {
		return nil, err
	}
	return scanVector(s.QueryContext(ctx, userID))
}

// qOpsVector is a user's vector by a skip scan of the log's (user,
// device, counter) key: one seek per device instead of a pass over every
// operation (and its value).
const qOpsVector = `WITH RECURSIVE d(device) AS (
		SELECT MIN(device) FROM ops WHERE user_id = +?1
		UNION ALL
		SELECT (SELECT MIN(device) FROM ops WHERE user_id = +?1 AND device > d.device) FROM d WHERE d.device IS NOT NULL
	)
	SELECT device, (SELECT MAX(counter) FROM ops WHERE user_id = +?1 AND device = d.device) FROM d WHERE device IS NOT NULL`

// qOpsAfter lists a device's operations for a user after a counter, in
// order, up to a limit (its +? as cells.go says).
const qOpsAfter = `SELECT device, counter, hlc, entity, id, field, value, clear, deleted FROM ops
		WHERE user_id = +? AND device = +? AND counter > ? ORDER BY counter LIMIT +?`

// scanVector reads (device, counter) rows into a vector.
func scanVector(rows *sql.Rows, err error) (map[string]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := map[string]int64{}
	for rows.Next() {
		var d string
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, err
		}
		v[d] = n
	}
	return v, rows.Err()
}

// OpsSince returns up to limit of the user's operations beyond have, per
// device in counter order (devices in id order). Sent in this order and
// applied in batches, what a receiver holds of each device is always a
// prefix of what the sender holds, so a vector of highest counters is a
// faithful summary of it.
func (db *DB) OpsSince(ctx context.Context, userID string, have map[string]int64, limit int) ([]app.Op, error) {
	mine, err := db.OpsVector(ctx, userID)
	if err != nil {
		return nil, err
	}
	devices := make([]string, 0, len(mine))
	for d, n := range mine {
		if n > have[d] {
			devices = append(devices, d)
		}
	}
	sort.Strings(devices)
	s, err := db.stmt(db.r, qOpsAfter)
	if err != nil {
		return nil, err
	}
	var out []app.Op
	for _, d := range devices {
		if len(out) >= limit {
			break
		}
		rows, err := s.QueryContext(ctx, userID, d, have[d], limit-len(out))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			op := app.Op{UserID: userID}
			var hlc, deleted int64
			if err := rows.Scan(&op.Device, &op.Counter, &hlc, &op.Entity, &op.ID, &op.Field, &op.Value, &op.Clear, &deleted); err != nil {
				rows.Close()
				return nil, err
			}
			op.HLC = uint64(hlc)
			op.Deleted = deleted == 1
			if deleted == opCompacted {
				// Only the identity travels (compact.go).
				op = app.Op{UserID: userID, Device: op.Device, Counter: op.Counter, HLC: op.HLC, Compacted: true}
			}
			out = append(out, op)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkOp validates a remote operation before it may touch anything.
func (db *DB) checkOp(userID string, dek []byte, op *app.Op) string {
	switch {
	case op.UserID != userID:
		return "operation of another user"
	case op.Device == "" || op.Entity == "" || op.ID == "" || op.Field == "":
		return "incomplete operation"
	case len(op.Device) > maxOpName || len(op.Entity) > maxOpName || len(op.ID) > maxOpName || len(op.Field) > maxOpName:
		return "name too long"
	case op.Counter <= 0 || op.HLC == 0 || op.HLC > 1<<63-1:
		return "bad counter or time"
	case len(op.Value) > maxOpValue || len(op.Clear) > maxOpValue:
		return "value too large"
	case op.Deleted && (op.Value != nil || op.Clear != nil):
		return "tombstone with a value"
	case op.Value != nil && op.Clear != nil && !app.ClearBesideSealed(op.Entity, op.Field):
		// Any other clear part beside a sealed value would be bytes kept
		// in clear that no export shows.
		return "clear part beside a sealed value"
	case op.Device == db.device:
		// This device's own counter space: an operation it did not write
		// would collide with its next local write.
		return "operation claims this device"
	}
	if op.Value != nil {
		if _, err := crypto.Open(dek, op.Value, cellAD(userID, op.Entity, op.ID, op.Field)); err != nil {
			return "sealed value does not open at its place"
		}
	}
	if op.HLC > db.hlcBound() {
		// Beyond wall time plus the skew allowance: it would win its
		// cell against every honest write for as long as it is ahead.
		return "time too far in the future"
	}
	return ""
}

// ApplyOps stores remote operations and merges them into the cells, in one
// transaction. Delivery is idempotent (an operation already held is
// skipped) and order-free (a cell takes the operation with the greatest
// (HLC, device), tombstones included, whatever the order of arrival).
func (db *DB) ApplyOps(ctx context.Context, userID string, dek []byte, ops []app.Op) (app.ApplyResult, error) {
	var res app.ApplyResult
	var maxHLC uint64
	err := db.update(ctx, userID, dek, func(t *tx) error {
		// Prepared once per batch, on the transaction's own connection.
		insertOp, err := t.sql.PrepareContext(t.ctx, `INSERT OR IGNORE INTO ops(device, counter, hlc, user_id, entity, id, field, value, clear, deleted) VALUES (?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer insertOp.Close()
		mergeCell, err := t.sql.PrepareContext(t.ctx, `INSERT INTO cells(user_id, entity, id, field, value, clear, deleted, hlc, device) VALUES (?,?,?,?,?,?,?,?,?)
			ON CONFLICT(user_id, entity, id, field) DO UPDATE SET value = excluded.value, clear = excluded.clear, deleted = excluded.deleted, hlc = excluded.hlc, device = excluded.device
			WHERE excluded.hlc > cells.hlc OR (excluded.hlc = cells.hlc AND excluded.device > cells.device)`)
		if err != nil {
			return err
		}
		defer mergeCell.Close()
		for i := range ops {
			op := &ops[i]
			var own int
			if op.Device == db.device {
				// Our own operation echoed back: a duplicate if we hold it.
				if err := t.sql.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM ops WHERE user_id = ? AND device = ? AND counter = ?`, userID, op.Device, op.Counter).Scan(&own); err != nil {
					return err
				}
				if own == 1 {
					res.Duplicate++
					continue
				}
			}
			if op.Compacted {
				// A superseded operation's bare identity (compact.go).
				if reason := db.checkSkip(userID, op); reason != "" {
					res.Rejected = append(res.Rejected, app.Rejected{Device: op.Device, Counter: op.Counter, Entity: op.Entity, Reason: reason})
				} else if stored, err := storeSkip(t.ctx, insertOp, userID, op); err != nil {
					return err
				} else if stored {
					res.Applied++
					maxHLC = max(maxHLC, op.HLC)
				} else {
					res.Duplicate++
				}
				continue
			}
			if reason := db.checkOp(userID, dek, op); reason != "" {
				res.Rejected = append(res.Rejected, app.Rejected{Device: op.Device, Counter: op.Counter, Entity: op.Entity, Reason: reason})
				continue
			}
			cellClear, stripped := op.Clear, false
			if op.Field == "token_hash" && op.Clear != nil && !op.Deleted {
				// A token hash another account (or thing) owns would shadow it.
				if taken, err := t.tokenHashTaken(op.Entity, op.ID, op.Clear); err != nil {
					return err
				} else if taken && op.Value == nil { // (beside a value: only a share's, checkOp)
					res.Rejected = append(res.Rejected, app.Rejected{Device: op.Device, Counter: op.Counter, Entity: op.Entity, Reason: "token hash owned by another account"})
					continue
				} else if taken {
					// A one-cell share's record sealed beside the hash: the
					// record is kept, its cell without the hash (the share
					// serves nothing here, but its service finds it and a
					// revocation reaches it, as a two-cell share's data
					// cell did). The operation is stored as it came, for
					// the devices this one passes it on to.
					cellClear, stripped = nil, true
				}
			}
			r, err := insertOp.ExecContext(t.ctx, op.Device, op.Counter, int64(op.HLC), userID, op.Entity, op.ID, op.Field, op.Value, op.Clear, op.Deleted)
			if err != nil {
				return fmt.Errorf("store: storing op: %w", err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				res.Duplicate++
				continue
			}
			if stripped {
				res.Stripped = append(res.Stripped, app.Rejected{Device: op.Device, Counter: op.Counter, Entity: op.Entity, Reason: "token hash owned by another account: the share kept without it"})
			}
			if m, err := mergeCell.ExecContext(t.ctx, userID, op.Entity, op.ID, op.Field, op.Value, cellClear, op.Deleted, int64(op.HLC), op.Device); err != nil {
				return fmt.Errorf("store: merging op: %w", err)
			} else if n, _ := m.RowsAffected(); n > 0 {
				t.changed = append(t.changed, app.CellRef{Entity: op.Entity, ID: op.ID, Field: op.Field})
				t.forget(op.Entity, op.ID)
			}
			res.Applied++
			maxHLC = max(maxHLC, op.HLC)
		}
		t.wrote = res.Applied > 0
		return nil
	})
	if err != nil {
		return app.ApplyResult{}, err
	}
	// Local writes from now on are newer than anything seen.
	db.clock.Observe(maxHLC)
	return res, nil
}

// Digest is a hash of the user's live merged state here (tombstones are
// dropped by compaction at different times on each device, so they are
// left out): two devices that converged have equal digests.
func (db *DB) Digest(ctx context.Context, userID string) (string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT entity, id, field, value, clear, deleted, hlc, device FROM cells WHERE user_id = ? AND deleted = 0 ORDER BY entity, id, field`, userID)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var e, id, f, dev string
		var v, c []byte
		var del bool
		var hlc int64
		if err := rows.Scan(&e, &id, &f, &v, &c, &del, &hlc, &dev); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%q %q %q %x %v %x %v %d %q\n", e, id, f, v, v == nil, c, c == nil, hlc, dev)
		if del {
			h.Write([]byte("deleted\n"))
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func metaAD(name string) []byte { return []byte("meta\x00" + name) }

// LocalSecret returns this device's secret of the given name, creating it
// with gen on first use; it is stored in meta sealed under the
// installation key.
func (db *DB) LocalSecret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	key := "secret:" + name
	var sealed []byte
	err := db.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&sealed)
	if err == nil {
		return crypto.Open(db.installKey, sealed, metaAD(key))
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	secret, err := gen()
	if err != nil {
		return nil, err
	}
	if sealed, err = crypto.Seal(db.installKey, secret, metaAD(key)); err != nil {
		return nil, err
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?)`, key, sealed); err != nil {
		return nil, fmt.Errorf("store: saving %s: %w", name, err)
	}
	return secret, nil
}

// PutSyncAccount records (or replaces) a user synced in the background.
func (db *DB) PutSyncAccount(ctx context.Context, userID string, wrapped []byte) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO sync_accounts(user_id, wrapped_dek, created_at) VALUES (?,?,?)
		ON CONFLICT(user_id) DO UPDATE SET wrapped_dek = excluded.wrapped_dek`, userID, wrapped, ms(db.now()))
	return err
}

// SyncAccount returns a synced user's wrapped data key (app.ErrNotFound).
func (db *DB) SyncAccount(ctx context.Context, userID string) ([]byte, error) {
	var w []byte
	err := db.queryRow(ctx, db.r, `SELECT wrapped_dek FROM sync_accounts WHERE user_id = ?`, userID).Scan(&w)
	return w, notFound(err)
}

// DeleteSyncAccount stops syncing a user here.
func (db *DB) DeleteSyncAccount(ctx context.Context, userID string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM sync_accounts WHERE user_id = ?`, userID)
	return err
}

// SyncAccounts lists the users synced in the background.
func (db *DB) SyncAccounts(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT user_id FROM sync_accounts ORDER BY created_at, user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// PutPeer remembers a device's peer id and addresses (keeping its last
// sync time).
func (db *DB) PutPeer(ctx context.Context, p app.PeerRecord) error {
	addrs, err := json.Marshal(p.Addrs)
	if err != nil {
		return err
	}
	if p.Addrs == nil {
		addrs = []byte("[]")
	}
	// Where the user's other devices are (home addresses, a phone's
	// network) is sealed under the installation key.
	sealed, err := crypto.Seal(db.installKey, addrs, peerAddrsAD(p.UserID, p.DeviceID))
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO sync_peers(user_id, device_id, peer_id, addrs) VALUES (?,?,?,?)
		ON CONFLICT(user_id, device_id) DO UPDATE SET peer_id = excluded.peer_id, addrs = excluded.addrs`,
		p.UserID, p.DeviceID, p.PeerID, sealed)
	return err
}

func peerAddrsAD(userID, deviceID string) []byte {
	return []byte("peer-addrs\x00" + userID + "\x00" + deviceID)
}

// SetLastSync records when this device last exchanged operations with a
// device of the user.
func (db *DB) SetLastSync(ctx context.Context, userID, deviceID string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, `UPDATE sync_peers SET last_sync = ? WHERE user_id = ? AND device_id = ?`, ms(at), userID, deviceID)
	return err
}

// Peers lists the user's other devices as remembered here.
func (db *DB) Peers(ctx context.Context, userID string) ([]app.PeerRecord, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT device_id, peer_id, addrs, last_sync FROM sync_peers WHERE user_id = ? ORDER BY device_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.PeerRecord
	for rows.Next() {
		p := app.PeerRecord{UserID: userID}
		var addrs []byte
		var last sql.NullInt64
		if err := rows.Scan(&p.DeviceID, &p.PeerID, &addrs, &last); err != nil {
			return nil, err
		}
		if plain, err := crypto.Open(db.installKey, addrs, peerAddrsAD(userID, p.DeviceID)); err == nil {
			addrs = plain
		} // else: a row from before addresses were sealed (JSON text)
		if err := json.Unmarshal(addrs, &p.Addrs); err != nil {
			return nil, fmt.Errorf("store: peer addresses: %w", err)
		}
		if last.Valid {
			p.LastSync = fromMS(last.Int64)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePeer forgets a device of the user.
func (db *DB) DeletePeer(ctx context.Context, userID, deviceID string) error {
	_, err := db.w.ExecContext(ctx, `DELETE FROM sync_peers WHERE user_id = ? AND device_id = ?`, userID, deviceID)
	return err
}

// ForgetUser removes the user's synced data and sync records from this
// device, and what the device derived from them (capabilities and their
// views, the signing key, the emergency key's wrap), without operations
// (nothing of it is meant to replicate).
func (db *DB) ForgetUser(ctx context.Context, userID string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM cells WHERE user_id = ?`,
		`DELETE FROM ops WHERE user_id = ?`,
		`DELETE FROM sync_accounts WHERE user_id = ?`,
		`DELETE FROM sync_peers WHERE user_id = ?`,
		`DELETE FROM sync_vectors WHERE user_id = ?`,
		`DELETE FROM sync_lists WHERE user_id = ?`,
		`DELETE FROM sync_removed WHERE user_id = ?`,
		// What this device derived from them: the capabilities' views
		// (a token of the user would still open them), the signing key
		// /verify signs with, the emergency key's wrap.
		qForgetCapabilities,
		`DELETE FROM capability_builds WHERE user_id = ?`,
		`DELETE FROM signing_keys WHERE user_id = ?`,
		`DELETE FROM emergency_keys WHERE user_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			tx.Rollback()
			return err
		}
	}
	// The operations gone may have held this device's highest counter,
	// which Open reads from the log: it is kept, so that the device never
	// numbers an operation again with a counter its peers already hold
	// (the forgotten user's, should they join again, would be skipped as
	// held). This transaction has the writer: no counter is being taken.
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('`+counterFloorKey+`', ?)
		ON CONFLICT(key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`, db.counter.Load()); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.hooks.Fire(userID) // what is kept in memory of them is stale now
	return nil
}

// LocalValue returns this device's value of the given name (sealed under
// the installation key in meta); ErrNotFound when it was never put.
func (db *DB) LocalValue(ctx context.Context, name string) ([]byte, error) {
	key := "value:" + name
	var sealed []byte
	if err := db.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&sealed); err != nil {
		return nil, notFound(err)
	}
	return crypto.Open(db.installKey, sealed, metaAD(key))
}

// PutLocalValue keeps a device-local value, sealed under the installation
// key (never synced).
func (db *DB) PutLocalValue(ctx context.Context, name string, value []byte) error {
	key := "value:" + name
	sealed, err := crypto.Seal(db.installKey, value, metaAD(key))
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, sealed)
	return err
}

// qForgetCapabilities drops every capability record of a forgotten user.
const qForgetCapabilities = `DELETE FROM capabilities WHERE user_id = ?`
