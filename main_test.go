package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/cli"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/app/mail/mailtest"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestHelpExplainsTheFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, &out, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"serve", "-data", "-addr", "-public-url", "127.0.0.1:8000"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, out.String())
		}
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// TestServeRunsMigrationsAndAnswers starts `serve` on a fresh data
// directory, registers through it, stops it, starts it again on the same
// directory and logs in.
func TestServeRunsMigrationsAndAnswers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for round, path := range []string{"/api/v1/users/register", "/api/v1/users/login"} {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		var logs bytes.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--data", dir, "--addr", addr, "--public-url", "https://profile.example.org/"}, &logs, &logs)
		}()
		base := "http://" + addr + "/api/v1"
		deadline := time.Now().Add(15 * time.Second)
		for {
			res, err := http.Get(base + "/healthz")
			if err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: listener never answered: %v\n%s", round, err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		body := `{"email":"serve@example.org","password":"a long enough password"}`
		res, err := http.Post(base+path[len("/api/v1"):], "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if got["status"] != "success" || got["token"] == nil {
			t.Fatalf("round %d %s: %d %v", round, path, res.StatusCode, got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve returned %v", err)
		}
		if strings.Contains(logs.String(), "a long enough password") {
			t.Fatal("password in the log")
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "installation.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("installation key: %v %v", fi, err)
	}
}

func TestServeRefusesABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", ln.Addr().String()}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Fatalf("err = %v", err)
	}
}

func TestRespondersSubcommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	cmd := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"responders"}, args...), &out, &errb)
		return out.String() + errb.String(), err
	}
	// stdout alone: what a script reads.
	stdout := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append([]string{"responders"}, args...), &out, &errb); err != nil {
			t.Fatalf("%q: %v %s", args, err, errb.String())
		}
		return out.String()
	}
	secretRE := regexp.MustCompile(`^responder secret: ([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})\n$`)
	secretOf := func(out string) string {
		t.Helper()
		m := secretRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("not one line with a secret: %q", out)
		}
		return m[1]
	}
	first := secretOf(stdout("add", "--data", dir, "--name", "Ana Ruiz", "--organization", "City EMS", "EMT-4471"))
	// Flags may follow the id.
	secretOf(stdout("add", "MEDIC-9", "--data", dir, "--name", "Lee Park"))
	// Adding again updates the entry (and gives a new secret).
	secretOf(stdout("add", "--data", dir, "--name", "Lee Park-Smith", "--organization", "Harbour Ambulance", "MEDIC-9"))
	secret := secretOf(stdout("reset-secret", "--data", dir, "EMT-4471"))
	if secret == first {
		t.Fatal("reset-secret printed the same secret")
	}

	// Organizations: a PEM public key file, or the raw key in base64url.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	pkix, _ := x509.MarshalPKIXPublicKey(pub)
	keyFile, pubFile := filepath.Join(t.TempDir(), "org.pem"), filepath.Join(t.TempDir(), "org.pub.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600)
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o644)
	keyIDRE := regexp.MustCompile(`^key id: ([A-Za-z0-9_-]{43})\n$`)
	m := keyIDRE.FindStringSubmatch(stdout("trust", "--data", dir, "--name", "Northshore Paramedics", "--public-key", pubFile))
	if m == nil {
		t.Fatal("trust printed no key id")
	}
	keyID := m[1]
	// A key id is base64url: one in 64 starts with "-", and is still
	// an argument, not a flag.
	var pub2 ed25519.PublicKey
	for {
		pub2, _, _ = ed25519.GenerateKey(rand.Reader)
		if kid, err := app.ResponderKeyID(pub2); err != nil {
			t.Fatal(err)
		} else if strings.HasPrefix(kid, "-") {
			break
		}
	}
	m = keyIDRE.FindStringSubmatch(stdout("trust", "--data", dir, "--name", "Gone EMS", "--public-key", base64.RawURLEncoding.EncodeToString(pub2)))
	if m == nil || m[1] == keyID {
		t.Fatalf("trust of a base64url key: %v", m)
	}
	goneID := m[1]

	out := stdout("list", "--data", dir)
	for _, want := range []string{"EMT-4471", "Ana Ruiz", "City EMS", "MEDIC-9", "Lee Park-Smith", "Harbour Ambulance", "Northshore Paramedics", keyID, "Gone EMS", goneID} {
		if !strings.Contains(out, want) {
			t.Fatalf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) || strings.Contains(out, first) {
		t.Fatalf("list shows a secret:\n%s", out)
	}
	if out, err := cmd("untrust", "--data", dir, goneID); err != nil || !strings.Contains(out, goneID) {
		t.Fatalf("untrust: %v %s", err, out)
	}
	if out, err := cmd("remove", "--data", dir, "MEDIC-9"); err != nil || !strings.Contains(out, "MEDIC-9 removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	// So may a responder id; after "--" even one that is a flag's name.
	secretOf(stdout("add", "-7", "--data", dir))
	secretOf(stdout("add", "--data", dir, "--", "--name"))
	for _, id := range []string{"-7", "--name"} {
		if out, err := cmd("remove", "--data", dir, "--", id); err != nil || !strings.Contains(out, id+" removed") {
			t.Fatalf("remove %s: %v %s", id, err, out)
		}
	}
	if out := stdout("list", "--data", dir); strings.Contains(out, "MEDIC-9") || strings.Contains(out, "Gone EMS") || !strings.Contains(out, "Northshore") {
		t.Fatalf("removed entries listed:\n%s", out)
	}

	// A badge, from the organization's key alone (no data directory).
	badge := strings.TrimSpace(stdout("issue", "--org-key", keyFile, "--id", "PM-1", "--name", "Pat Medic", "--days", "30"))
	if strings.Count(badge, ".") != 2 || len(badge) > 600 {
		t.Fatalf("badge %q", badge)
	}

	for _, bad := range [][]string{
		{"remove", "--data", dir, "MEDIC-9"},                  // not there
		{"reset-secret", "--data", dir, "nobody"},             // not there
		{"untrust", "--data", dir, goneID},                    // not trusted
		{"add", "--data", dir},                                // no id
		{"add", "--data", dir, "a", "b"},                      // two ids
		{"add", "--data", dir, "--name", "x", " "},            // blank id
		{"add", "--data", dir, "--id=PM-1"},                   // issue's flag, not an id
		{"add", "--data", dir, "--organisation=EMS", "EMT-9"}, // a mistyped flag
		{"add", "--data", dir, "--days", "EMT-9"},             // issue's flag
		{"add", "--data", dir, "--name"},                      // no value
		{"trust", "--data", dir, "--name", "X"},               // no key
		{"trust", "--data", dir, "--name", "X", "--public-key", "not-a-key"},
		{"trust", "--data", dir, "--name", "X", "--public-key", keyFile}, // a private key is no public key
		{"issue", "--org-key", keyFile},                                  // no id
		{"issue", "--org-key", pubFile, "--id", "PM-1"},                  // not a private key
		{"issue", "--org-key", keyFile, "--id", "PM-1", "--days", "0"},
		{"list", "--data", dir, "extra"},
		{"frobnicate", "--data", dir},
		{},
	} {
		if out, err := cmd(bad...); err == nil {
			t.Errorf("%q accepted: %s", bad, out)
		}
	}
	if out, err := cmd("remove", "--data", dir, "MEDIC-9"); err == nil || !strings.Contains(err.Error(), "responder does not exist!") {
		t.Fatalf("remove unknown: %v %s", err, out)
	}

	// The app of that data directory: the id alone and the first secret
	// are refused; the new secret and the badge open. Names, ids and
	// secrets are sealed or hashed, not in the database in clear.
	env := storetest.Open(t, dir, app.Config{})
	if _, err := env.App.Register(ctx, app.Registration{Email: "cli@example.org", Password: "a long enough password", Name: "Cli User"}); err != nil {
		t.Fatal(err)
	}
	auth, _ := env.App.Login(ctx, "cli@example.org", "a long enough password")
	p, _ := env.App.Authenticate(ctx, auth.Token)
	if _, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: json.RawMessage(`"asthma"`)}); err != nil {
		t.Fatal(err)
	}
	grant := func(client string, r app.GrantRequest) error {
		r.Reason, r.Email, r.Client = "collapsed", "cli@example.org", client
		_, err := env.App.GrantEmergency(ctx, r)
		return err
	}
	for i, r := range []app.GrantRequest{{ResponderID: "EMT-4471"}, {ResponderID: "EMT-4471", ResponderSecret: first}, {ResponderID: "PM-2", ResponderCredential: badge}} {
		if err := grant(fmt.Sprintf("192.0.2.%d", i), r); err == nil || !strings.Contains(err.Error(), "responder is not verified!") {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	if err := grant("192.0.2.10", app.GrantRequest{ResponderID: "emt-4471", ResponderSecret: secret}); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	if err := grant("192.0.2.11", app.GrantRequest{ResponderID: "PM-1", ResponderCredential: badge}); err != nil {
		t.Fatalf("the badge: %v", err)
	}
	l, _ := env.App.EmergencyLog(ctx, p)
	if last := l.Entries[len(l.Entries)-1]; last.ResponderOrganization != "Northshore Paramedics" || last.ResponderName != "Pat Medic" {
		t.Fatalf("badge grant logged as %+v", last)
	}
	for _, f := range []string{"profile.db", "profile.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		for _, s := range []string{"Ana Ruiz", "EMT-4471", "Northshore", secret, strings.ReplaceAll(secret, "-", ""), badge} {
			if bytes.Contains(b, []byte(s)) {
				t.Fatalf("%q in clear in %s", s, f)
			}
		}
	}
}

func TestSMTPFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, &out, &out)
	for _, s := range []string{"-smtp-addr", "-smtp-from", "-smtp-user", "-smtp-password-file", "SPP_SMTP_PASSWORD"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q (err %v)", s, err)
		}
	}
	for _, args := range [][]string{
		{"serve", "--smtp-addr", "127.0.0.1:25"},
		{"serve", "--smtp-from", "a@example.org"},
		{"serve", "--smtp-addr", "127.0.0.1:25", "--smtp-from", "a@example.org", "--smtp-password-file", filepath.Join(t.TempDir(), "missing")},
	} {
		out.Reset()
		if err := run(context.Background(), append(args, "--data", t.TempDir(), "--addr", freeAddr(t)), &out, &out); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestServeMailsTrustedContacts runs serve with a real SMTP relay on this
// host: a grant through the API reaches the trusted contact by e-mail.
func TestServeMailsTrustedContacts(t *testing.T) {
	relay := mailtest.Start(t, mailtest.Options{})
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--addr", addr, "--smtp-addr", relay.Addr, "--smtp-from", "profile@example.org"}, &logs, &logs)
	}()
	base := "http://" + addr + "/api/v1"
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	post := func(path string, body map[string]any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var got map[string]any
		json.Unmarshal(raw, &got)
		if got["status"] != "success" {
			t.Fatalf("%s: %d %s", path, res.StatusCode, raw)
		}
		return got
	}
	reg := post("/users/register", map[string]any{"email": "serve-em@example.org", "password": "a long enough password", "name": "Mina Serve"})
	post("/profile/emergency-access", map[string]any{"token": reg["token"], "emergency_info": "epileptic", "trusted_contacts": []string{"kin@example.org"}, "criteria": map[string]any{"responders": "any"}})
	post("/profile/emergency-access/grant", map[string]any{"responder_id": "bystander-1", "reason": "seizure in the street", "email": "serve-em@example.org"})
	m := relay.Wait(t, 1, 10*time.Second)[0]
	if m.To[0] != "kin@example.org" || m.From != "profile@example.org" || !strings.Contains(m.Text(), "seizure in the street") || !strings.Contains(m.Text(), "Mina Serve") {
		t.Fatalf("mail: %+v\n%s", m, m.Text())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "epileptic") || strings.Contains(logs.String(), "seizure") {
		t.Fatalf("a secret in the log:\n%s", logs.String())
	}
}

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
	if err := cli.Import(ctx, cliEnv(io.Discard), []string{"--data", dirB}, bytes.NewReader(raw), &out, &out); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	_, srvB := apiServer(t, dirB)
	call(t, srvB, "POST", "/api/v1/users/login", url.Values{"email": {"stdin@example.org"}, "password": {"the new password here"}})

	if err := cli.Import(ctx, cliEnv(io.Discard), []string{"--data", filepath.Join(tmp, "c")}, strings.NewReader(""), &out, &out); err == nil || !strings.Contains(err.Error(), "no container") {
		t.Fatalf("empty input: %v", err)
	}
	if err := cli.Import(ctx, cliEnv(io.Discard), []string{"--data", dirB, "extra"}, strings.NewReader(""), &out, &out); err == nil {
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

func init() {
	// No test of this package listens beyond loopback or multicasts on
	// the real network (p2p.go).
	p2pDefaults.listen = []string{"/ip4/127.0.0.1/tcp/0"}
	p2pDefaults.mdns = false
}

// TestServeHelperProcess is not a test: TestTwoProcessesSync runs the test
// binary again with SPP_SERVE_HELPER set, and this runs `serve` in that
// process until it is interrupted.
func TestServeHelperProcess(t *testing.T) {
	if os.Getenv("SPP_SERVE_HELPER") != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := strings.Split(os.Getenv("SPP_SERVE_ARGS"), "\x1f")
	if err := run(ctx, args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveProcess starts `spp serve` in its own process with its own data
// directory, and returns its API base URL.
func serveProcess(t *testing.T, name string, extra ...string) (string, *syncBuffer) {
	base, logs, _ := serveProcessStop(t, name, extra...)
	return base, logs
}

// serveProcessStop is serveProcess, with a func that stops the process
// before the test ends.
func serveProcessStop(t *testing.T, name string, extra ...string) (string, *syncBuffer, func()) {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"serve", "--data", filepath.Join(t.TempDir(), name), "--addr", addr,
		"--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"}, extra...)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(os.Environ(), "SPP_SERVE_HELPER=1", "SPP_SERVE_ARGS="+strings.Join(args, "\x1f"))
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	base := "http://" + addr + "/api/v1"
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			return base, logs, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\n%s", name, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func p2pCall(t *testing.T, method, url string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestTwoProcessesSync: two `serve` processes with their own data
// directories pair through the device endpoints; update-info on either one
// then shows through /verify (a share made on the first) on both.
func TestTwoProcessesSync(t *testing.T) {
	a, aLogs := serveProcess(t, "a")
	b, bLogs := serveProcess(t, "b")
	const pw = "a long enough password"

	code, reg := p2pCall(t, "POST", a+"/users/register", map[string]any{"email": "ada@example.org", "password": pw, "name": "Ada"})
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	tokA := reg["token"].(string)
	code, pc := p2pCall(t, "POST", a+"/devices/pair-code", map[string]any{"token": tokA, "name": "desktop"})
	if code != 201 {
		t.Fatalf("pair-code: %d %v", code, pc)
	}
	code, joined := p2pCall(t, "POST", b+"/devices/join", map[string]any{"code": pc["code"], "password": pw, "name": "laptop"})
	if code != 201 || joined["user_id"] != reg["user_id"] {
		t.Fatalf("join: %d %v", code, joined)
	}
	tokB := joined["token"].(string)

	code, share := p2pCall(t, "POST", a+"/profile/share-create", map[string]any{"token": tokA, "service_id": "bank", "info_field": "city"})
	if code != 201 {
		t.Fatalf("share-create: %d %v", code, share)
	}
	vt := share["verification_token"].(string)

	waitClaim := func(base, want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, v := p2pCall(t, "GET", base+"/verify/"+vt, nil)
			if claims, _ := v["claims"].(map[string]any); code == 200 && claims["city"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/verify never showed city=%q: %d %v", base, want, code, v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	code, upd := p2pCall(t, "POST", a+"/profile/update-info", map[string]any{"token": tokA, "updated_fields": map[string]any{"city": "London"}})
	if code != 200 {
		t.Fatalf("update-info on a: %d %v", code, upd)
	}
	waitClaim(b, "London") // the share and the change both came over
	code, upd = p2pCall(t, "PUT", b+"/profile/update-info", map[string]any{"token": tokB, "updated_fields": map[string]any{"city": "Paris"}})
	if code != 200 {
		t.Fatalf("update-info on b: %d %v", code, upd)
	}
	waitClaim(a, "Paris")

	code, devs := p2pCall(t, "GET", a+"/devices?token="+tokA, nil)
	if code != 200 || len(devs["devices"].([]any)) != 2 {
		t.Fatalf("devices: %d %v", code, devs)
	}
	for _, l := range []string{aLogs.String(), bLogs.String()} {
		if strings.Contains(l, pw) || strings.Contains(l, pc["code"].(string)) {
			t.Fatal("a password or pairing code reached a log")
		}
	}
}

// helperEnv is the environment for a helper process running args, with
// the locale variables replaced by lang.
func helperEnv(lang string, args ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "SPP_SERVE_HELPER", "SPP_SERVE_ARGS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LANG="+lang, "SPP_SERVE_HELPER=1", "SPP_SERVE_ARGS="+strings.Join(args, "\x1f"))
}

// A subcommand prints only its own output, whatever the locale: under
// LANG=C.UTF-8 (many containers' default) the GUI toolkit's package
// initialisation used to log "Fyne error: Error parsing user locale C"
// to standard error before main ran (app/posixlocale).
func TestSubcommandsPrintOnlyTheirOwnOutputUnderPOSIXLocales(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, lang := range []string{"C", "C.UTF-8", "POSIX", "C.utf8", "de_DE@euro", "en_US.UTF-8"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
		cmd.Env = helperEnv(lang, "responders", "list", "--data", dir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("LANG=%s: %v\n%s%s", lang, err, stdout.String(), stderr.String())
		}
		if stderr.Len() != 0 {
			t.Errorf("LANG=%s: responders list wrote to standard error:\n%s", lang, stderr.String())
		}
		if !strings.Contains(stdout.String(), "RESPONDER_ID") || strings.Contains(stdout.String(), "Fyne") {
			t.Errorf("LANG=%s: standard output:\n%s", lang, stdout.String())
		}
	}
}

// serve answers the hosts --allowed-host names, the --addr host and the
// --public-url host, refuses others with 421, and refuses cross-site
// writes with 403.
func TestServeAllowedHosts(t *testing.T) {
	var help bytes.Buffer
	run(context.Background(), []string{"serve", "--help"}, &help, &help)
	if !strings.Contains(help.String(), "-allowed-host HOST") {
		t.Fatalf("help lacks --allowed-host:\n%s", help.String())
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", freeAddr(t), "--no-sync", "--allowed-host", "https://x.example/"}, &out, &out); err == nil || !strings.Contains(err.Error(), "--allowed-host") {
		t.Fatalf("a URL as --allowed-host: %v", err)
	}

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", t.TempDir(), "--addr", addr, "--no-sync", "--public-url", "https://profile.example.org",
			"--allowed-host", "home.lan", "--allowed-host", "nas.lan:8443,[fd00::1]"}, logs, logs)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	}()
	get := func(host string, hdr ...string) (int, string) {
		method := "GET"
		if len(hdr) > 0 {
			method = "POST"
		}
		req, _ := http.NewRequest(method, "http://"+addr+"/api/v1/healthz", nil)
		req.Host = host
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for code, _ := get(addr); code != 200; code, _ = get(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("listener never answered:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, host := range []string{"localhost:8000", "home.lan", "home.lan:8000", "nas.lan", "[fd00::1]:8000", "profile.example.org"} {
		if code, body := get(host); code != 200 {
			t.Errorf("Host %s: %d %s", host, code, body)
		}
	}
	for _, host := range []string{"attacker.example", "home.lan.attacker.example", "lan"} {
		if code, body := get(host); code != 421 || !strings.Contains(body, `"code":"unknown_host"`) {
			t.Errorf("Host %s: %d %s", host, code, body)
		}
	}
	if code, body := get(addr, "Origin", "http://attacker.example"); code != 403 || !strings.Contains(body, `"code":"cross_site"`) {
		t.Errorf("cross-site POST: %d %s", code, body)
	}
	if code, body := get("profile.example.org", "Origin", "https://profile.example.org"); code != 405 {
		t.Errorf("POST from the public URL's origin: %d %s", code, body) // past both checks: healthz is GET only
	}
}

// serveKillable starts `serve` in its own process (the test binary again,
// TestServeHelperProcess) on dir and addr, waits until it answers, and
// returns it; the caller kills or stops it.
func serveKillable(t *testing.T, dir, addr string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = helperEnv("en_US.UTF-8", "serve", "--data", dir, "--addr", addr, "--no-sync")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/api/v1/healthz")
		if err == nil {
			res.Body.Close()
			return cmd, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSIGKILLDuringAWriteStormLosesNothing is the short crash check (make
// stress runs the long one, testdata/stress): `serve` on a fresh data
// directory, four writers storing a new field each call for about two
// seconds, SIGKILL in the middle of it, a restart on the same directory:
// every write that was answered 200 is there with its value, and
// PRAGMA integrity_check says ok.
func TestSIGKILLDuringAWriteStormLosesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	srv, logs := serveKillable(t, dir, addr)
	base := "http://" + addr + "/api/v1"
	code, reg := p2pCall(t, "POST", base+"/users/register", map[string]any{"email": "crash@example.org", "password": "a long enough password"})
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	token := reg["token"].(string)

	var mu sync.Mutex
	acked := map[string]string{}
	var unexpected []string
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				name, value := fmt.Sprintf("k%d_%d", w, seq), fmt.Sprintf("v%d-%d-%s", w, seq, rand.Text())
				b, _ := json.Marshal(map[string]any{"token": token, "updated_fields": map[string]string{name: value}})
				res, err := client.Post(base+"/profile/update-info", "application/json", bytes.NewReader(b))
				if err != nil {
					return // killed
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				mu.Lock()
				if res.StatusCode == 200 {
					acked[name] = value
				} else {
					unexpected = append(unexpected, fmt.Sprintf("%d %s", res.StatusCode, body))
				}
				mu.Unlock()
			}
		}()
	}
	// At least 2 s of storm and 50 acknowledged writes (a loaded machine
	// may need longer for them), then the kill.
	time.Sleep(2 * time.Second)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 50 {
			break
		}
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("answers other than 200 during the storm: %v\n%s", unexpected[:min(len(unexpected), 5)], logs.String())
	}
	if len(acked) < 50 {
		t.Fatalf("only %d writes acknowledged before the kill", len(acked))
	}

	addr = freeAddr(t)
	srv, logs = serveKillable(t, dir, addr)
	code, prof := p2pCall(t, "GET", "http://"+addr+"/api/v1/profile?token="+url.QueryEscape(token), nil)
	if code != 200 {
		t.Fatalf("profile after the restart: %d %v\n%s", code, prof, logs.String())
	}
	fields, _ := prof["fields"].(map[string]any)
	lost := 0
	for name, value := range acked {
		if f, _ := fields[name].(map[string]any); f == nil || f["value"] != value {
			lost++
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d fields after the restart, %d lost", len(acked), len(fields), lost)
	if lost > 0 {
		t.Fatalf("%d acknowledged writes lost", lost)
	}
	srv.Process.Signal(os.Interrupt)
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve after the restart: %v\n%s", err, logs.String())
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "profile.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
}

// TestVerifySubcommand: spp verify checks a share code offline, from its
// text or a PNG of its QR code, and exits non-zero for a wrong audience, a
// tampered or an expired code.
func TestVerifySubcommand(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Email: "cli@example.org", Password: "a long enough password", Name: "Grace Hopper"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar.example", InfoField: "name"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := env.App.ShareCode(ctx, p, sh.ShareID)
	if err != nil {
		t.Fatal(err)
	}
	png, err := qr.PNG(code, 4)
	if err != nil {
		t.Fatal(err)
	}
	pngFile := filepath.Join(t.TempDir(), "code.png")
	os.WriteFile(pngFile, png, 0o600)
	verify := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"verify"}, args...), &out, &errb)
		return out.String() + errb.String(), err
	}
	for _, arg := range []string{code, pngFile} {
		out, err := verify("--audience", "bar.example", arg)
		if err != nil || !strings.Contains(out, `"Grace Hopper"`) || !strings.Contains(out, "genuine") {
			t.Fatalf("verify %s: %v\n%s", filepath.Base(arg), err, out)
		}
	}
	if out, err := verify("--audience", "casino.example", code); err == nil || !strings.Contains(err.Error(), "another audience") {
		t.Fatalf("wrong audience: %v\n%s", err, out)
	}
	i := strings.LastIndex(code, ".") + 3
	bad := code[:i] + map[bool]string{true: "B", false: "A"}[code[i] == 'A'] + code[i+1:]
	if _, err := verify(bad); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("tampered: %v", err)
	}
	env.Clock.Set(time.Now().Add(-100 * 24 * time.Hour)) // a code from long ago
	sh2, _ := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "old.example", InfoField: "name"})
	old, _ := env.App.ShareCode(ctx, p, sh2.ShareID)
	if _, err := verify(old); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired: %v", err)
	}
}

