package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestCapabilitiesKeptByID: migration 0016 rebuilds the capability table
// in the order of what records name; every record a device had (a locked
// link's failures, a dead share's reserved hash) is found as before, and a
// token hash still has one owner.
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
	}
	for _, r := range rows {
		if _, err := old.Exec(`INSERT INTO capabilities(token_hash, user_id, kind, id, dep, state, expires_at, kdf, failures, view) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			[]byte(r.hash), r.user, r.kind, r.id, "dep", r.state, 0, "", r.failures, r.view); err != nil {
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
	// too) is refused; the owner's is replaced.
	err = db.update(ctx, "u3", nil, func(tx *tx) error {
		return tx.PutCapability(&app.Capability{TokenHash: []byte("h-dead"), Kind: app.CapShare, ID: "s3", State: app.CapActive, View: []byte("v")})
	})
	if !errors.Is(err, app.ErrTaken) {
		t.Fatalf("another user's capability under a taken hash: %v, want ErrTaken", err)
	}
	err = db.update(ctx, "u1", nil, func(tx *tx) error {
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
}

// TestCapabilityQueriesUseTheirIndexes: every statement on capabilities
// finds its rows through an index that narrows them to what it asks; none
// walks all of a user's records (the dep query did after migration 0016,
// and update-info re-read every share at each change).
func TestCapabilityQueriesUseTheirIndexes(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]string{
		capabilitiesOfDeps(2):    "USING INDEX capabilities_dep (user_id=? AND kind=? AND dep=?)",
		qDropOlderCapability:     "USING PRIMARY KEY (user_id=? AND kind=? AND id=?)",
		qTokenHashInCapabilities: "(token_hash=?)",
		qCapabilityByHash:        "(token_hash=?)",
		qCapabilitiesOfKind:      "USING PRIMARY KEY (user_id=? AND kind=?)",
		qCapabilityByID:          "USING INDEX capabilities_kind_id (kind=? AND id=?)",
	} {
		rows, err := db.w.Query(`EXPLAIN QUERY PLAN `+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) != 1 || !strings.Contains(plan[0], want) {
			t.Errorf("%s\nplan %q, want one step %q", q, plan, want)
		}
	}
}
