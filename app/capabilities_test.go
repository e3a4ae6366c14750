package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// capScenario is a profile with one capability of every kind, alive or
// dead, and the tokens a third party could have held.
type capScenario struct {
	env    *storetest.Env
	p      *app.Principal
	tokens map[string]string // what → token
	secret []string          // plaintexts no token may reveal
}

func lastPathPart(u string) string { return u[strings.LastIndex(u, "/")+1:] }

func newCapScenario(t *testing.T) *capScenario {
	t.Helper()
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "victim@example.org")
	s := &capScenario{env: env, p: p, tokens: map[string]string{},
		secret: []string{"HIV-POSITIVE-SECRET", "+15550001111", "PENICILLIN-SECRET", "1980-01-02"}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550001111","hiv_status":"HIV-POSITIVE-SECRET","date_of_birth":"1980-01-02","motto":"carpe diem"}`))
	must(err)
	_, err = env.App.SetRing(ctx, p, app.RingRequest{Name: "restricted", Fields: []string{"hiv_status"}})
	must(err)
	_, err = env.App.SetRing(ctx, p, app.RingRequest{Name: "public", Fields: []string{"motto"}})
	must(err)
	_, _, err = env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"substance":"PENICILLIN-SECRET"}`))
	must(err)
	pub, err := env.App.SetPublic(ctx, p, json.RawMessage(`"hello"`), "true")
	must(err)
	s.tokens["public link"] = lastPathPart(pub)
	for _, name := range []string{"live share", "revoked share", "expired share"} {
		req := app.ShareRequest{ServiceID: strings.ReplaceAll(name, " ", "-") + ".example", InfoField: "age_over_18"}
		if name == "expired share" {
			req.ExpiresIn = time.Minute
		}
		sh, err := env.App.CreateShare(ctx, p, req)
		must(err)
		s.tokens[name] = sh.VerificationToken
	}
	_, err = env.App.RevokeAccess(ctx, p, "revoked-share.example")
	must(err)
	// Page links: their token is in the URL's path (a SMART Health Link's
	// view is sealed the same way; shl_test.go plays its protocol).
	link, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Page: true})
	must(err)
	s.tokens["live link"] = lastPathPart(link.URL)
	dead, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Passcode: "123456", Page: true})
	must(err)
	s.tokens["dead link"] = lastPathPart(dead.URL)
	for i := 0; i < app.LinkPasscodeTries; i++ {
		env.App.OpenLink(ctx, app.LinkOpen{Token: s.tokens["dead link"], Passcode: "000000"})
	}
	pc, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Passcode: "654321", Page: true})
	must(err)
	s.tokens["passcode link"] = lastPathPart(pc.URL)
	em, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{
		TrustedContacts: json.RawMessage(`["mum@example.org"]`), EmergencyInfo: json.RawMessage(`"diabetic"`),
		Criteria: json.RawMessage(`{"responders":"any"}`), InfoField: json.RawMessage(`["phone"]`)})
	must(err)
	s.tokens["emergency page"] = lastPathPart(em.URL)
	env.Clock.Advance(2 * time.Minute) // the expired share's time is up
	if _, err := env.App.Verify(ctx, s.tokens["expired share"]); kind(err) != app.KindGone {
		t.Fatalf("expired share: %v", err)
	}
	return s
}

// copyDB copies the database and its WAL, not the installation key: a
// backup, a stolen laptop image.
func copyDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	dst := t.TempDir()
	for _, f := range []string{store.DBFile, store.DBFile + "-wal", store.DBFile + "-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, store.InstallationKeyFile)); err == nil {
		t.Fatal("the copy has the installation key")
	}
	return emRaw(t, dst)
}

// allBlobs reads every BLOB of every table of the copy.
func allBlobs(t *testing.T, raw *sql.DB) [][]byte {
	t.Helper()
	rows, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var out [][]byte
	for _, tb := range tables {
		r, err := raw.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			r.Scan(ptrs...)
			for _, v := range vals {
				if b, ok := v.([]byte); ok && len(b) > 0 {
					out = append(out, b)
				}
			}
		}
		r.Close()
	}
	return out
}

// TestDatabaseAndTokenOpenNothing plays the thief of issue 10: the
// database (with its WAL) and every token a third party ever held — the
// published public link, live, revoked and expired shares, live, dead and
// passcode-protected health links, the emergency page — and the source.
// With the old design one token unwrapped the whole data key; now a token
// opens at most its own view, which holds only what the API shows it.
func TestDatabaseAndTokenOpenNothing(t *testing.T) {
	s := newCapScenario(t)
	raw := copyDB(t, s.env.Dir)
	blobs := allBlobs(t, raw)

	var ids []string
	for _, q := range []string{`SELECT DISTINCT id FROM cells`, `SELECT DISTINCT user_id FROM cells`} {
		rows, _ := raw.Query(q)
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
	}
	// Every key the thief can derive from the tokens, and every key those
	// unwrap (the old design's purposes, for every id in the database).
	var keys [][]byte
	for _, tok := range s.tokens {
		keys = append(keys, crypto.TokenKey(tok), app.ViewKeyForTest(tok, nil), crypto.DeriveSubkey([]byte(tok), "token-box"))
	}
	for round := 0; round < 2; round++ {
		for _, k := range keys {
			for _, b := range blobs {
				for _, id := range ids {
					for _, purpose := range []string{"dek/share/", "dek/public/", "dek/link/", "dek/session", "dek/sync/", "dek/key-login/", "signing-key/"} {
						if got, err := crypto.Unwrap(k, b, purpose+id); err == nil {
							t.Fatalf("a token's key unwraps a key (%s%s)", purpose, id)
							keys = append(keys, got)
						}
					}
				}
			}
		}
	}
	if bytes.Contains(bytes.Join(blobs, nil), s.p.DEK) {
		t.Fatal("the data key is in the database in clear")
	}
	// No sealed cell opens under anything a token gives.
	rows, err := raw.Query(`SELECT user_id, entity, id, field, value FROM cells WHERE value IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	sealed := 0
	for rows.Next() {
		var u, e, id, f string
		var v []byte
		rows.Scan(&u, &e, &id, &f, &v)
		sealed++
		for _, k := range keys {
			if _, err := crypto.Open(k, v, []byte("cell\x00"+u+"\x00"+e+"\x00"+id+"\x00"+f)); err == nil {
				t.Fatalf("a token opens the sealed cell %s/%s/%s", e, id, f)
			}
		}
	}
	rows.Close()
	if sealed < 10 {
		t.Fatalf("only %d sealed cells: the scenario is too small to mean anything", sealed)
	}
	// What each token's view shows is only what the API shows its holder.
	caps, err := raw.Query(`SELECT token_hash, user_id, kind, id, state, view FROM capabilities`)
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]string{}
	for caps.Next() {
		var hash, view []byte
		var u, k, id, state string
		caps.Scan(&hash, &u, &k, &id, &state, &view)
		for what, tok := range s.tokens {
			if !bytes.Equal(crypto.TokenIndex(tok), hash) {
				continue
			}
			if view == nil {
				views[what] = "(none: " + state + ")"
				continue
			}
			pt, err := crypto.Open(app.ViewKeyForTest(tok, nil), view, app.ViewADForTest(u, k, id))
			if err != nil {
				views[what] = "(sealed beyond the token)"
				continue
			}
			views[what] = string(pt)
		}
	}
	caps.Close()
	for what, v := range views {
		for _, sec := range s.secret {
			if strings.Contains(v, sec) && !(what == "live link" && sec == "PENICILLIN-SECRET") {
				t.Errorf("the %s's view shows %q: %s", what, sec, v)
			}
		}
	}
	for _, dead := range []string{"revoked share", "expired share", "dead link"} {
		if !strings.HasPrefix(views[dead], "(none") {
			t.Errorf("the %s still has a view: %s", dead, views[dead])
		}
	}
	if views["passcode link"] != "(sealed beyond the token)" {
		t.Errorf("a passcode link's view opens with the token alone: %s", views["passcode link"])
	}
	if views["emergency page"] != "(sealed beyond the token)" {
		t.Errorf("the emergency page token opens its view: %s", views["emergency page"])
	}
	if !strings.Contains(views["live share"], `"value":true`) || !strings.Contains(views["public link"], "carpe diem") {
		t.Errorf("live views: share %s, public %s", views["live share"], views["public link"])
	}
}

