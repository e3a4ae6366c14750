package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestPutCapabilityKeepsOneOwnerAndOneToken: a capability's token hash
// names one thing; another account's (or another thing's) record under
// it is refused and changes nothing; the same thing under a new token
// replaces its record under the old one.
func TestPutCapabilityKeepsOneOwnerAndOneToken(t *testing.T) {
	db := openDB(t, t.TempDir())
	ctx := context.Background()
	a, adek := newAccount(t, db, nil)
	b, bdek := newAccount(t, db, nil)
	h1, h2 := []byte("hash-one-0123456789abcdef0123456"), []byte("hash-two-0123456789abcdef0123456")
	put := func(user string, dek []byte, c app.Capability) error {
		return db.Update(ctx, user, dek, func(tx app.Tx) error { return tx.PutCapability(&c) })
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h1, Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("a's view")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []app.Capability{
		{TokenHash: h1, Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("b's view")},
	} {
		if err := put(b.UserID, bdek, c); !errors.Is(err, app.ErrTaken) {
			t.Fatalf("another account under a taken token hash: %v", err)
		}
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h1, Kind: app.CapPublic, ID: "p", State: app.CapActive}); !errors.Is(err, app.ErrTaken) {
		t.Fatalf("another thing under a taken token hash: %v", err)
	}
	// A new token for a's share that turns out to be b's: refused, and
	// a's record under its old token stays.
	h3 := []byte("hash-b-s-0123456789abcdef0123456")
	if err := put(b.UserID, bdek, app.Capability{TokenHash: h3, Kind: app.CapPublic, ID: "bp", State: app.CapActive}); err != nil {
		t.Fatal(err)
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h3, Kind: app.CapShare, ID: "s1", State: app.CapActive}); !errors.Is(err, app.ErrTaken) {
		t.Fatalf("a's share under b's token hash: %v", err)
	}
	if c, err := db.CapabilityByHash(ctx, h1); err != nil || c.UserID != a.UserID || string(c.View) != "a's view" {
		t.Fatalf("after the refusals: %+v %v", c, err)
	}
	if err := put(a.UserID, adek, app.Capability{TokenHash: h2, Kind: app.CapShare, ID: "s1", State: app.CapActive, View: []byte("new token")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CapabilityByHash(ctx, h1); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("the old token's record: %v", err)
	}
	if c, err := db.CapabilityByHash(ctx, h2); err != nil || string(c.View) != "new token" {
		t.Fatalf("the new token's record: %+v %v", c, err)
	}
}
