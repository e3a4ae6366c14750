package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Compaction of the operation log (docs/sync.md "Compaction").
//
// An operation is superseded once its cell holds a greater one by the
// last-writer-wins order (HLC, device): a newer write or a tombstone. Its
// sealed and clear values are then of no use to anyone (every device that
// receives the newer operation takes it, whatever the order), so this
// device drops them and keeps only the operation's identity (device,
// counter), marked compacted (ops.deleted = opCompacted): the vector still
// counts it, and anti-entropy sends it as a bare identity (app.Op.Compacted)
// so the receiver's log stays a prefix per device.
//
// A tombstone that is the cell's winner is kept until every device of the
// device list reported (its vector, sync_vectors) holding it, and this
// device holds everything those devices held when they reported: then no
// operation older than the tombstone can still arrive that is not already
// here (each device's later operations are newer than every time it has
// observed). The cell row is then dropped and the tombstone compacted.
//
// The connection runs with secure_delete on (Open), so dropped values are
// overwritten in the database file; a TRUNCATE checkpoint after a
// compaction that changed anything empties the WAL, old frames included.

// opCompacted marks a compacted operation in ops.deleted (0: a write,
// 1: a tombstone).
const opCompacted = 2

// MaxClockSkew bounds how far ahead of this device's wall clock a remote
// operation's HLC may be: an operation from further in the future is
// rejected, so that one device cannot win every cell for ever.
const MaxClockSkew = 5 * time.Minute

// hlcBound is the greatest HLC a remote operation may carry now.
func (db *DB) hlcBound() uint64 {
	return uint64(db.now().Add(MaxClockSkew).UnixMilli())<<hlcLogicalBits | (1<<hlcLogicalBits - 1)
}

// checkSkip validates a compacted operation (an identity without content)
// from another device.
func (db *DB) checkSkip(userID string, op *app.Op) string {
	switch {
	case op.UserID != userID:
		return "operation of another user"
	case op.Device == "" || len(op.Device) > maxOpName:
		return "incomplete operation"
	case op.Counter <= 0 || op.HLC > 1<<63-1:
		return "bad counter or time"
	case op.Value != nil || op.Clear != nil || op.Deleted || op.Entity != "" || op.ID != "" || op.Field != "":
		return "compacted operation with content"
	case op.Device == db.device:
		return "operation claims this device"
	case op.HLC > db.hlcBound():
		return "time too far in the future"
	}
	return ""
}