// TestDeadCapabilityLeavesNothing: once a capability is revoked, expires
// or dies, its view is gone from the database and, after a checkpoint,
// from the WAL: the bytes it had are nowhere in the files.
func TestDeadCapabilityLeavesNothing(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "gone@example.org")
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550002222"}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"substance":"latex"}`)); err != nil {
		t.Fatal(err)
	}
	raw := emRaw(t, env.Dir)
	viewOf := func(tok string) []byte {
		var v []byte
		raw.QueryRow(`SELECT view FROM capabilities WHERE token_hash = ?`, crypto.TokenIndex(tok)).Scan(&v)
		return v
	}
	revoked, _ := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "gone.example", InfoField: "phone"})
	expiring, _ := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "brief.example", InfoField: "phone", ExpiresIn: time.Minute})
	link, _ := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Passcode: "246810", Page: true})
	linkTok := lastPathPart(link.URL)
	before := map[string][]byte{"revoked": viewOf(revoked.VerificationToken), "expired": viewOf(expiring.VerificationToken), "locked": viewOf(linkTok)}
	for what, v := range before {
		if len(v) == 0 {
			t.Fatalf("%s: no view to begin with", what)
		}
	}
	if _, err := env.App.RevokeAccess(ctx, p, "gone.example"); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(2 * time.Minute)
	if _, err := env.DB.ExpireCapabilities(ctx, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < app.LinkPasscodeTries; i++ {
		env.App.OpenLink(ctx, app.LinkOpen{Token: linkTok, Passcode: "999999"})
	}
	if _, err := env.App.OpenLink(ctx, app.LinkOpen{Token: linkTok, Passcode: "246810"}); kind(err) != app.KindGone {
		t.Fatalf("the right passcode after the lock: %v", err)
	}
	if err := env.DB.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	var files []byte
	for _, f := range []string{store.DBFile, store.DBFile + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(env.Dir, f))
		files = append(files, b...)
	}
	for what, v := range before {
		if viewOf(map[string]string{"revoked": revoked.VerificationToken, "expired": expiring.VerificationToken, "locked": linkTok}[what]) != nil {
			t.Errorf("%s: the capability still has a view", what)
		}
		if bytes.Contains(files, v[len(v)-32:]) {
			t.Errorf("%s: the old view's bytes are still in the files", what)
		}
	}
	// The API still tells them apart.
	if _, err := env.App.Verify(ctx, revoked.VerificationToken); app.AsError(err).Code != "verification_token_revoked" {
		t.Errorf("revoked: %v", err)
	}
	if _, err := env.App.Verify(ctx, expiring.VerificationToken); app.AsError(err).Code != "verification_token_expired" {
		t.Errorf("expired: %v", err)
	}
}

