package store

import (
	"context"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
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
	account := func(db *DB) (string, []byte) {
		dek, _ := crypto.NewKey()
		a := &app.Account{UserID: app.NewID(), ProfileID: app.NewID(), EmailMAC: []byte(app.NewID()), KDF: "k", WrappedDEK: []byte("w"), CreatedAt: time.Now()}
		if err := db.CreateAccount(ctx, a, dek, nil); err != nil {
			t.Fatal(err)
		}
		return a.UserID, dek
	}
	write := func(db *DB, user string, dek []byte) {
		t.Helper()
		if err := db.Update(ctx, user, dek, func(tx app.Tx) error {
			return tx.Put(app.Cell{Entity: "field", ID: app.NewID(), Field: "value", Value: []byte("v")})
		}); err != nil {
			t.Fatal(err)
		}
	}
	kept, keptDEK := account(db)
	gone, goneDEK := account(db)
	write(db, kept, keptDEK)
	for i := 0; i < 3; i++ {
		write(db, gone, goneDEK)
	}
	given := db.counter.Load()
	if err := db.ForgetUser(ctx, gone); err != nil {
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