// storeSkip stores a compacted operation's identity (ApplyOps); it reports
// whether it was new.
func storeSkip(ctx context.Context, insertOp *sql.Stmt, userID string, op *app.Op) (bool, error) {
	r, err := insertOp.ExecContext(ctx, op.Device, op.Counter, int64(op.HLC), userID, "", "", "", nil, nil, opCompacted)
	if err != nil {
		return false, fmt.Errorf("store: storing op: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// qSupersede drops the values of the superseded operations of a user among
// one device's counters (?3, ?4]: its cell holds a greater (HLC, device),
// or the cell is gone (a dropped tombstone).
const qSupersede = `UPDATE ops SET value = NULL, clear = NULL, deleted = 2
	WHERE user_id = ?1 AND device = ?2 AND counter > ?3 AND counter <= ?4 AND deleted != 2 AND NOT EXISTS (
		SELECT 1 FROM cells c WHERE c.user_id = ?1 AND c.entity = ops.entity AND c.id = ops.id AND c.field = ops.field
			AND c.hlc = ops.hlc AND c.device = ops.device)`

// compactChunk is how many of a device's operations one transaction of
// compaction looks at: it holds the writer that long (a few ms), not for
// the whole log, which every live operation is looked at again in (in one
// transaction, 135-245 ms with the writes of a share-create storm waiting,
// for some 40,000).
var compactChunk = 512

// compactChunkDone, when set (by a test), is called with the count
// dropped so far after each chunk commits.
var compactChunkDone func(dropped int)

// qChunkEnd is the counter that ends a chunk of a user's operations of
// one device after counter ?3 (none: fewer than compactChunk are left).
const qChunkEnd = `SELECT counter FROM ops WHERE user_id = ?1 AND device = ?2 AND counter > ?3
	ORDER BY counter LIMIT 1 OFFSET ?4`

// Compact compacts the user's operation log here. listed are the device
// ids of the user's device list (this device's own id may be among them):
// tombstones are dropped only when each of the others has reported holding
// them; with listed nil, no tombstone is dropped. A compaction that changed
// anything ends with a TRUNCATE checkpoint, so that no old value stays in
// the WAL, even when it stopped part way (its chunks are committed one by
// one).
func (db *DB) Compact(ctx context.Context, userID string, listed []string) (res app.CompactResult, err error) {
	defer func() {
		if res.Superseded > 0 || res.Tombstones > 0 {
			err = errors.Join(err, db.closingCheckpoint(ctx))
		}
	}()
	if res.Superseded, err = db.supersede(ctx, userID); err != nil || listed == nil {
		return res, err
	}
	s, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("store: begin: %w", err)
	}
	defer s.Rollback()
	n, err := db.dropTombstones(ctx, s, userID, listed)
	if err != nil {
		return res, err
	}
	if err := s.Commit(); err != nil {
		return res, fmt.Errorf("store: commit: %w", err)
	}
	res.Tombstones = n
	return res, nil
}

// supersede drops the values of the user's superseded operations, device
// by device, compactChunk operations a transaction (writes run between
// them), and reports how many it dropped. The chunks follow the rows, not
// counter arithmetic: a device's counters are shared by all its users, so
// one user's may be far apart. Operations written meanwhile are left to
// the next compaction.
func (db *DB) supersede(ctx context.Context, userID string) (int, error) {
	vector, err := db.OpsVector(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("store: compacting: %w", err)
	}
	devices := slices.Sorted(maps.Keys(vector))
	n := 0
	for _, device := range devices {
		for after := int64(0); ; {
			end := int64(math.MaxInt64) // the rest
			err := db.r.QueryRowContext(ctx, qChunkEnd, userID, device, after, compactChunk-1).Scan(&end)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return n, fmt.Errorf("store: compacting: %w", err)
			}
			r, err := db.w.ExecContext(ctx, qSupersede, userID, device, after, end)
			if err != nil {
				return n, fmt.Errorf("store: compacting: %w", err)
			}
			k, _ := r.RowsAffected()
			n += int(k)
			if compactChunkDone != nil {
				compactChunkDone(n)
			}
			if end == math.MaxInt64 {
				break
			}
			after = end
		}
	}
	return n, nil
}

// Checkpoint copies the whole WAL into the database file and truncates it
// (waiting for readers to finish, up to the busy timeout). Another
// checkpoint at work (the checkpointer's PASSIVE, beside it) makes SQLite
// answer busy at once, whatever the timeout: it tries again, every
// checkpointRetry for up to checkpointTries times.
func (db *DB) Checkpoint(ctx context.Context) error {
	for try := 1; ; try++ {
		var busy, logFrames, done int
		if err := db.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if try == checkpointTries {
			return errors.New("store: checkpoint: the WAL is still in use")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: checkpoint: %w", ctx.Err())
		case <-time.After(checkpointRetry):
		}
	}
}

const (
	checkpointTries = 20
	checkpointRetry = 50 * time.Millisecond
)

// closingCheckpoint is a compaction's closing TRUNCATE: it runs even when
// the compaction was cancelled part way (what it dropped must leave the
// WAL too), bounded by truncateWait then.
func (db *DB) closingCheckpoint(ctx context.Context) error {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), truncateWait)
		defer cancel()
	}
	return db.Checkpoint(ctx)
}

