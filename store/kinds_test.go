package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestKindsListsTheUsersLiveEntityKinds: kinds with a live cell, in order,
// of this user only; a kind whose every entity is deleted drops out.
func TestKindsListsTheUsersLiveEntityKinds(t *testing.T) {
	db := openDB(t, t.TempDir())
	put := func(cells ...app.Cell) func(app.Tx) error {
		return func(tx app.Tx) error {
			for _, c := range cells {
				if err := tx.Put(c); err != nil {
					return err
				}
			}
			return nil
		}
	}
	a, dek := newAccount(t, db, put(
		app.Cell{Entity: "share", ID: "s1", Field: "data", Value: []byte("x")},
		app.Cell{Entity: "credential", ID: "c1", Field: "type", Value: []byte("passport")},
		app.Cell{Entity: "zeta", ID: "z1", Field: "hash", Clear: []byte{1}},
	))
	newAccount(t, db, put(app.Cell{Entity: "other_users_kind", ID: "o", Field: "f", Value: []byte("y")}))
	ctx := context.Background()
	kinds := func() []string {
		var k []string
		err := db.View(ctx, a.UserID, dek, func(tx app.Tx) error {
			var err error
			k, err = tx.Kinds()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if got := kinds(); !reflect.DeepEqual(got, []string{"credential", "share", "zeta"}) {
		t.Fatalf("Kinds = %v", got)
	}
	if err := db.Update(ctx, a.UserID, dek, func(tx app.Tx) error { return tx.Delete("share", "s1") }); err != nil {
		t.Fatal(err)
	}
	if got := kinds(); !reflect.DeepEqual(got, []string{"credential", "zeta"}) {
		t.Fatalf("Kinds after deleting the only share = %v", got)
	}
}