// TestViewsFollowEveryWrite: a capability reads what its holder may see
// now: an update, a ring move and an operation from another device all
// show on the next read.
func TestViewsFollowEveryWrite(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "live@example.org")
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550003333","date_of_birth":"2000-06-15"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	age, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar", InfoField: "age_over_18"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(tok, field, want string) {
		t.Helper()
		v, err := env.App.Verify(ctx, tok)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if got := string(v.Claims[field]); got != want {
			t.Fatalf("%s = %s, want %s", field, got, want)
		}
	}
	check(sh.VerificationToken, "phone", `"+15550003333"`)
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550004444"}`)); err != nil {
		t.Fatal(err)
	}
	check(sh.VerificationToken, "phone", `"+15550004444"`)
	// Restricting the date of birth stops the age claim at once.
	if _, err := env.App.SetRing(ctx, p, app.RingRequest{Name: "restricted", Fields: []string{"date_of_birth"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Verify(ctx, age.VerificationToken); app.AsError(err).Code != "field_restricted" {
		t.Fatalf("age claim with a restricted date of birth: %v", err)
	}
	if _, err := env.App.SetRing(ctx, p, app.RingRequest{Name: "private", Fields: []string{"date_of_birth"}}); err != nil {
		t.Fatal(err)
	}
	check(age.VerificationToken, "age_over_18", "true")
	// An operation from another device of the user (sync) re-derives too.
	var op app.Op
	err = env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		ops, err := env.DB.OpsSince(ctx, p.UserID, map[string]int64{}, 10000)
		for _, o := range ops {
			if o.Entity == app.EntityField && o.ID == app.FieldIDForTest(p.DEK, "phone") && o.Field == "value" {
				op = o
			}
		}
		return err
	})
	if err != nil || op.Value == nil {
		t.Fatalf("no phone op: %v", err)
	}
	other := storetest.New(t, app.Config{})
	// Re-seal the value for the other device's op: same user, same place.
	pt := []byte(`"+15550005555"`)
	sealedValue, err := crypto.Seal(p.DEK, pt, []byte("cell\x00"+p.UserID+"\x00field\x00"+op.ID+"\x00value"))
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	res, err := env.DB.ApplyOps(ctx, p.UserID, p.DEK, []app.Op{{Device: "another-device-of-the-user", Counter: 1, HLC: op.HLC + 1<<20, UserID: p.UserID, Entity: app.EntityField, ID: op.ID, Field: "value", Value: sealedValue}})
	if err != nil || res.Applied != 1 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	check(sh.VerificationToken, "phone", `"+15550005555"`)
}