// TestHomeNodeServesWhileThePhoneSleeps is the deployment users will
// have (issue 14): a home node (serve, no window) and a phone paired to it
// with no public URL of its own. On the phone the user sets the profile's
// public URL to the home node and makes a share, a doctor's link and the
// emergency setup; every code the phone shows points at the home node.
// With the phone stopped, the home node answers the share's verify URL,
// the doctor's link (with its passcode) and a responder's grant, and the
// trusted contact's e-mail reaches a real SMTP server.
func TestHomeNodeServesWhileThePhoneSleeps(t *testing.T) {
	relay := mailtest.Start(t, mailtest.Options{})
	home, homeLogs := serveProcess(t, "home", "--smtp-addr", relay.Addr, "--smtp-from", "profile@example.org")
	phone, _, stopPhone := serveProcessStop(t, "phone")
	const pw = "a long enough password"
	homeURL := strings.TrimSuffix(home, "/api/v1")

	code, reg := p2pCall(t, "POST", home+"/users/register", map[string]any{"email": "ida@example.org", "password": pw, "name": "Ida Home"})
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	code, pc := p2pCall(t, "POST", home+"/devices/pair-code", map[string]any{"token": reg["token"], "name": "home node"})
	if code != 201 {
		t.Fatalf("pair-code: %d %v", code, pc)
	}
	code, joined := p2pCall(t, "POST", phone+"/devices/join", map[string]any{"code": pc["code"], "password": pw, "name": "phone"})
	if code != 201 {
		t.Fatalf("join: %d %v", code, joined)
	}
	tok := joined["token"].(string)
	must := func(method, path string, body map[string]any, want int) map[string]any {
		t.Helper()
		body["token"] = tok
		code, out := p2pCall(t, method, phone+path, body)
		if code != want {
			t.Fatalf("%s %s on the phone: %d %v", method, path, code, out)
		}
		return out
	}
	set := must("PUT", "/profile/settings", map[string]any{"public_url": homeURL}, 200)
	if set["public_url_source"] != "profile" {
		t.Fatalf("settings: %v", set)
	}
	must("POST", "/profile/update-info", map[string]any{"updated_fields": map[string]any{"blood_type": "AB-"}}, 200)
	share := must("POST", "/profile/share-create", map[string]any{"service_id": "clinic.example", "info_field": "blood_type"}, 201)
	rec := must("POST", "/profile/health-records", map[string]any{"record_type": "allergies", "record_data": map[string]any{"substance": "latex"}}, 201)
	link := must("POST", "/profile/share-create-link", map[string]any{"health_records_info": "allergies", "doctor_email": "dr@example.org", "passcode": "river-stone-42"}, 201)
	em := must("POST", "/profile/emergency-access", map[string]any{"trusted_contacts": []string{"kin@example.org"}, "emergency_info": "type 1 diabetic", "criteria": map[string]any{"responders": "any"}, "info_field": []string{"blood_type"}}, 201)
	for what, u := range map[string]any{"verify_url": share["verify_url"], "access_link": link["access_link"], "emergency_url": em["emergency_url"]} {
		if s, _ := u.(string); !strings.HasPrefix(s, homeURL+"/api/v1/") && !strings.HasPrefix(s, homeURL+"/shl#shlink:/") {
			t.Fatalf("%s on the phone = %v, not the home node's", what, u)
		}
	}
	// Every QR code the phone shows decodes to the home node's URL.
	for _, q := range []string{"kind=share&id=" + share["share_id"].(string), "kind=link&id=" + link["link_id"].(string), "kind=emergency"} {
		res, err := http.Get(phone + "/profile/qr?token=" + tok + "&" + q)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := io.ReadAll(res.Body)
		res.Body.Close()
		text, err := qr.Decode(img)
		if err != nil || !(strings.HasPrefix(text, homeURL+"/api/v1/") || strings.HasPrefix(text, homeURL+"/shl#shlink:/")) {
			t.Fatalf("QR %s on the phone: %q %v", q, text, err)
		}
	}
	if rec["record_id"] == "" {
		t.Fatalf("record: %v", rec)
	}

	// The home node has it all (sync), then the phone goes to sleep.
	vt := share["verification_token"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, v := p2pCall(t, "GET", home+"/verify/"+vt, nil)
		if claims, _ := v["claims"].(map[string]any); code == 200 && claims["blood_type"] == "AB-" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the home node never had the share: %d %v\n%s", code, v, homeLogs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitHome := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("the home node never had %s\n%s", what, homeLogs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The doctor's link is a SMART Health Link: its manifest URL is in the
	// shlink, which must be the home node's.
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(link["shlink"].(string), "shlink:/"))
	var shl struct {
		URL  string `json:"url"`
		Flag string `json:"flag"`
	}
	if err != nil || json.Unmarshal(raw, &shl) != nil || !strings.HasPrefix(shl.URL, homeURL+"/api/v1/") || !strings.Contains(shl.Flag, "P") {
		t.Fatalf("shlink: %v %s", err, raw)
	}
	manifest := func(passcode string) (int, map[string]any) {
		return p2pCall(t, "POST", shl.URL, map[string]any{"recipient": "Dr. Home", "passcode": passcode})
	}
	waitHome("the doctor's link", func() bool {
		code, _ := manifest("river-stone-42")
		return code == 200
	})
	stopPhone()
	if res, err := http.Get(phone + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatal("the phone still answers")
	}

	code, v := p2pCall(t, "GET", home+"/verify/"+vt, nil)
	if claims, _ := v["claims"].(map[string]any); code != 200 || claims["blood_type"] != "AB-" {
		t.Fatalf("verify on the home node: %d %v", code, v)
	}
	code, l := manifest("river-stone-42")
	if files, _ := l["files"].([]any); code != 200 || len(files) != 1 {
		t.Fatalf("the doctor's link on the home node: %d %v", code, l)
	}
	if code, l := manifest("wrong"); code != 401 || l["remainingAttempts"] == nil {
		t.Fatalf("a wrong passcode: %d %v", code, l)
	}
	code, g := p2pCall(t, "POST", home+"/profile/emergency-access/grant", map[string]any{"responder_id": "EMT-9", "reason": "found unconscious", "email": "ida@example.org"})
	if code != 200 || g["emergency_info"] != "type 1 diabetic" {
		t.Fatalf("grant on the home node: %d %v", code, g)
	}
	if f, _ := g["profile_fields"].(map[string]any); f["blood_type"] != "AB-" {
		t.Fatalf("the grant's fields: %v", g)
	}
	m := relay.Wait(t, 1, 15*time.Second)
	var found bool
	for _, msg := range m {
		found = found || (msg.To[0] == "kin@example.org" && strings.Contains(msg.Text(), "found unconscious"))
	}
	if !found {
		t.Fatalf("no mail to the trusted contact: %+v", m)
	}
}

