package store

import (
	"context"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestForgetUserKeepsTheCounter: forgetting the user whose operations held
// this device's highest counter does not let the device, once opened
// again, number an operation with a counter it has given before (its
// peers would skip it as held).
func TestForgetUserKeepsTheCounter(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(db *DB, user string, dek []byte) {
		t.Helper()
		if err := db.Update(ctx, user, dek, func(tx app.Tx) error {
			return tx.Put(app.Cell{Entity: "field", ID: app.NewID(), Field: "value", Value: []byte("v")})
		}); err != nil {
			t.Fatal(err)
		}
	}
	keptAcct, keptDEK := addAccount(t, db)
	goneAcct, goneDEK := addAccount(t, db)
	kept := keptAcct.UserID
	write(db, kept, keptDEK)
	for i := 0; i < 3; i++ {
		write(db, goneAcct.UserID, goneDEK)
	}
	given := db.counter.Load()
	if err := db.ForgetUser(ctx, goneAcct.UserID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write(db, kept, keptDEK)
	v, err := db.OpsVector(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	if v[db.device] <= given {
		t.Errorf("the first operation after forgetting and opening again has counter %d; %d was given before", v[db.device], given)
	}
}