// TestAccountCannotShadowAnother is the attack of issue 10 §2: an
// attacker imports a crafted container holding the victim's published
// public-link and emergency-page token hashes, and a share's token index,
// under an id that sorts first, and offers the same cells by sync. Both
// are refused, change nothing, and the victim's pages and share keep
// serving the victim. A share's timed token under its bare SHA-256 (the
// form an earlier version looked it up by) is a value no lookup here
// makes: the share still answers for the victim.
func TestAccountCannotShadowAnother(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	victim := newUser(t, env, "victim@example.org")
	pub, err := env.App.SetPublic(ctx, victim, json.RawMessage(`"the victim's own words"`), "true")
	if err != nil {
		t.Fatal(err)
	}
	em, err := env.App.SetupEmergency(ctx, victim, app.EmergencySetup{
		TrustedContacts: json.RawMessage(`["mum@example.org"]`), EmergencyInfo: json.RawMessage(`"victim: type 1 diabetic"`),
		Criteria: json.RawMessage(`{"responders":"any"}`)})
	if err != nil {
		t.Fatal(err)
	}
	pubTok, emTok := lastPathPart(pub), lastPathPart(em.URL)
	if _, err := env.App.UpdateInfo(ctx, victim, json.RawMessage(`{"phone":"+15550100"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := env.App.CreateShare(ctx, victim, app.ShareRequest{ServiceID: "shop.example", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	shareTok := sh.VerificationToken
	before, err := env.App.Verify(ctx, shareTok)
	if err != nil {
		t.Fatal(err)
	}

	attackerDEK, _ := crypto.NewKey()
	attackerID, attackerProfile := "00000000-0000-7000-8000-000000000000", "00000000-0000-7000-8000-000000000001"
	cells := []app.Cell{
		{Entity: app.EntityPublic, ID: victim.ProfileID, Field: "token_hash", Clear: crypto.HashToken(pubTok)},
		{Entity: app.EntityPublic, ID: victim.ProfileID, Field: "token", Value: []byte(pubTok)},
		{Entity: app.EntityPublic, ID: victim.ProfileID, Field: "info", Value: []byte(`"ATTACKER TEXT"`)},
		{Entity: app.EntityPublic, ID: victim.ProfileID, Field: "visible", Clear: []byte("true")},
		{Entity: app.EntityEmergency, ID: "00000000-0000-7000-8000-000000000002", Field: "token_hash", Clear: crypto.HashToken(emTok)},
		{Entity: app.EntityShare, ID: "00000000-0000-7000-8000-000000000003", Field: "token_hash", Clear: crypto.TokenIndex(shareTok)},
	}
	container, err := app.CraftContainerForTest(attackerID, attackerProfile, "attacker@example.org", attackerDEK, cells, "attacker passphrase")
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.App.Import(ctx, container, "attacker passphrase", "a long enough password")
	if app.AsError(err).Code != "taken" {
		t.Fatalf("crafted import: %v", err)
	}
	if _, err := env.DB.Account(ctx, attackerID); err == nil {
		t.Fatal("the refused import left an account behind")
	}
	// A profile id is the victim's alone too.
	cont2, _ := app.CraftContainerForTest(attackerID, victim.ProfileID, "attacker@example.org", attackerDEK, nil, "attacker passphrase")
	if _, err := env.App.Import(ctx, cont2, "attacker passphrase", "a long enough password"); err == nil {
		t.Fatal("an import claiming the victim's profile id was accepted")
	}

	// The same cells by sync, for an account of the attacker's own.
	attacker := newUser(t, env, "attacker@example.org")
	var ops []app.Op
	hlc := uint64(env.Clock.Now().UnixMilli()+1) << 16
	for i, c := range cells {
		op := app.Op{Device: "attackers-device", Counter: int64(i + 1), HLC: hlc + uint64(i), UserID: attacker.UserID, Entity: c.Entity, ID: c.ID, Field: c.Field, Clear: c.Clear}
		if c.Value != nil {
			op.Value, _ = crypto.Seal(attacker.DEK, c.Value, []byte("cell\x00"+attacker.UserID+"\x00"+c.Entity+"\x00"+c.ID+"\x00"+c.Field))
		}
		ops = append(ops, op)
	}
	res, err := env.DB.ApplyOps(ctx, attacker.UserID, attacker.DEK, ops)
	if err != nil {
		t.Fatal(err)
	}
	taken := 0
	for _, r := range res.Rejected {
		if r.Reason == "token hash owned by another account" {
			taken++
		}
	}
	if taken != 3 || res.Applied != len(ops)-3 {
		t.Fatalf("sync ops with the victim's token hashes: %+v, want their 3 token hashes refused and the rest applied", res)
	}
	// The share's token under its bare SHA-256, with the attacker's data:
	// taken here (a different value of the index), found by no lookup.
	_, shadow := shareBySync(t, env, attacker, "attackers-phone", "shop.example", shareTok, crypto.HashToken(shareTok))
	if res, err := env.DB.ApplyOps(ctx, attacker.UserID, attacker.DEK, shadow); err != nil || res.Applied != 3 {
		t.Fatalf("the attacker's share under the bare hash: %+v %v", res, err)
	}
	if c, err := env.DB.CapabilityByHash(ctx, crypto.HashToken(shareTok)); err != nil || c.UserID != attacker.UserID {
		t.Fatalf("the attacker's record under the bare hash: %+v %v", c, err)
	}
	if v, err := env.App.Verify(ctx, shareTok); err != nil || string(v.Claims["phone"]) != `"+15550100"` || v.Issuer != before.Issuer {
		t.Fatalf("the victim's share after the attacker's cells: %+v %v", v, err)
	}

	// The victim's pages still serve the victim, and only the victim.
	got, err := env.App.Public(ctx, pubTok)
	if err != nil || string(got.Info) != `"the victim's own words"` {
		t.Fatalf("victim's public page: %v %s", err, got.Info)
	}
	g, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "medic-1", Reason: "collapsed", PageToken: emTok, Client: "192.0.2.1"})
	if err != nil || string(g.EmergencyInfo) != `"victim: type 1 diabetic"` {
		t.Fatalf("victim's emergency page: %v %+v", err, g)
	}
	log, err := env.App.EmergencyLog(ctx, victim)
	if err != nil || len(log.Entries) != 1 {
		t.Fatalf("the grant is in the victim's log: %v %+v", err, log)
	}
}

// TestFieldNamesAreNotInClear: what a person keeps in the profile
// (hiv_status) is not said by the database, its WAL or the operation log,
// not even as a name: fields are keyed by a keyed hash, like services,
// and a share's dependency on a field is that hash too.
func TestFieldNamesAreNotInClear(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "names@example.org")
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"hiv_status_xq":"negative","date_of_birth":"1990-01-01"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "clinic.example", InfoField: "hiv_status_xq"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.SetRing(ctx, p, app.RingRequest{Name: "semi-private", Fields: []string{"hiv_status_xq"}}); err != nil {
		t.Fatal(err)
	}
	fields, err := env.App.Fields(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fields {
		found = found || (f.Name == "hiv_status_xq" && f.Ring == app.RingSemiPrivate)
	}
	if !found {
		t.Fatalf("the field is not listed by its name: %+v", fields)
	}
	var files []byte
	for _, f := range []string{store.DBFile, store.DBFile + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(env.Dir, f))
		files = append(files, b...)
	}
	if bytes.Contains(files, []byte("hiv_status_xq")) {
		t.Fatal("a field name is in the database files in clear")
	}
}

// TestLegacyFieldsMoveToKeyedIDs: a field written under its name (an
// older version, a device not yet upgraded) is moved to its keyed-hash
// id by the write that brings it, and reads as before.
func TestLegacyFieldsMoveToKeyedIDs(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "legacy@example.org")
	err := env.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityField, ID: "blood_type", Field: "value", Value: []byte(`"O+"`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		if c, _ := tx.Entity(app.EntityField, "blood_type"); len(c) != 0 {
			t.Errorf("the legacy entity is still there: %v", c)
		}
		c, ok, err := tx.Get(app.EntityField, app.FieldIDForTest(p.DEK, "blood_type"), "value")
		if err != nil || !ok || string(c.Value) != `"O+"` {
			t.Errorf("moved value: %q %v %v", c.Value, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestViewsDeriveFromSyncOneOperationAtATime: another device of the user
// receives the profile one operation per batch (the worst split sync can
// make), so entities arrive half made; every batch applies, and at the end
// the capabilities answer there as they do where they were made.
func TestViewsDeriveFromSyncOneOperationAtATime(t *testing.T) {
	a := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, a, "two@example.org")
	if _, err := a.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550006666"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := a.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"substance":"latex"}`)); err != nil {
		t.Fatal(err)
	}
	link, err := a.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Page: true})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := a.DB.OpsSince(ctx, p.UserID, map[string]int64{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.New(t, app.Config{})
	for i, op := range ops {
		if res, err := b.DB.ApplyOps(ctx, p.UserID, p.DEK, []app.Op{op}); err != nil || len(res.Rejected) != 0 {
			t.Fatalf("op %d (%s/%s): %+v %v", i, op.Entity, op.Field, res, err)
		}
	}
	v, err := b.App.Verify(ctx, sh.VerificationToken)
	if err != nil || string(v.Claims["phone"]) != `"+15550006666"` {
		t.Fatalf("verify on the other device: %v %+v", err, v)
	}
	lv, err := b.App.OpenLink(ctx, app.LinkOpen{Token: lastPathPart(link.URL)})
	if err != nil || len(lv.Records) != 1 {
		t.Fatalf("link on the other device: %v %+v", err, lv)
	}
}

// TestLockedLinkStaysLocked: a link locked after too many wrong passcodes
// stays locked when its view is derived again (a record added), whatever
// the cells say.
func TestLockedLinkStaysLocked(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "locked@example.org")
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"substance":"latex"}`)); err != nil {
		t.Fatal(err)
	}
	link, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Passcode: "135790", Page: true})
	if err != nil {
		t.Fatal(err)
	}
	tok := lastPathPart(link.URL)
	for i := 0; i < app.LinkPasscodeTries; i++ {
		env.App.OpenLink(ctx, app.LinkOpen{Token: tok, Passcode: "000000"})
	}
	// The lock's cell is lost (as if its write had not happened yet).
	if r, err := emRaw(t, env.Dir).Exec(`DELETE FROM cells WHERE entity = 'health_link' AND id = ? AND field = 'locked_at'`, link.ID); err != nil {
		t.Fatal(err)
	} else if n, _ := r.RowsAffected(); n != 1 {
		t.Fatalf("%d locked_at cells", n)
	}
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"substance":"nuts"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.OpenLink(ctx, app.LinkOpen{Token: tok, Passcode: "135790"}); app.AsError(err).Code != "link_locked" {
		t.Fatalf("the right passcode after the lock and a re-derive: %v", err)
	}
}

// TestPublicViewTakesEachChange: the public page shows the public ring's
// current values after a value change (taken into the view alone), a
// value removed, a field moved in or out and another device's change,
// exactly as the view derived from every field shows them.
func TestPublicViewTakesEachChange(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "public-live@example.org")
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"motto":"carpe diem","city":"Lyon","phone":"+15550001111"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.SetRing(ctx, p, app.RingRequest{Name: "public", Fields: []string{"motto", "city"}}); err != nil {
		t.Fatal(err)
	}
	pub, err := env.App.SetPublic(ctx, p, json.RawMessage(`"hello"`), "true")
	if err != nil {
		t.Fatal(err)
	}
	tok := lastPathPart(pub)
	page := func() string {
		t.Helper()
		got, err := env.App.Public(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		return string(b)
	}
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error {
			_, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"motto":"seize the day"}`))
			return err
		},
			`"city":"Lyon","handle":"grace","motto":"seize the day","name":"Grace Hopper"`},
		{func() error { _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"city":null}`)); return err },
			`"handle":"grace","motto":"seize the day","name":"Grace Hopper"`},
		{func() error {
			_, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550002222"}`))
			return err
		},
			`"handle":"grace","motto":"seize the day","name":"Grace Hopper"`},
		{func() error {
			_, err := env.App.SetRing(ctx, p, app.RingRequest{Name: "public", Fields: []string{"phone"}})
			return err
		}, `"handle":"grace","motto":"seize the day","name":"Grace Hopper","phone":"+15550002222"`},
		{func() error {
			_, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550003333","city":"Nice"}`))
			return err
		},
			`"city":"Nice","handle":"grace","motto":"seize the day","name":"Grace Hopper","phone":"+15550003333"`}, // city kept its ring
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		got := page()
		if !strings.Contains(got, `"Fields":{`+s.want+`}`) {
			t.Fatalf("step %d: %s, want fields %s", i, got, s.want)
		}
		// The view derived from every field says the same.
		if err := env.App.RederiveViewsForTest(ctx, p); err != nil {
			t.Fatal(err)
		}
		if again := page(); again != got {
			t.Fatalf("step %d: taken %s, derived in full %s", i, got, again)
		}
	}
}

