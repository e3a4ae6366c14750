package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// apiServer is the API over a store in dir, on a test server.
func apiServer(t *testing.T, dir string) (*storetest.Env, *httptest.Server) {
	t.Helper()
	env := storetest.Open(t, dir, app.Config{})
	srv := httptest.NewServer(httpapi.New(env.App, nil))
	t.Cleanup(srv.Close)
	return env, srv
}

func call(t *testing.T, srv *httptest.Server, method, path string, form url.Values) map[string]any {
	t.Helper()
	var res *http.Response
	var err error
	if method == http.MethodGet {
		res, err = srv.Client().Get(srv.URL + path + "?" + form.Encode())
	} else {
		res, err = srv.Client().PostForm(srv.URL+path, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body["status"] != "success" {
		t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, body)
	}
	return body
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportRestoresAnExportedContainer: a profile registered and filled
// in directory A is exported as a container over HTTP, imported with
// `spp import` into directory B, and B then signs in with the new password
// and shows the same fields; every cell written on B is in B's op log.
func TestImportRestoresAnExportedContainer(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dirA, dirB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	envA, srvA := apiServer(t, dirA)
	reg := call(t, srvA, "POST", "/api/v1/users/register", url.Values{
		"name": {"Grace Hopper"}, "email": {"grace@example.org"}, "handle": {"grace"}, "password": {"device A password"},
	})
	tokA := reg["token"].(string)
	p, err := envA.App.Authenticate(ctx, tokA)
	if err != nil {
		t.Fatal(err)
	}
	err = envA.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		for _, c := range []app.Cell{
			{Entity: app.EntityField, ID: "blood_type", Field: "value", Value: []byte(`"B+"`)},
			{Entity: app.EntityField, ID: "blood_type", Field: "ring", Value: []byte(app.RingRestricted)},
			{Entity: app.EntityField, ID: "home_address", Field: "value", Value: []byte(`{"city":"Arlington"}`)},
			{Entity: app.EntityField, ID: "home_address", Field: "ring", Value: []byte(app.RingPrivate)},
		} {
			if err := tx.Put(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := call(t, srvA, "GET", "/api/v1/profile", url.Values{"token": {tokA}})
	const passphrase = "navy compiler cobol 1952"
	exp := call(t, srvA, "POST", "/api/v1/profile/export", url.Values{"token": {tokA}, "format": {"container"}, "passphrase": {passphrase}})

	const newPassword = "device B password"
	file := writeFile(t, tmp, "profile.spp", exp["exported_data"].(string)+"\n")
	passFile := writeFile(t, tmp, "passphrase", passphrase+"\n")
	pwFile := writeFile(t, tmp, "password", newPassword+"\n")
	var out bytes.Buffer
	args := []string{"import", "--data", dirB, "--file", file, "--passphrase-file", passFile, "--password-file", pwFile}
	if err := run(ctx, args, &out, &out); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), p.ProfileID) || strings.Contains(out.String(), passphrase) || strings.Contains(out.String(), newPassword) {
		t.Fatalf("import output: %s", out.String())
	}

	// A second import into B is refused, clearly.
	out.Reset()
	err = run(ctx, args, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "this profile already exists here!") {
		t.Fatalf("second import: %v", err)
	}
	// A wrong passphrase fails cleanly.
	bad := writeFile(t, tmp, "bad-passphrase", "not the passphrase\n")
	err = run(ctx, []string{"import", "--data", filepath.Join(tmp, "c"), "--file", file, "--passphrase-file", bad, "--password-file", pwFile}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "the passphrase is wrong or the container is damaged!") {
		t.Fatalf("wrong passphrase: %v", err)
	}

	// Every cell of the user on B was written through the op log.
	db, err := sql.Open("sqlite3", filepath.Join(dirB, "profile.db"))
	if err != nil {
		t.Fatal(err)
	}
	var cells, unlogged int
	if err := db.QueryRow(`SELECT COUNT(*) FROM cells WHERE user_id = ? AND deleted = 0`, p.UserID).Scan(&cells); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM cells c WHERE c.user_id = ? AND NOT EXISTS (SELECT 1 FROM ops o
		WHERE o.user_id = c.user_id AND o.entity = c.entity AND o.id = c.id AND o.field = c.field AND o.hlc = c.hlc)`, p.UserID).Scan(&unlogged); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if cells < 10 || unlogged != 0 {
		t.Fatalf("B holds %d cells of the user, %d of them not in the op log", cells, unlogged)
	}

	// B signs in with the new password (not A's) and shows the same profile.
	_, srvB := apiServer(t, dirB)
	login := call(t, srvB, "POST", "/api/v1/users/login", url.Values{"email": {"grace@example.org"}, "password": {newPassword}})
	after := call(t, srvB, "GET", "/api/v1/profile", url.Values{"token": {login["token"].(string)}})
	for _, k := range []string{"user_id", "profile_id", "fields"} {
		if !reflect.DeepEqual(before[k], after[k]) {
			t.Errorf("%s on B = %v, on A = %v", k, after[k], before[k])
		}
	}
	if f := after["fields"].(map[string]any)["blood_type"].(map[string]any); f["value"] != "B+" || f["ring"] != "restricted" {
		t.Errorf("restricted field on B: %v", f)
	}
}

// TestImportReadsStandardInputAndEnvironment: the container on standard
// input, the passphrase and password from the environment.
func TestImportReadsStandardInputAndEnvironment(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	_, srvA := apiServer(t, filepath.Join(tmp, "a"))
	reg := call(t, srvA, "POST", "/api/v1/users/register", url.Values{"email": {"stdin@example.org"}, "password": {"device A password"}})
	exp := call(t, srvA, "POST", "/api/v1/profile/export", url.Values{"token": {reg["token"].(string)}, "format": {"container"}, "passphrase": {"from the environment"}})
	raw, _ := json.Marshal(exp) // the export's whole JSON answer is accepted too
	t.Setenv("SPP_PASSPHRASE", "from the environment")
	t.Setenv("SPP_PASSWORD", "the new password here")
	var out bytes.Buffer
	dirB := filepath.Join(tmp, "b")
	if err := runImport(ctx, []string{"--data", dirB}, bytes.NewReader(raw), &out, &out); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	_, srvB := apiServer(t, dirB)
	call(t, srvB, "POST", "/api/v1/users/login", url.Values{"email": {"stdin@example.org"}, "password": {"the new password here"}})

	if err := runImport(ctx, []string{"--data", filepath.Join(tmp, "c")}, strings.NewReader(""), &out, &out); err == nil || !strings.Contains(err.Error(), "no container") {
		t.Fatalf("empty input: %v", err)
	}
	if err := runImport(ctx, []string{"--data", dirB, "extra"}, strings.NewReader(""), &out, &out); err == nil {
		t.Fatal("stray argument accepted")
	}
}

func TestImportHelpExplainsTheSources(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"import", "--help"}, &out, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"-data", "-file", "-passphrase-file", "-password-file", "SPP_PASSPHRASE", "SPP_PASSWORD", "standard input"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("import help lacks %q:\n%s", s, out.String())
		}
	}
}
