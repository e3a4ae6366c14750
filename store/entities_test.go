package store_test

import (
	"context"
	"errors"
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

// TestFreshEntityIsKnownAsWritten: an entity declared fresh is known to
// its transaction as exactly what is written to it (a kind's ids list it
// too), and is stored as that.
func TestFreshEntityIsKnownAsWritten(t *testing.T) {
	db := openDB(t, t.TempDir())
	acct, dek := newAccount(t, db, nil)
	ctx := context.Background()
	want := map[string]app.Cell{
		"token_hash": {Entity: "share", ID: "s1", Field: "token_hash", Clear: []byte("h")},
		"data":       {Entity: "share", ID: "s1", Field: "data", Value: []byte(`{"a":1}`)},
	}
	err := db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
		if ids, err := tx.IDs("share"); err != nil || len(ids) != 0 {
			t.Fatalf("ids before: %v %v", ids, err)
		}
		tx.Fresh("share", "s1")
		if e, err := tx.Entity("share", "s1"); err != nil || len(e) != 0 {
			t.Fatalf("a fresh entity before its writes: %v %v", e, err)
		}
		for _, f := range []string{"token_hash", "data"} {
			if err := tx.Put(want[f]); err != nil {
				return err
			}
		}
		if e, err := tx.Entity("share", "s1"); err != nil || !reflect.DeepEqual(e, want) {
			t.Errorf("the fresh entity as written: %v %v", e, err)
		}
		if ids, err := tx.IDs("share"); err != nil || !reflect.DeepEqual(ids, []string{"s1"}) {
			t.Errorf("ids after: %v %v", ids, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, acct.UserID, dek, func(tx app.Tx) error {
		if e, err := tx.Entity("share", "s1"); err != nil || !reflect.DeepEqual(e, want) {
			t.Errorf("the fresh entity stored: %v %v", e, err)
		}
		return nil
	})
}

// TestEntityReadStaysWhatWasRead: the map Entity (or Entities) gives is
// not changed by the transaction's later writes (they give the next read
// a new one), and every read after a write shows it.
func TestEntityReadStaysWhatWasRead(t *testing.T) {
	db := openDB(t, t.TempDir())
	acct, dek := newAccount(t, db, nil)
	err := db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
		put := func(field, v string) error {
			return tx.Put(app.Cell{Entity: "field", ID: "f1", Field: field, Value: []byte(v)})
		}
		if err := put("value", "1"); err != nil {
			return err
		}
		first, err := tx.Entity("field", "f1")
		if err != nil {
			return err
		}
		all, err := tx.Entities("field")
		if err != nil {
			return err
		}
		listed := all["f1"]
		if err := errors.Join(put("value", "2"), put("ring", "public")); err != nil {
			return err
		}
		second, err := tx.Entity("field", "f1")
		if err != nil {
			return err
		}
		if err := tx.Delete("field", "f1"); err != nil {
			return err
		}
		third, err := tx.Entity("field", "f1")
		if err != nil {
			return err
		}
		if len(first) != 1 || string(first["value"].Value) != "1" {
			t.Errorf("the first read after the writes: %v", first)
		}
		if len(listed) != 1 || string(listed["value"].Value) != "1" {
			t.Errorf("the entity as Entities read it, after the writes: %v", listed)
		}
		if len(second) != 2 || string(second["value"].Value) != "2" || string(second["ring"].Value) != "public" {
			t.Errorf("the second read after the second writes and the delete: %v", second)
		}
		if len(third) != 0 {
			t.Errorf("the read after the delete: %v", third)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestParsedStaysInTheTransaction: what a writer parsed a value into is
// read back with the cell in the transaction that wrote it, never from
// the database, and a later write of the cell without it leaves none
// behind.
func TestParsedStaysInTheTransaction(t *testing.T) {
	db := openDB(t, t.TempDir())
	acct, dek := newAccount(t, db, nil)
	type record struct{ N int }
	err := db.Update(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
		tx.Fresh("share", "s1")
		if err := tx.Put(app.Cell{Entity: "share", ID: "s1", Field: "data", Value: []byte(`{"N":1}`), Parsed: record{1}}); err != nil {
			return err
		}
		c, err := tx.Entity("share", "s1")
		if err != nil {
			return err
		}
		if p, ok := c["data"].Parsed.(record); !ok || p.N != 1 {
			t.Errorf("in the writing transaction: parsed %#v", c["data"].Parsed)
		}
		if _, err := tx.Entity("share", "s2"); err != nil { // kept from now on
			return err
		}
		if err := tx.Put(app.Cell{Entity: "share", ID: "s2", Field: "data", Value: []byte(`{"N":2}`), Parsed: record{2}}); err != nil {
			return err
		}
		if err := tx.Put(app.Cell{Entity: "share", ID: "s2", Field: "data", Value: []byte(`{"N":3}`)}); err != nil {
			return err
		}
		if c, _, err := tx.Get("share", "s2", "data"); err != nil || c.Parsed != nil || string(c.Value) != `{"N":3}` {
			t.Errorf("written again without: %#v, %v", c, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
		c, err := tx.Entity("share", "s1")
		if err != nil {
			return err
		}
		if string(c["data"].Value) != `{"N":1}` || c["data"].Parsed != nil {
			t.Errorf("read from the database: %#v", c["data"])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