// TestForgottenUserServesNothing: a join that breaks off after its first
// sync forgets what arrived (ForgetUser); the views the sync derived on
// this device go with it, so a token of that user opens nothing here.
func TestForgottenUserServesNothing(t *testing.T) {
	ctx := context.Background()
	home := storetest.New(t, app.Config{})
	p := newUser(t, home, "forgotten@example.org")
	if _, err := home.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550009999"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := home.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme.example", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := home.App.SetPublic(ctx, p, json.RawMessage(`"hello"`), "true")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := home.DB.OpsSince(ctx, p.UserID, map[string]int64{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	joining := storetest.New(t, app.Config{})
	if _, err := joining.DB.ApplyOps(ctx, p.UserID, p.DEK, ops); err != nil {
		t.Fatal(err)
	}
	if v, err := joining.App.Verify(ctx, sh.VerificationToken); err != nil || string(v.Claims["phone"]) != `"+15550009999"` {
		t.Fatalf("before forgetting, the synced share: %+v %v", v, err)
	}
	if err := joining.DB.ForgetUser(ctx, p.UserID); err != nil {
		t.Fatal(err)
	}
	if v, err := joining.App.Verify(ctx, sh.VerificationToken); app.AsError(err).Code != "unknown_verification_token" {
		t.Fatalf("a forgotten user's share still answers: %+v %v", v, err)
	}
	if got, err := joining.App.Public(ctx, lastPathPart(pub)); err == nil {
		t.Fatalf("a forgotten user's public page still answers: %+v", got)
	}
}

// TestLinkTokenApartFromItsHash: a link whose token and token_hash cells
// disagree (a rotation whose two operations arrive apart, or cells another
// device wrote wrongly) has no capability while they do: the operation is
// applied, the old token opens nothing (the record is found through the
// hash cell, which must be the token's), and the user's writes go on.
func TestLinkTokenApartFromItsHash(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "grace@example.org")
	link, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Page: true})
	if err != nil {
		t.Fatal(err)
	}
	token := lastPathPart(link.URL)
	if _, err := env.App.OpenLink(ctx, app.LinkOpen{Token: token, Client: "192.0.2.1"}); err != nil {
		t.Fatalf("the link before: %v", err)
	}
	other, _ := crypto.NewToken()
	sealed, err := crypto.Seal(p.DEK, []byte(other), []byte("cell\x00"+p.UserID+"\x00"+app.EntityHealthLink+"\x00"+link.ID+"\x00token"))
	if err != nil {
		t.Fatal(err)
	}
	hlc := uint64(env.Clock.Now().UnixMilli()+1) << 16
	res, err := env.DB.ApplyOps(ctx, p.UserID, p.DEK, []app.Op{{Device: "other-device", Counter: 1, HLC: hlc, UserID: p.UserID, Entity: app.EntityHealthLink, ID: link.ID, Field: "token", Value: sealed}})
	if err != nil || res.Applied != 1 {
		t.Fatalf("the token alone by sync: %+v %v", res, err)
	}
	for _, tok := range []string{token, other} {
		if _, err := env.App.OpenLink(ctx, app.LinkOpen{Token: tok, Client: "192.0.2.1"}); kind(err) != app.KindNotFound {
			t.Errorf("a token of the link whose cells disagree: %v, want not found", err)
		}
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550100"}`)); err != nil {
		t.Fatalf("a write after: %v", err)
	}
}

