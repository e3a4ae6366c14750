package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
)

func openDB(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newAccount(t *testing.T, db *store.DB, fill func(app.Tx) error) (*app.Account, []byte) {
	t.Helper()
	dek, _ := crypto.NewKey()
	a := &app.Account{UserID: app.NewID(), ProfileID: app.NewID(), EmailMAC: []byte(app.NewID()), KDF: "k", WrappedDEK: []byte("w"), CreatedAt: time.Now()}
	if err := db.CreateAccount(context.Background(), a, dek, fill); err != nil {
		t.Fatal(err)
	}
	return a, dek
}

func TestOpenCreatesPrivateFilesAndReopens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dev := db.DeviceID()
	key := append([]byte(nil), db.InstallationKey()...)
	db.Close()
	for name, want := range map[string]os.FileMode{"": 0o700, store.InstallationKeyFile: 0o600, store.DBFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%q mode %o, want %o", name, got, want)
		}
	}
	db2 := openDB(t, dir) // migrations already applied: must not fail
	if db2.DeviceID() != dev || !bytes.Equal(db2.InstallationKey(), key) {
		t.Fatal("device id or installation key changed on reopen")
	}
}

func TestDamagedInstallationKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, store.InstallationKeyFile), []byte("short"), 0o600)
	if _, err := store.Open(dir, store.Options{}); err == nil {
		t.Fatal("opened with a damaged installation key")
	}
}

func TestCellsAreSealedAndBoundToTheirPlace(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	ctx := context.Background()
	acct, dek := newAccount(t, db, func(tx app.Tx) error {
		if err := tx.Put(app.Cell{Entity: "field", ID: "a", Field: "value", Value: []byte("secret-a-value")}); err != nil {
			return err
		}
		return tx.Put(app.Cell{Entity: "field", ID: "b", Field: "value", Value: []byte("secret-b-value")})
	})
	err := db.View(ctx, acct.UserID, dek, func(tx app.Tx) error {
		c, ok, err := tx.Get("field", "a", "value")
		if err != nil || !ok || string(c.Value) != "secret-a-value" {
			t.Fatalf("get a: %q %v %v", c.Value, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Move b's sealed bytes into a's row: opening must fail.
	raw := rawDB(t, dir)
	if _, err := raw.Exec(`UPDATE cells SET value = (SELECT value FROM cells WHERE id = 'b') WHERE id = 'a'`); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, acct.UserID, dek, func(tx app.Tx) error {
		_, _, err := tx.Get("field", "a", "value")
		return err
	})
	if !errors.Is(err, crypto.ErrOpen) {
		t.Fatalf("moved sealed value opened: %v", err)
	}
	// A wrong key opens nothing.
	other, _ := crypto.NewKey()
	err = db.View(ctx, acct.UserID, other, func(tx app.Tx) error {
		_, _, err := tx.Get("field", "b", "value")
		return err
	})
	if !errors.Is(err, crypto.ErrOpen) {
		t.Fatalf("wrong key opened: %v", err)
	}
}

func TestEveryWriteIsLoggedInTheSameTransaction(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	ctx := context.Background()
	acct, dek := newAccount(t, db, nil)
	raw := rawDB(t, dir)
	count := func() (n int) {
		raw.QueryRow(`SELECT COUNT(*) FROM ops`).Scan(&n)
		return n
	}
	boom := errors.New("boom")
	err := db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
		tx.Put(app.Cell{Entity: "field", ID: "x", Field: "value", Value: []byte("1")})
		return boom
	})
	if !errors.Is(err, boom) || count() != 0 {
		t.Fatalf("rolled-back write left %d ops (err %v)", count(), err)
	}
	err = db.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
		if err := tx.Put(app.Cell{Entity: "field", ID: "x", Field: "value", Value: []byte("1")}); err != nil {
			return err
		}
		if err := tx.Put(app.Cell{Entity: "field", ID: "x", Field: "ring", Value: []byte("public")}); err != nil {
			return err
		}
		return tx.Delete("field", "x")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 { // two puts, two tombstones
		t.Fatalf("ops = %d, want 4", n)
	}
	var prev int64
	rows, _ := raw.Query(`SELECT hlc, counter FROM ops ORDER BY counter`)
	defer rows.Close()
	for i := 1; rows.Next(); i++ {
		var hlc, counter int64
		rows.Scan(&hlc, &counter)
		if hlc <= prev || counter != int64(i) {
			t.Fatalf("op %d: hlc %d after %d, counter %d", i, hlc, prev, counter)
		}
		prev = hlc
	}
	db.View(ctx, acct.UserID, dek, func(tx app.Tx) error {
		if ids, _ := tx.IDs("field"); len(ids) != 0 {
			t.Fatalf("deleted entity still listed: %v", ids)
		}
		return nil
	})
}

// A token hash has one owner on the installation: a second account (or a
// second thing of the same account) writing it is refused, locally and
// from sync, and changes nothing.
func TestTokenHashHasOneOwner(t *testing.T) {
	db := openDB(t, t.TempDir())
	ctx := context.Background()
	hash := []byte("0123456789abcdef0123456789abcdef")
	victim, _ := newAccount(t, db, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "share", ID: "s1", Field: "token_hash", Clear: hash})
	})
	attacker, adek := newAccount(t, db, nil)
	err := db.Update(ctx, attacker.UserID, adek, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "public", ID: "p", Field: "token_hash", Clear: hash})
	})
	if !errors.Is(err, app.ErrTaken) {
		t.Fatalf("another account writing a taken token hash: %v", err)
	}
	res, err := db.ApplyOps(ctx, attacker.UserID, adek, []app.Op{{Device: "other-device", Counter: 1, HLC: 1, UserID: attacker.UserID, Entity: "emergency", ID: "e", Field: "token_hash", Clear: hash}})
	if err != nil || res.Applied != 0 || len(res.Rejected) != 1 {
		t.Fatalf("sync op with a taken token hash: %+v %v", res, err)
	}
	raw := rawDB(t, db.Dir())
	var n int
	raw.QueryRow(`SELECT COUNT(*) FROM cells WHERE field = 'token_hash' AND clear = ?`, hash).Scan(&n)
	if n != 1 {
		t.Fatalf("%d cells hold the token hash, want only the victim's", n)
	}
	_ = victim
	// The schema enforces it too.
	if _, err := raw.Exec(`INSERT INTO cells(user_id, entity, id, field, clear, hlc, device) VALUES (?, 'link', 'x', 'token_hash', ?, 1, 'd')`, attacker.UserID, hash); err == nil {
		t.Fatal("the unique index let a second owner in")
	}
}