// dropTombstones drops the tombstones every listed device has acknowledged.
func (db *DB) dropTombstones(ctx context.Context, s *sql.Tx, userID string, listed []string) (int, error) {
	mine, err := vectorIn(ctx, s, userID)
	if err != nil {
		return 0, err
	}
	// The vectors the other listed devices reported; each must be covered
	// by what this device holds (everything they held is here).
	var theirs []map[string]int64
	for _, d := range listed {
		if d == db.device {
			continue
		}
		var raw string
		err := s.QueryRowContext(ctx, `SELECT vector FROM sync_vectors WHERE user_id = ? AND device_id = ?`, userID, d).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // a device never heard from: nothing is acknowledged
		}
		if err != nil {
			return 0, err
		}
		v := map[string]int64{}
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return 0, fmt.Errorf("store: a device's vector: %w", err)
		}
		for dev, n := range v {
			if mine[dev] < n {
				return 0, nil // it holds operations this device has not seen yet
			}
		}
		theirs = append(theirs, v)
	}
	rows, err := s.QueryContext(ctx, `SELECT c.entity, c.id, c.field, o.device, o.counter FROM cells c
		JOIN ops o ON o.device = c.device AND o.hlc = c.hlc AND o.user_id = c.user_id
			AND o.entity = c.entity AND o.id = c.id AND o.field = c.field
		WHERE c.user_id = ? AND c.deleted = 1`, userID)
	if err != nil {
		return 0, err
	}
	type tomb struct {
		entity, id, field, device string
		counter                   int64
	}
	var drop []tomb
	for rows.Next() {
		var t tomb
		if err := rows.Scan(&t.entity, &t.id, &t.field, &t.device, &t.counter); err != nil {
			rows.Close()
			return 0, err
		}
		acked := true
		for _, v := range theirs {
			if v[t.device] < t.counter {
				acked = false
				break
			}
		}
		if acked {
			drop = append(drop, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, t := range drop {
		if _, err := s.ExecContext(ctx, `DELETE FROM cells WHERE user_id = ? AND entity = ? AND id = ? AND field = ?`, userID, t.entity, t.id, t.field); err != nil {
			return 0, err
		}
		if _, err := s.ExecContext(ctx, `UPDATE ops SET value = NULL, clear = NULL, deleted = 2 WHERE user_id = ? AND device = ? AND counter = ?`, userID, t.device, t.counter); err != nil {
			return 0, err
		}
	}
	return len(drop), nil
}

// vectorIn is OpsVector inside a transaction.
func vectorIn(ctx context.Context, s *sql.Tx, userID string) (map[string]int64, error) {
	return scanVector(s.QueryContext(ctx, qOpsVector, userID))
}

// PutPeerVector records the vector another device of the user reported
// (what it holds): the acknowledgement compaction waits for.
func (db *DB) PutPeerVector(ctx context.Context, userID, deviceID string, vector map[string]int64) error {
	if vector == nil {
		vector = map[string]int64{}
	}
	b, err := json.Marshal(vector)
	if err != nil {
		return err
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO sync_vectors(user_id, device_id, vector, at) VALUES (?,?,?,?)
		ON CONFLICT(user_id, device_id) DO UPDATE SET vector = excluded.vector, at = excluded.at`,
		userID, deviceID, string(b), ms(db.now()))
	return err
}

// compactAll drops superseded values of every user's log (the background
// pass; tombstones wait for sync, which knows the device list), then
// truncates the WAL once if it dropped any.
func (db *DB) compactAll(ctx context.Context) {
	rows, err := db.r.QueryContext(ctx, `SELECT DISTINCT user_id FROM cells`)
	if err != nil {
		return
	}
	var users []string
	for rows.Next() {
		var u string
		if rows.Scan(&u) == nil {
			users = append(users, u)
		}
	}
	rows.Close()
	dropped := 0
	for _, u := range users {
		n, _ := db.supersede(ctx, u)
		dropped += n
	}
	if dropped > 0 {
		db.closingCheckpoint(ctx)
	}
}

// Device-list replay guard (sync_lists, sync_removed): device-local memory
// that the synced cells, which any member device can write, cannot undo.

// SeenDeviceList returns the newest signed device list this device has
// seen for the user (nil, 0 when none).
func (db *DB) SeenDeviceList(ctx context.Context, userID string) ([]byte, uint64, error) {
	var signed []byte
	var v int64
	err := db.queryRow(ctx, db.r, `SELECT signed, version FROM sync_lists WHERE user_id = ?`, userID).Scan(&signed, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	return signed, uint64(v), err
}

// SawDeviceList records a verified list as seen, if it is newer than the
// one recorded, and the devices it drops from it as removed. It returns
// the version now recorded.
func (db *DB) SawDeviceList(ctx context.Context, l *app.DeviceList, signed []byte) (uint64, error) {
	s, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer s.Rollback()
	var prev []byte
	var pv int64
	err = s.QueryRowContext(ctx, `SELECT signed, version FROM sync_lists WHERE user_id = ?`, l.UserID).Scan(&prev, &pv)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, err
	case uint64(pv) >= l.Version:
		return uint64(pv), nil
	}
	removed := append([]app.ListedDevice(nil), l.Removed...)
	if prev != nil {
		// The devices of the older list that the newer one lacks were
		// removed (the older list was verified when it was recorded).
		var outer struct {
			List []byte `json:"list"`
		}
		var old app.DeviceList
		if json.Unmarshal(prev, &outer) == nil && json.Unmarshal(outer.List, &old) == nil {
			for _, d := range old.Devices {
				if !l.Has(d.DeviceID, d.PeerID) {
					removed = append(removed, d)
				}
			}
		}
	}
	for _, d := range removed {
		if _, err := s.ExecContext(ctx, `INSERT OR IGNORE INTO sync_removed(user_id, device_id, peer_id, version) VALUES (?,?,?,?)`,
			l.UserID, d.DeviceID, d.PeerID, int64(l.Version)); err != nil {
			return 0, err
		}
	}
	if _, err := s.ExecContext(ctx, `INSERT INTO sync_lists(user_id, version, signed) VALUES (?,?,?)
		ON CONFLICT(user_id) DO UPDATE SET version = excluded.version, signed = excluded.signed`,
		l.UserID, int64(l.Version), signed); err != nil {
		return 0, err
	}
	return l.Version, s.Commit()
}

// RemovedDevices returns the user's devices this device has seen removed.
func (db *DB) RemovedDevices(ctx context.Context, userID string) ([]app.ListedDevice, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT device_id, peer_id FROM sync_removed WHERE user_id = ?`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.ListedDevice
	for rows.Next() {
		var d app.ListedDevice
		if err := rows.Scan(&d.DeviceID, &d.PeerID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