// TestShareStatusCannotBeVouchedFor: a share's status URL names only its
// id, which is public (the credential's jti). An account that imports a
// share of its own under the victim's share id (an account id chosen to
// sort first) cannot make the victim's revoked share answer "active":
// when records of two accounts name the id, the status is the least alive.
func TestShareStatusCannotBeVouchedFor(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	victim := userWithPhone(t, env)
	sh := phoneShare(t, env, victim)
	if _, err := env.App.RevokeAccess(ctx, victim, "shop.example"); err != nil {
		t.Fatal(err)
	}
	if s, err := env.App.ShareState(ctx, sh.ShareID); err != nil || s != app.CapRevoked {
		t.Fatalf("the revoked share's status: %q %v", s, err)
	}
	attackerDEK, _ := crypto.NewKey()
	token, _ := crypto.NewToken()
	now := time.Now().UTC()
	data, _ := json.Marshal(map[string]any{"service_id": "shop.example", "service": "s", "info_field": "phone", "token": token,
		"issued_at": now, "expires_at": now.Add(time.Hour)})
	container, err := app.CraftContainerForTest("00000000-0000-7000-8000-000000000000", "00000000-0000-7000-8000-000000000001", "attacker@example.org", attackerDEK, []app.Cell{
		{Entity: app.EntityShare, ID: sh.ShareID, Field: "token_hash", Clear: crypto.HashToken(token)},
		{Entity: app.EntityShare, ID: sh.ShareID, Field: "data", Value: data},
	}, "attacker passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Import(ctx, container, "attacker passphrase", "a long enough password"); err != nil {
		t.Fatalf("the attacker's import: %v", err)
	}
	if s, err := env.App.ShareState(ctx, sh.ShareID); err != nil || s != app.CapRevoked {
		t.Fatalf("the victim's revoked share's status after the import: %q %v, want revoked", s, err)
	}
}

