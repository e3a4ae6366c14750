package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestPutCapabilityKeepsOneOwnerAndOneToken: a capability record's token
// hash is its entity's live token_hash cell. A record under a hash that
// another account's cell (or another thing's) holds, or that no cell
// holds, is refused and changes nothing; the same thing under a new token
// replaces its record under the old one.
func TestPutCapabilityKeepsOneOwnerAndOneToken(t *testing.T) {
	db := openDB(t, t.TempDir())
	ctx := context.Background()
	a, adek := newAccount(t, db, nil)
	b, bdek := newAccount(t, db, nil)
	h1, h2, h3 := []byte("hash-one-0123456789abcdef0123456"), []byte("hash-two-0123456789abcdef0123456"), []byte("hash-b-s-0123456789abcdef0123456")
	// put writes the record, after its token_hash cell when cell is set.
	put := func(user string, dek []byte, c app.Capability, cell bool) error {
		return db.Update(ctx, user, dek, func(tx app.Tx) error {
			if cell {
				if err := tx.Put(app.Cell{Entity: app.CapabilityEntity(c.Kind), ID: c.ID, Field: "token_hash", Clear: c.TokenHash}); err != nil {
					return err
				}
			}
			return tx.PutCapability(&c)
		})
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h1, Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("a's view")}, true); err != nil {
		t.Fatal(err)
	}
	for _, cell := range []bool{true, false} {
		if err := put(b.UserID, bdek, app.Capability{TokenHash: h1, Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("b's view")}, cell); !errors.Is(err, app.ErrTaken) {
			t.Fatalf("another account under a taken token hash (its own cell written: %v): %v", cell, err)
		}
		if err := put(a.UserID, adek, app.Capability{TokenHash: h1, Kind: app.CapPublic, ID: "p", State: app.CapActive}, cell); !errors.Is(err, app.ErrTaken) {
			t.Fatalf("another thing under a taken token hash (its own cell written: %v): %v", cell, err)
		}
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h2, Kind: app.CapShare, ID: "s9", State: app.CapActive}, false); !errors.Is(err, app.ErrTaken) {
		t.Fatalf("a record under a hash no cell holds: %v", err)
	}
	// A new token for a's share that turns out to be b's: refused, and
	// a's record under its old token stays.
	if err := put(b.UserID, bdek, app.Capability{TokenHash: h3, Kind: app.CapPublic, ID: "bp", State: app.CapActive}, true); err != nil {
		t.Fatal(err)
	}
	for _, cell := range []bool{true, false} {
		if err := put(a.UserID, adek, app.Capability{TokenHash: h3, Kind: app.CapShare, ID: "s1", State: app.CapActive}, cell); !errors.Is(err, app.ErrTaken) {
			t.Fatalf("a's share under b's token hash (its own cell written: %v): %v", cell, err)
		}
	}
	if c, err := db.CapabilityByHash(ctx, h1); err != nil || c.UserID != a.UserID || string(c.View) != "a's view" {
		t.Fatalf("after the refusals: %+v %v", c, err)
	}
	if c, err := db.CapabilityByHash(ctx, h3); err != nil || c.UserID != b.UserID || c.ID != "bp" {
		t.Fatalf("b's record after the refusals: %+v %v", c, err)
	}
	if _, err := db.CapabilityByHash(ctx, h2); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("a hash no record was written under: %v", err)
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h2, Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("new token")}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CapabilityByHash(ctx, h1); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("the old token's record: %v", err)
	}
	if c, err := db.CapabilityByHash(ctx, h2); err != nil || string(c.View) != "new token" {
		t.Fatalf("the new token's record: %+v %v", c, err)
	}
}

// TestLockedLinkUnderANewToken: wrong passcodes lock a link's record; the
// same token derived again stays locked, with its failures, and a new
// token starts afresh. A stale token counts no failure.
func TestLockedLinkUnderANewToken(t *testing.T) {
	db := openDB(t, t.TempDir())
	ctx := context.Background()
	a, adek := newAccount(t, db, nil)
	old, fresh := []byte("link-old-0123456789abcdef0123456"), []byte("link-new-0123456789abcdef0123456")
	put := func(hash []byte) {
		t.Helper()
		if err := db.Update(ctx, a.UserID, adek, func(tx app.Tx) error {
			if err := tx.Put(app.Cell{Entity: app.EntityHealthLink, ID: "l1", Field: "token_hash", Clear: hash}); err != nil {
				return err
			}
			return tx.PutCapability(&app.Capability{TokenHash: hash, Kind: app.CapLink, ID: "l1", State: app.CapActive, View: []byte("view")})
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(old)
	for i := 1; i <= 3; i++ {
		n, locked, err := db.CapabilityFailure(ctx, old, 3)
		if err != nil || n != i || locked != (i == 3) {
			t.Fatalf("failure %d: %d %v %v", i, n, locked, err)
		}
	}
	put(old)
	if c, err := db.CapabilityByHash(ctx, old); err != nil || c.State != app.CapLocked || c.View != nil || c.Failures != 3 {
		t.Fatalf("the locked link derived again: %+v %v", c, err)
	}
	put(fresh)
	if c, err := db.CapabilityByHash(ctx, fresh); err != nil || c.State != app.CapActive || string(c.View) != "view" || c.Failures != 0 {
		t.Fatalf("the link under a new token: %+v %v", c, err)
	}
	if _, _, err := db.CapabilityFailure(ctx, old, 3); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("a failure under the old token: %v", err)
	}
}
