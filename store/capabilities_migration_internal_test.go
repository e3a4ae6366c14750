package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// TestCapabilitiesKeptByID: migration 0016 rebuilds the capability table
// in the order of what records name, and 0017 once more without its own
// index of token hashes; every record a device had (a locked link's
// failures, a dead share's reserved hash) is found as before, through its
// token_hash cell, and a token hash still has one owner.
func TestCapabilitiesKeptByID(t *testing.T) {
	dir := t.TempDir()
	old, applied := oldSchema(t, dir, "0016")
	if applied != 15 {
		t.Fatalf("old schema at %d, want 15", applied)
	}
	rows := []struct {
		hash           string
		user, kind, id string
		state          string
		failures       int
		view           []byte
	}{
		{"h-share", "u1", app.CapShare, "s1", app.CapActive, 0, []byte("sealed view")},
		{"h-link", "u1", app.CapLink, "l1", app.CapLocked, 5, nil},
		{"h-dead", "u2", app.CapShare, "s2", app.CapRevoked, 0, nil},
		{"h-soon", "u2", app.CapLink, "l2", app.CapActive, 0, []byte("sealed link view")},
	}
	soon := time.Now().Add(time.Hour)
	expiresAt := map[string]int64{"h-soon": ms(soon)}
	for _, r := range rows {
		if _, err := old.Exec(`INSERT INTO capabilities(token_hash, user_id, kind, id, dep, state, expires_at, kdf, failures, view) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			[]byte(r.hash), r.user, r.kind, r.id, "dep", r.state, expiresAt[r.hash], "", r.failures, r.view); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(`INSERT INTO cells(user_id, entity, id, field, clear, hlc, device) VALUES (?,?,?,'token_hash',?,1,'d')`,
			r.user, app.CapabilityEntity(r.kind), r.id, []byte(r.hash)); err != nil {
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
	for _, r := range rows {
		c, err := db.CapabilityByHash(ctx, []byte(r.hash))
		if err != nil {
			t.Fatalf("%s after migration: %v", r.hash, err)
		}
		if c.UserID != r.user || c.Kind != r.kind || c.ID != r.id || c.State != r.state || c.Failures != r.failures || !bytes.Equal(c.View, r.view) {
			t.Errorf("%s after migration: %+v", r.hash, c)
		}
	}
	// Another user's record under a hash that is taken (a dead share's
	// too) is refused; the owner's is replaced, once its cell holds the
	// new token's hash.
	err = db.update(ctx, "u3", nil, func(tx *tx) error {
		return tx.PutCapability(&app.Capability{TokenHash: []byte("h-dead"), Kind: app.CapShare, ID: "s3", State: app.CapActive, View: []byte("v")})
	})
	if !errors.Is(err, app.ErrTaken) {
		t.Fatalf("another user's capability under a taken hash: %v, want ErrTaken", err)
	}
	err = db.update(ctx, "u1", nil, func(tx *tx) error {
		if err := tx.Put(app.Cell{Entity: app.EntityShare, ID: "s1", Field: "token_hash", Clear: []byte("h-share-2")}); err != nil {
			return err
		}
		return tx.PutCapability(&app.Capability{TokenHash: []byte("h-share-2"), Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("new view")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CapabilityByHash(ctx, []byte("h-share")); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("the record's older token still finds it: %v", err)
	}
	if c, err := db.CapabilityByHash(ctx, []byte("h-share-2")); err != nil || string(c.View) != "new view" {
		t.Errorf("the record under its new token: %+v %v", c, err)
	}
	// The refused write left the dead share's record as it was.
	if c, err := db.CapabilityByHash(ctx, []byte("h-dead")); err != nil || c.UserID != "u2" || c.ID != "s2" || c.State != app.CapRevoked || c.View != nil {
		t.Errorf("the dead share after a refused write: %+v %v", c, err)
	}
	// A link locked here stays locked when its cells are derived again.
	err = db.update(ctx, "u1", nil, func(tx *tx) error {
		return tx.PutCapability(&app.Capability{TokenHash: []byte("h-link"), Kind: app.CapLink, ID: "l1", State: app.CapActive, View: []byte("v")})
	})
	if c, _ := db.CapabilityByHash(ctx, []byte("h-link")); err != nil || c == nil || c.State != app.CapLocked || c.View != nil || c.Failures != 5 {
		t.Errorf("the locked link derived again: %+v %v", c, err)
	}
	// The migrated expiry index still finds what is due.
	if n, err := db.ExpireCapabilities(ctx, soon.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("expired %d, %v; want the one due", n, err)
	}
	if c, err := db.CapabilityByHash(ctx, []byte("h-soon")); err != nil || c.State != app.CapExpired || c.View != nil {
		t.Errorf("the due link after expiry: %+v %v", c, err)
	}
}

// TestCapabilityQueriesUseTheirIndexes: every statement on capabilities
// finds its rows through an index that narrows them to what it asks; none
// walks all of a user's records (the dep query did after migration 0016,
// and update-info re-read every share at each change; dropping one
// share's record walked them all before that). Those write transactions
// run are prepared.
func TestCapabilityQueriesUseTheirIndexes(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		q        string
		plan     []string // each step, in order
		prepared bool
	}{
		{capabilitiesOfDeps(1), []string{"USING INDEX capabilities_dep (user_id=? AND kind=? AND dep=?)"}, true},
		{capabilitiesOfDeps(3), []string{"USING INDEX capabilities_dep (user_id=? AND kind=? AND dep=?)"}, false},
		{qCapabilitiesOfKind, []string{"USING PRIMARY KEY (user_id=? AND kind=?)"}, true},
		{qPutCapability, nil, true},
		{qCapabilitiesOwnedBy, []string{"INDEX capabilities_owner (user_id=? AND kind=? AND owner=?)"}, true},
		{qDropCapability, []string{"USING PRIMARY KEY (user_id=? AND kind=? AND id=?)"}, true},
		{qDropCapabilitiesOfKind, []string{"(user_id=? AND kind=?)"}, true},
		{qTokenHashOwner, []string{"INDEX cells_token_hash (clear=?)"}, true},
		{qTokenHashInCells, []string{"INDEX cells_token_hash (clear=?)"}, true},
		{qCapabilityByHash, []string{"SEARCH c USING COVERING INDEX cells_token_hash (clear=?)", "SEARCH k USING PRIMARY KEY (user_id=? AND kind=? AND id=?)"}, false},
		{qCapabilityFailure, []string{"SEARCH capabilities USING PRIMARY KEY (user_id=? AND kind=? AND id=?)", "SCALAR SUBQUERY", "SEARCH c USING COVERING INDEX cells_token_hash (clear=?)"}, false},
		// A skip scan of the user ids (seeks of an index led by user_id),
		// then one probe of the key for each.
		{qCapabilitiesByID, []string{"CO-ROUTINE u", "SETUP", "SEARCH capabilities USING COVERING INDEX", "RECURSIVE STEP", "SCAN u", "CORRELATED SCALAR SUBQUERY", "SEARCH capabilities USING COVERING INDEX capabilities_dep (user_id>?)", "SCAN u", "SEARCH k USING PRIMARY KEY (user_id=? AND kind=? AND id=?)"}, false},
		{qExpireCapabilities, []string{"USING INDEX capabilities_expiry (expires_at>? AND expires_at<?)"}, false},
		{qForgetCapabilities, []string{"(user_id=?)"}, false},
	} {
		plan := queryPlan(t, db, c.q)
		ok := len(plan) == len(c.plan)
		for i := range plan {
			ok = ok && strings.Contains(plan[i], c.plan[i]) && (!strings.HasPrefix(plan[i], "SCAN") || plan[i] == "SCAN u") // u: a skip scan's own rows
		}
		if c.plan != nil && !ok {
			t.Errorf("%s\nplan %q, want %q", c.q, plan, c.plan)
		}
		if c.prepared && db.cachedStmt(db.w, c.q) == nil {
			t.Errorf("%s\nis not prepared on the writer", c.q)
		}
	}
}

// TestShareStatusSeesEveryRecord: the records of a share id are found
// under every user id the table holds, an account's or not (a join's
// first sync derives the joining user's before its account is made), so
// a revoked one is never hidden behind another account's live one.
func TestShareStatusSeesEveryRecord(t *testing.T) {
	db, acct, _ := openWithAccount(t)
	for _, r := range []struct{ user, state string }{{"joining-user", app.CapRevoked}, {acct.UserID, app.CapActive}} {
		if _, err := db.w.Exec(`INSERT INTO capabilities(token_hash, user_id, kind, id, state) VALUES (?,?,?,?,?)`,
			[]byte("h-"+r.user), r.user, app.CapShare, "s1", r.state); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := db.CapabilitiesByID(context.Background(), app.CapShare, "s1")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, c := range cs {
		states[c.UserID] = c.State
	}
	if len(cs) != 2 || states["joining-user"] != app.CapRevoked || states[acct.UserID] != app.CapActive {
		t.Errorf("records of s1: %v, want the revoked one without an account and the account's active one", states)
	}
}

// queryPlan is the steps of SQLite's plan for q (EXPLAIN QUERY PLAN, its
// parameters all NULL), in order.
func queryPlan(t *testing.T, db *DB, q string) []string {
	t.Helper()
	return planWith(t, db, q, nil)
}

// planWith is queryPlan with every parameter bound to v (nil: NULL).
func planWith(t *testing.T, db *DB, q string, v any) []string {
	t.Helper()
	args := make([]any, strings.Count(q, "?"))
	for i := range args {
		args[i] = v
	}
	rows, err := db.w.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestKindOfCellNamesEveryKind: the SQL that maps a token_hash cell's
// entity to its record's kind says what app.CapabilityEntity says, for
// every kind.
func TestKindOfCellNamesEveryKind(t *testing.T) {
	for _, k := range app.CapabilityKinds {
		if w := "WHEN '" + app.CapabilityEntity(k) + "' THEN '" + k + "'"; !strings.Contains(kindOfCell, w) {
			t.Errorf("kindOfCell has no %q", w)
		}
	}
	if n := strings.Count(kindOfCell, "WHEN"); n != len(app.CapabilityKinds) {
		t.Errorf("kindOfCell maps %d entities, want %d", n, len(app.CapabilityKinds))
	}
}
