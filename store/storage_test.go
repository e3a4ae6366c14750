package store_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// quietLog keeps the API's log out of the test output.
var quietLog = slog.New(slog.DiscardHandler)

// apiCall sends body as JSON and decodes the JSON answer.
func apiCall(t testing.TB, srv *httptest.Server, method, path string, body map[string]any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// register registers through the API and returns the token.
func register(t testing.TB, srv *httptest.Server, email string) string {
	t.Helper()
	code, r := apiCall(t, srv, "POST", "/api/v1/users/register", map[string]any{"email": email, "password": "a long enough password", "name": "Ada"})
	if code != 201 {
		t.Fatalf("register: %d %v", code, r)
	}
	return r["token"].(string)
}

// bigValue is a distinct value of n hexadecimal digits (random: no page
// compresses or repeats).
func bigValue(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeUntilFull writes new fields of size bytes until an answer is not
// 200; it returns the answer and the fields acknowledged.
func writeUntilFull(t testing.TB, srv *httptest.Server, token string, size, max int) (int, map[string]any, map[string]string) {
	t.Helper()
	acked := map[string]string{}
	for i := range max {
		name, v := fmt.Sprintf("filler_%d_%s", i, bigValue(8)), bigValue(size)
		code, r := apiCall(t, srv, "POST", "/api/v1/profile/update-info", map[string]any{"token": token, "updated_fields": map[string]any{name: v}})
		if code != 200 {
			return code, r, acked
		}
		acked[name] = v
	}
	t.Fatalf("%d writes of %d bytes and still room", max, size)
	return 0, nil, nil
}

// wantStorageFull checks a 507 answer.
func wantStorageFull(t testing.TB, code int, r map[string]any) {
	t.Helper()
	if code != http.StatusInsufficientStorage || r["status"] != "storage is full!" || r["code"] != "storage_full" {
		t.Fatalf("a write with no room: %d %v, want 507 storage is full! (storage_full)", code, r)
	}
}

// checkProfile checks that the profile holds every acknowledged value.
func checkProfile(t testing.TB, srv *httptest.Server, token string, acked map[string]string) {
	t.Helper()
	code, r := apiCall(t, srv, "GET", "/api/v1/profile?token="+token, nil)
	if code != 200 {
		t.Fatalf("profile: %d %v", code, r)
	}
	fields, _ := r["fields"].(map[string]any)
	for k, v := range acked {
		f, _ := fields[k].(map[string]any)
		if f == nil || f["value"] != v {
			t.Fatalf("acknowledged field %s: got %.40v, want %.20s…", k, f, v)
		}
	}
}

// integrityOK runs PRAGMA integrity_check on the data directory's database.
func integrityOK(t testing.TB, dir string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, store.DBFile)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var res string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
}

// TestFullDatabaseAnswers507AndRecovers: a database that cannot grow (its
// page limit, SQLite's own stand-in for a full disk) refuses writes with
// 507 storage_full, not 500; reads go on; once there is room again the
// same writes succeed, without a restart, and nothing acknowledged is
// lost.
func TestFullDatabaseAnswers507AndRecovers(t *testing.T) {
	env := storetest.New(t, app.Config{})
	srv := httptest.NewServer(httpapi.New(env.App, quietLog))
	defer srv.Close()
	token := register(t, srv, "full@example.org")
	pages, err := env.DB.PageCount()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.SetMaxPages(pages + 8); err != nil {
		t.Fatal(err)
	}
	code, r, acked := writeUntilFull(t, srv, token, 4000, 500)
	wantStorageFull(t, code, r)
	checkProfile(t, srv, token, acked)                  // reads still work
	code, r, _ = writeUntilFull(t, srv, token, 4000, 1) // and it stays full
	wantStorageFull(t, code, r)

	if _, err := env.DB.SetMaxPages(1 << 30); err != nil { // room again
		t.Fatal(err)
	}
	name, v := "after_full", bigValue(4000)
	if code, r := apiCall(t, srv, "POST", "/api/v1/profile/update-info", map[string]any{"token": token, "updated_fields": map[string]any{name: v}}); code != 200 {
		t.Fatalf("a write once there is room again: %d %v", code, r)
	}
	acked[name] = v
	checkProfile(t, srv, token, acked)
	integrityOK(t, env.Dir)
}

// TestOpenSaysWhyTheDataDirectoryIsNotWritable: a data directory this
// user cannot write in, or one on a read-only file system, is refused at
// Open with those words (SQLite alone said "unable to open database file:
// no such file or directory"), whether it is new or holds a profile.
func TestOpenSaysWhyTheDataDirectoryIsNotWritable(t *testing.T) {
	for _, existing := range []bool{false, true} {
		prefix := "new"
		if existing {
			prefix = "existing"
		}
		t.Run(prefix+"/not writable by this user", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if existing {
				seedDataDir(t, dir)
			} else if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(dir, 0o700)
			var msg string
			if os.Geteuid() == 0 {
				// Root writes through any mode: open it as another user.
				msg = openAsAnotherUser(t, dir)
			} else {
				_, err := store.Open(dir, store.Options{})
				if err == nil {
					t.Fatal("opened a directory this user cannot write in")
				}
				msg = err.Error()
			}
			t.Log(msg)
			if !strings.Contains(msg, "data directory "+dir+" is not writable by this user") || !strings.Contains(msg, "mode 0500") {
				t.Fatalf("error %q does not say the directory is not writable by this user", msg)
			}
		})
		t.Run(prefix+"/read-only file system", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if existing {
				seedDataDir(t, dir)
			} else if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			msg := openReadOnlyMount(t, dir)
			t.Log(msg)
			if !strings.Contains(msg, "data directory "+dir+" is on a read-only file system") {
				t.Fatalf("error %q does not say the file system is read-only", msg)
			}
		})
	}
}

// seedDataDir makes dir a data directory holding a profile.
func seedDataDir(t *testing.T, dir string) {
	t.Helper()
	env := storetest.Open(t, dir, app.Config{})
	if _, err := env.App.Register(t.Context(), app.Registration{Email: "seed@example.org", Password: "a long enough password"}); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Close(); err != nil {
		t.Fatal(err)
	}
}