func TestUniqueEmail(t *testing.T) {
	db := openDB(t, t.TempDir())
	a, _ := newAccount(t, db, nil)
	dek, _ := crypto.NewKey()
	b := &app.Account{UserID: app.NewID(), ProfileID: app.NewID(), EmailMAC: a.EmailMAC, KDF: "k", WrappedDEK: []byte("w")}
	if err := db.CreateAccount(context.Background(), b, dek, nil); !errors.Is(err, app.ErrExists) {
		t.Fatalf("duplicate e-mail: %v", err)
	}
}

func TestHLCNeverGoesBack(t *testing.T) {
	now := time.Unix(1000, 0)
	c := store.NewHLC(func() time.Time { return now })
	a := c.Now()
	now = now.Add(-time.Minute) // the wall clock steps back
	b := c.Now()
	if b <= a {
		t.Fatalf("hlc went back: %d then %d", a, b)
	}
	c.Observe(b + 1000)
	if d := c.Now(); d <= b+1000 {
		t.Fatalf("hlc not past observed time: %d", d)
	}
	if got := store.HLCTime(a); !got.Equal(time.Unix(1000, 0)) {
		t.Fatalf("HLCTime = %v", got)
	}
}

func TestOperationCounterContinuesAfterReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acct, dek := newAccount(t, db, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "field", ID: "a", Field: "value", Value: []byte("1")})
	})
	db.Close()
	db2 := openDB(t, dir)
	if err := db2.Update(ctx, acct.UserID, dek, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: "field", ID: "a", Field: "value", Value: []byte("2")})
	}); err != nil {
		t.Fatal(err)
	}
	var counters []int64
	rows, _ := rawDB(t, dir).Query(`SELECT counter FROM ops ORDER BY counter`)
	defer rows.Close()
	for rows.Next() {
		var c int64
		rows.Scan(&c)
		counters = append(counters, c)
	}
	if len(counters) != 2 || counters[0] != 1 || counters[1] != 2 {
		t.Fatalf("counters %v, want [1 2]", counters)
	}
}
