package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestEntitiesReadsWhatEntityAndIDsRead: one read of a kind gives every
// live entity with its cells, as IDs and Entity give them one by one,
// and a write in the same transaction shows in the next read.
func TestEntitiesReadsWhatEntityAndIDsRead(t *testing.T) {
	db := openDB(t, t.TempDir())
	acct, dek := newAccount(t, db, nil)
	ctx := context.Background()
	err := db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
		for _, c := range []app.Cell{
			{Entity: "field", ID: "a", Field: "name", Value: []byte("phone")},
			{Entity: "field", ID: "a", Field: "value", Value: []byte(`"+1"`)},
			{Entity: "field", ID: "b", Field: "name", Value: []byte("motto")},
			{Entity: "field", ID: "c", Field: "token_hash", Clear: []byte("h")},
			{Entity: "ring", ID: "r", Field: "name", Value: []byte("family")},
		} {
			if err := tx.Put(c); err != nil {
				return err
			}
		}
		return tx.Delete("field", "c")
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
		all, err := tx.Entities("field")
		if err != nil {
			return err
		}
		ids, _ := tx.IDs("field")
		if !reflect.DeepEqual(ids, []string{"a", "b"}) || len(all) != 2 {
			t.Fatalf("ids %v, entities %v", ids, all)
		}
		for _, id := range ids {
			one, err := tx.Entity("field", id)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(one, all[id]) {
				t.Errorf("%s: Entity %v, Entities %v", id, one, all[id])
			}
		}
		if err := tx.Put(app.Cell{Entity: "field", ID: "b", Field: "value", Value: []byte(`"carpe diem"`)}); err != nil {
			return err
		}
		all, err = tx.Entities("field")
		if err != nil {
			return err
		}
		if string(all["b"]["value"].Value) != `"carpe diem"` {
			t.Errorf("after a write: %v", all["b"])
		}
		if c, ok, _ := tx.Get("field", "b", "value"); !ok || string(c.Value) != `"carpe diem"` {
			t.Errorf("Get after a write: %v %v", c, ok)
		}
		// Reads kept across writes say what the writes did: a new cell,
		// a new entity, an entity gone.
		if err := tx.Put(app.Cell{Entity: "field", ID: "b", Field: "ring", Value: []byte("public")}); err != nil {
			return err
		}
		if e, _ := tx.Entity("field", "b"); len(e) != 3 || string(e["ring"].Value) != "public" || string(e["value"].Value) != `"carpe diem"` {
			t.Errorf("Entity after a second write: %v", e)
		}
		if e, _ := tx.Entity("field", "d"); len(e) != 0 {
			t.Errorf("an entity never written: %v", e)
		}
		if err := tx.Put(app.Cell{Entity: "field", ID: "d", Field: "name", Value: []byte("city")}); err != nil {
			return err
		}
		if ids, _ := tx.IDs("field"); !reflect.DeepEqual(ids, []string{"a", "b", "d"}) {
			t.Errorf("ids after a new entity: %v", ids)
		}
		if err := tx.Delete("field", "a"); err != nil {
			return err
		}
		if ids, _ := tx.IDs("field"); !reflect.DeepEqual(ids, []string{"b", "d"}) {
			t.Errorf("ids after a delete: %v", ids)
		}
		if e, _ := tx.Entity("field", "a"); len(e) != 0 {
			t.Errorf("a deleted entity: %v", e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