// hashTakenBeforeItsShare is a victim with a phone and another account on
// the same installation that has taken the token hash (its public page's)
// of a share the victim's other device is about to send.
func hashTakenBeforeItsShare(t *testing.T, env *storetest.Env) (victim, attacker *app.Principal, token string, hash []byte) {
	t.Helper()
	victim = userWithPhone(t, env)
	attacker = newUser(t, env, "attacker@example.org")
	token, _ = crypto.NewTimedToken(env.Clock.Now())
	hash = crypto.TokenIndex(token)
	if err := env.DB.Update(context.Background(), attacker.UserID, attacker.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityPublic, ID: attacker.ProfileID, Field: "token_hash", Clear: hash})
	}); err != nil {
		t.Fatal(err)
	}
	return victim, attacker, token, hash
}

// TestRevokeReachesAShareWithoutItsHash: another account on this device
// took the token hash of a share before the share arrived by sync (its
// hash is refused; a two-cell share's data cell is applied, a one-cell
// share's record kept without the hash). The share serves nothing here,
// but its service still finds it: a revocation made here reaches it, and
// the revocation syncs to the device that made the share.
func TestRevokeReachesAShareWithoutItsHash(t *testing.T) {
	for _, form := range []string{"two cells", "one cell"} {
		t.Run(form, func(t *testing.T) {
			env := storetest.New(t, app.Config{})
			ctx := context.Background()
			victim, _, token, hash := hashTakenBeforeItsShare(t, env)
			// The share as the victim's other device made it.
			shareID, ops := shareBySync(t, env, victim, "victims-phone", "shop.example", token, hash)
			// The service, and the data cell or the record without the hash;
			// the hash refused, or its share's record kept without it.
			rejected, stripped := 1, 0
			if form == "one cell" {
				ops = asOneCell(t, victim, ops)
				rejected, stripped = 0, 1
			}
			res, err := env.DB.ApplyOps(ctx, victim.UserID, victim.DEK, ops)
			if err != nil || res.Applied != 2 || len(res.Rejected) != rejected || len(res.Stripped) != stripped {
				t.Fatalf("the share by sync: %+v %v", res, err)
			}
			// Sent again (a redelivery), it is a duplicate and nothing else.
			if res, err := env.DB.ApplyOps(ctx, victim.UserID, victim.DEK, ops); err != nil || res.Duplicate != len(ops)-rejected || len(res.Rejected) != rejected || len(res.Stripped) != 0 {
				t.Fatalf("the share by sync again: %+v %v", res, err)
			}
			if _, err := env.App.Verify(ctx, token); kind(err) != app.KindNotFound {
				t.Fatalf("the share without its hash here: %v, want not found", err)
			}
			n, err := env.App.RevokeAccess(ctx, victim, "shop.example")
			if err != nil || n != 1 {
				t.Fatalf("revoking the service: %d %v, want its one share", n, err)
			}
			err = env.DB.View(ctx, victim.UserID, victim.DEK, func(tx app.Tx) error {
				if _, ok, err := tx.Get(app.EntityShare, shareID, "revoked_at"); err != nil || !ok {
					t.Errorf("the share's revocation: there %v, %v", ok, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The attacker's account still holds its hash, and nothing of
			// the victim's share answers through it.
			if _, err := env.App.Verify(ctx, token); kind(err) != app.KindNotFound {
				t.Fatalf("after the revocation: %v, want not found", err)
			}
		})
	}
}

// TestTakenHashKeepsOnlyAShare: a token_hash operation with a sealed value
// under a hash another account here holds is kept without the hash only
// for a share (its record); anything else never has a sealed value beside
// its clear part, and is refused whole for that before its hash counts.
func TestTakenHashKeepsOnlyAShare(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	victim := newUser(t, env, "victim@example.org")
	attacker := newUser(t, env, "attacker@example.org")
	token, _ := crypto.NewTimedToken(env.Clock.Now())
	hash := crypto.TokenIndex(token)
	if err := env.DB.Update(ctx, attacker.UserID, attacker.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityPublic, ID: attacker.ProfileID, Field: "token_hash", Clear: hash})
	}); err != nil {
		t.Fatal(err)
	}
	sealed, _ := crypto.Seal(victim.DEK, []byte(`{"x":1}`), []byte("cell\x00"+victim.UserID+"\x00public\x00"+victim.ProfileID+"\x00token_hash"))
	op := app.Op{Device: "victims-phone", Counter: 1, HLC: uint64(env.Clock.Now().UnixMilli()) << 16, UserID: victim.UserID,
		Entity: app.EntityPublic, ID: victim.ProfileID, Field: "token_hash", Clear: hash, Value: sealed}
	res, err := env.DB.ApplyOps(ctx, victim.UserID, victim.DEK, []app.Op{op})
	if err != nil || res.Applied != 0 || len(res.Rejected) != 1 || res.Rejected[0].Reason != "clear part beside a sealed value" || len(res.Stripped) != 0 {
		t.Fatalf("a public token_hash with a value under a taken hash: %+v %v, want refused whole", res, err)
	}
}

// TestRefusedShareKeepsItsStatus: a share whose hash another account here
// holds arrives by sync, that account places a share of its own under the
// victim's share id, and the victim's revocation arrives from the device
// that made the share: the share's status here says revoked, whatever the
// other account's record says (in either form of the share).
func TestRefusedShareKeepsItsStatus(t *testing.T) {
	for _, form := range []string{"two cells", "one cell"} {
		t.Run(form, func(t *testing.T) {
			env := storetest.New(t, app.Config{})
			ctx := context.Background()
			victim, attacker, token, hash := hashTakenBeforeItsShare(t, env)
			shareID, ops := shareBySync(t, env, victim, "victims-phone", "shop.example", token, hash)
			if form == "one cell" {
				ops = asOneCell(t, victim, ops)
			}
			if _, err := env.DB.ApplyOps(ctx, victim.UserID, victim.DEK, ops); err != nil {
				t.Fatal(err)
			}
			// The attacker's own share, made under the victim's share id.
			atok, _ := crypto.NewTimedToken(env.Clock.Now())
			_, aops := shareBySyncAs(t, env, attacker, "attackers-phone", "shop.example", atok, crypto.TokenIndex(atok), shareID)
			if res, err := env.DB.ApplyOps(ctx, attacker.UserID, attacker.DEK, asOneCell(t, attacker, aops)); err != nil || len(res.Rejected) > 0 {
				t.Fatalf("the attacker's share: %+v %v", res, err)
			}
			rev := app.Op{Device: "victims-phone", Counter: 10, HLC: ops[len(ops)-1].HLC + 10, UserID: victim.UserID,
				Entity: app.EntityShare, ID: shareID, Field: "revoked_at", Clear: []byte(env.Clock.Now().UTC().Format(time.RFC3339Nano))}
			if res, err := env.DB.ApplyOps(ctx, victim.UserID, victim.DEK, []app.Op{rev}); err != nil || res.Applied != 1 {
				t.Fatalf("the revocation by sync: %+v %v", res, err)
			}
			if s, err := env.App.ShareState(ctx, shareID); err != nil || s != app.CapRevoked {
				t.Fatalf("the victim's revoked share's status: %q %v, want revoked", s, err)
			}
		})
	}
}

// TestRevokeAfterAnUpgrade: records derived before they named their
// service (a share made on another device, synced here before this device
// was upgraded) are found all the same: until the device's records are of
// this version, a service's shares are looked for among all shares, so
// the first write after the upgrade, a revocation, reaches them.
func TestRevokeAfterAnUpgrade(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := userWithPhone(t, env)
	sh := phoneShare(t, env, p)
	raw := emRaw(t, env.Dir)
	for _, q := range []string{`UPDATE capabilities SET owner = ''`, `UPDATE capability_builds SET version = 1`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := env.App.RevokeAccess(ctx, p, "shop.example"); err != nil || n != 1 {
		t.Fatalf("revoking the service: %d %v, want its one share", n, err)
	}
	if _, err := env.App.Verify(ctx, sh.VerificationToken); kind(err) != app.KindGone {
		t.Fatalf("the share after the revocation: %v, want gone", err)
	}
}

// TestOpeningIsSealedToTheStoredInboxKey: a link's opening is sealed to
// the user's inbox key as last seen, before its write (outside the
// writer's turn), and sealed again in the write when the stored key is
// another by then: every opening opens under the key stored when it was
// written, never under one only remembered.
func TestOpeningIsSealedToTheStoredInboxKey(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := newUser(t, env, "inbox@example.org")
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"substance":"latex"}`)); err != nil {
		t.Fatal(err)
	}
	link, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org", Page: true})
	if err != nil {
		t.Fatal(err)
	}
	open := func() {
		t.Helper()
		if _, err := env.App.OpenLink(ctx, app.LinkOpen{Token: lastPathPart(link.URL), Client: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	}
	openings := func() [][]byte {
		t.Helper()
		var sealed [][]byte
		if err := env.DB.View(ctx, p.UserID, nil, func(tx app.Tx) error {
			ids, err := tx.IDs(app.EntityLinkOpening)
			for _, id := range ids {
				c, _, err := tx.Get(app.EntityLinkOpening, id, "sealed")
				if err != nil {
					return err
				}
				sealed = append(sealed, c.Clear)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return sealed
	}
	open()
	open() // sealed ahead, under the key the first opening saw
	if list, err := env.App.HealthLinks(ctx, p); err != nil || len(list) != 1 || len(list[0].Openings) != 2 {
		t.Fatalf("links %+v %v, want one with two openings", list, err)
	}
	// Another key stored meanwhile (as if from another device): the
	// next opening is sealed to it, not to the one remembered.
	const other = "an inbox secret of another key"
	if err := env.DB.Update(ctx, p.UserID, nil, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityInbox, ID: "key", Field: "public", Clear: crypto.TokenBoxKey(other)})
	}); err != nil {
		t.Fatal(err)
	}
	before := len(openings())
	open()
	all := openings()
	opened := 0
	for _, s := range all {
		if _, err := crypto.OpenWithToken(other, s); err == nil {
			opened++
		}
	}
	if len(all) != before+1 || opened != 1 {
		t.Fatalf("%d openings, %d of them under the key stored last; want %d and 1", len(all), opened, before+1)
	}
}
