package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestOpsKeptByUser: migration 0020 keys the operation log by user; every
// operation is kept, each user's vector and operations are what they were,
// this device numbers its next operation after its last one of any user,
// and the log's queries find their rows through the key, none walking it.
func TestOpsKeptByUser(t *testing.T) {
	dir := t.TempDir()
	old, applied := oldSchema(t, dir, "0020")
	if applied != 19 {
		t.Fatalf("old schema at %d, want 19", applied)
	}
	if _, err := old.Exec(`INSERT INTO meta(key, value) VALUES ('device_id', 'me')`); err != nil {
		t.Fatal(err)
	}
	// This device's counter numbers both users' operations; the other
	// device's are u1's alone; one of them compacted (deleted = 2).
	for _, o := range []struct {
		user, device string
		counter      int
		deleted      int
	}{
		{"u1", "me", 1, 0}, {"u2", "me", 2, 0}, {"u1", "me", 3, 0}, {"u2", "me", 7, 0},
		{"u1", "other", 1, 0}, {"u1", "other", 2, 2},
	} {
		if _, err := old.Exec(`INSERT INTO ops(device, counter, hlc, user_id, entity, id, field, value, deleted) VALUES (?,?,?,?,'field','f','value',?,?)`,
			o.device, o.counter, 100+o.counter, o.user, []byte("sealed"), o.deleted); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for user, want := range map[string]map[string]int64{"u1": {"me": 3, "other": 2}, "u2": {"me": 7}} {
		if v, err := db.OpsVector(ctx, user); err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("%s's vector after migration: %v %v, want %v", user, v, err, want)
		}
	}
	ops, err := db.OpsSince(ctx, "u1", nil, 100)
	if err != nil || len(ops) != 4 {
		t.Fatalf("u1's operations after migration: %d %v, want 4", len(ops), err)
	}
	if got := db.counter.Load(); got != 7 {
		t.Errorf("this device's counter after migration: %d, want 7 (its last, of u2)", got)
	}
	var index int
	if err := db.w.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ops' AND name NOT LIKE 'sqlite_autoindex%'`).Scan(&index); err != nil || index != 0 {
		t.Errorf("indexes of the log beside its key: %d %v, want none", index, err)
	}
	for _, q := range []string{
		qSupersede, qChunkEnd, qOpsVector,
		`SELECT COUNT(*) FROM ops WHERE user_id = ? AND device = ? AND counter = ?`,
		`SELECT device, counter, hlc, entity, id, field, value, clear, deleted FROM ops
		WHERE user_id = ? AND device = ? AND counter > ? ORDER BY counter LIMIT ?`,
	} {
		byKey := false
		for _, step := range queryPlan(t, db, q) {
			if strings.HasPrefix(step, "SCAN ops") || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s\nwalks the log: %s", q, step)
			}
			byKey = byKey || strings.Contains(step, "ops USING PRIMARY KEY (user_id=?")
		}
		if !byKey {
			t.Errorf("%s\ndoes not find its rows by the log's key", q)
		}
	}
}
