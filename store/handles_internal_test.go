package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Handles repeat (as in the original service): AccountByHandle tells none,
// one and several apart.
func TestAccountByHandleTellsNoneOneSeveral(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	add := func(handle []byte) *app.Account {
		t.Helper()
		a := &app.Account{UserID: app.NewID(), ProfileID: app.NewID(), EmailMAC: []byte(app.NewID()), HandleMAC: handle, KDF: "k", WrappedDEK: []byte("w"), CreatedAt: time.Now()}
		if err := db.CreateAccount(ctx, a, make([]byte, 32), nil); err != nil {
			t.Fatalf("account with handle %q: %v", handle, err)
		}
		return a
	}
	if _, err := db.AccountByHandle(ctx, []byte("h")); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("no holder: %v", err)
	}
	first := add([]byte("h"))
	add(nil)
	add(nil) // accounts without a handle never count as holders
	if a, err := db.AccountByHandle(ctx, []byte("h")); err != nil || a.UserID != first.UserID {
		t.Fatalf("one holder: %v %v", a, err)
	}
	second := add([]byte("h"))
	add([]byte("h"))
	if a, err := db.AccountByHandle(ctx, []byte("h")); !errors.Is(err, app.ErrAmbiguous) || a != nil {
		t.Fatalf("several holders: %v %v", a, err)
	}
	if a, err := db.AccountByProfile(ctx, second.ProfileID); err != nil || a.UserID != second.UserID {
		t.Fatalf("by profile: %v %v", a, err)
	}
	if _, err := db.AccountByProfile(ctx, second.UserID); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown profile: %v", err)
	}
}

// oldSchema makes, in dir, a database of the schema before the migration
// named before (e.g. "0010"), as a device that ran an older version left
// it, and reports the version it is at.
func oldSchema(t *testing.T, dir, before string) (*sql.DB, int) {
	t.Helper()
	old, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, DBFile)+"?_foreign_keys=on&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	applied := 0
	for _, name := range names {
		if filepath.Base(name) >= before {
			break
		}
		body, _ := migrations.ReadFile(name)
		if _, err := old.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		applied, _ = strconv.Atoi(filepath.Base(name)[:4])
	}
	if _, err := old.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, applied)); err != nil {
		t.Fatal(err)
	}
	return old, applied
}

// A database made before handles could repeat (the migrations before 0010,
// a UNIQUE handle column) is migrated: its accounts and sessions survive,
// and a second account may then take a handle already held.
func TestMigrationLetsHandlesRepeat(t *testing.T) {
	dir := t.TempDir()
	old, applied := oldSchema(t, dir, "0010")
	if applied < 6 {
		t.Fatalf("applied old migrations up to %d, want at least 6", applied)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for i, handle := range [][]byte{[]byte("h"), nil, []byte("x")} {
		mustExec(`INSERT INTO accounts(`+accountCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
			fmt.Sprint("u", i), fmt.Sprint("p", i), []byte(fmt.Sprint("e", i)), nullBytes(handle), "k", []byte("w"), nil, nil, 1)
		mustExec(`INSERT INTO sessions(token_hash, user_id, wrapped_dek, created_at, expires_at) VALUES (?,?,?,?,?)`,
			[]byte(fmt.Sprint("t", i)), fmt.Sprint("u", i), []byte("d"), 1, time.Now().Add(time.Hour).UnixMilli())
	}
	if _, err := old.Exec(`INSERT INTO accounts(`+accountCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		"u9", "p9", []byte("e9"), []byte("h"), "k", []byte("w"), nil, nil, 1); err == nil {
		t.Fatal("the old schema took a repeated handle: the test does not start from the unique index")
	}
	old.Close()

	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var version, sessions int
	db.w.QueryRow(`PRAGMA user_version`).Scan(&version)
	db.w.QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&sessions)
	if version < 10 || sessions != 3 {
		t.Fatalf("after migration: version %d, %d sessions (want 3)", version, sessions)
	}
	for i := range 3 {
		s, err := db.SessionByHash(ctx, []byte(fmt.Sprint("t", i)))
		if err != nil || s.UserID != fmt.Sprint("u", i) || s.ProfileID != fmt.Sprint("p", i) {
			t.Fatalf("session %d after migration: %+v %v", i, s, err)
		}
	}
	if a, err := db.AccountByHandle(ctx, []byte("h")); err != nil || a.UserID != "u0" || a.ProfileID != "p0" || string(a.EmailMAC) != "e0" {
		t.Fatalf("account after migration: %+v %v", a, err)
	}
	dup := &app.Account{UserID: "u9", ProfileID: "p9", EmailMAC: []byte("e9"), HandleMAC: []byte("h"), KDF: "k", WrappedDEK: []byte("w"), CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, dup, make([]byte, 32), nil); err != nil {
		t.Fatalf("repeated handle after migration: %v", err)
	}
	if _, err := db.AccountByHandle(ctx, []byte("h")); !errors.Is(err, app.ErrAmbiguous) {
		t.Fatalf("two holders after migration: %v", err)
	}
	// E-mails stay unique, and sessions still go with their account.
	dup.UserID, dup.ProfileID = "u10", "p10"
	if err := db.CreateAccount(ctx, dup, make([]byte, 32), nil); !errors.Is(err, app.ErrExists) {
		t.Fatalf("repeated e-mail after migration: %v", err)
	}
	if _, err := db.w.Exec(`DELETE FROM accounts WHERE user_id = 'u1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionByHash(ctx, []byte("t1")); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("session of a deleted account: %v", err)
	}
	var fk int
	db.w.QueryRow(`SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fk)
	if fk != 0 {
		t.Fatalf("%d foreign key violations after migration", fk)
	}
}