// lines is a goroutine-safe output sink.
type lines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRelayCommand: `spp relay` prints its full address (with /p2p/),
// keeps its identity in --data (the same peer id after a restart), opens
// no profile store there, and stops when its context ends.
func TestRelayCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	runOnce := func() string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out, logs := &lines{}, &lines{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"relay", "--listen", "/ip4/127.0.0.1/tcp/0", "--data", dir, "--max-reservations", "4"}, out, logs)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "\n") {
			select {
			case err := <-done:
				t.Fatalf("relay ended: %v\n%s", err, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("relay printed no address:\n%s", logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		addr := strings.TrimSpace(strings.Split(out.String(), "\n")[0])
		if !strings.HasPrefix(addr, "/ip4/127.0.0.1/tcp/") || !strings.Contains(addr, "/p2p/12D3Koo") {
			t.Fatalf("relay printed %q", addr)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("relay: %v\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("relay did not stop")
		}
		_, id, _ := strings.Cut(addr, "/p2p/")
		return id
	}
	first := runOnce()
	if again := runOnce(); again != first {
		t.Fatalf("peer id after a restart with --data: %s, want %s", again, first)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "relay.key" {
			t.Errorf("the relay wrote %s in its data directory: it keeps only its key", e.Name())
		}
	}
	if err := run(context.Background(), []string{"relay", "--max-circuits", "0"}, &lines{}, &lines{}); err == nil {
		t.Fatal("a zero limit was accepted")
	}
}

// TestProfilerOnlyOnLoopback: SPP_PPROF serves Go's profiles only on a
// loopback address; any other is refused before anything listens.
func TestProfilerOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060", "localhost:6060", "nonsense"} {
		if err := startProfiler(addr, log); err == nil {
			t.Errorf("%s: served", addr)
		}
	}
	if err := startProfiler("127.0.0.1:0", log); err != nil {
		t.Fatal(err)
	}
}

// The app and serve collect less often and run more Ps than cores than
// Go's defaults, unless the environment sets GOGC, GOMEMLIMIT or
// GOMAXPROCS, which then win.
func TestRuntimeDefaultsGiveWayToTheEnvironment(t *testing.T) {
	percent, limit, procs := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64), runtime.GOMAXPROCS(runtime.NumCPU())
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit); runtime.GOMAXPROCS(procs) })
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tuneRuntime(env(nil))
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent %d, want %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != memoryLimit {
		t.Errorf("memory limit %d, want %d", got, memoryLimit)
	}
	if got := runtime.GOMAXPROCS(runtime.NumCPU()); got != psPerCore*runtime.NumCPU() {
		t.Errorf("GOMAXPROCS %d, want %d", got, psPerCore*runtime.NumCPU())
	}
	tuneRuntime(env(map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB", "GOMAXPROCS": "1"}))
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
		t.Errorf("GOMAXPROCS set: changed to %d", got)
	}
	// Below the cores (a container's CPU limit, or set so): left alone.
	if runtime.NumCPU() > 1 {
		runtime.GOMAXPROCS(runtime.NumCPU() - 1)
		tuneRuntime(env(nil))
		if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU()-1 {
			t.Errorf("under a CPU limit: GOMAXPROCS %d, want %d", got, runtime.NumCPU()-1)
		}
	}
}
