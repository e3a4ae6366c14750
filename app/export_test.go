package app_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store/storetest"
)

const exportPassword = "export test password"

// profileWithEverything registers a user with a login key and biometrics,
// then writes, through the store's Tx as features do, fields in every ring
// and entities of other kinds: a credential with an image, a share with a
// token hash and a token-wrapped data key, a service with a webhook secret.
// It returns the principal, the share's token and the login private key.
func profileWithEverything(t *testing.T, env *storetest.Env, email string) (*app.Principal, string, ed25519.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	auth, err := env.App.Register(ctx, app.Registration{
		Name: "Ada Lovelace", Email: email, Handle: "ada_" + strings.Split(email, "@")[0], Password: exportPassword,
		Biometrics: "FINGERPRINT-TEMPLATE-abc123", PublicKey: base64.StdEncoding.EncodeToString(pub),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := crypto.NewToken()
	wrapped, _ := crypto.Wrap(crypto.TokenKey(token), p.DEK, "share")
	secret := make([]byte, 32)
	rand.Read(secret)
	image := append([]byte("\x89PNG\r\n\x1a\n"), secret[:8]...)
	err = env.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		for _, c := range []app.Cell{
			{Entity: app.EntityField, ID: "blood_type", Field: "value", Value: []byte(`"O+"`)},
			{Entity: app.EntityField, ID: "blood_type", Field: "ring", Value: []byte(app.RingRestricted)},
			{Entity: app.EntityField, ID: "phone", Field: "value", Value: []byte(`"+15551234567"`)},
			{Entity: app.EntityField, ID: "phone", Field: "ring", Value: []byte(app.RingPrivate)},
			{Entity: app.EntityField, ID: "home_address", Field: "value", Value: []byte(`{"city":"Burnaby","street":"4024 Main"}`)},
			{Entity: app.EntityField, ID: "home_address", Field: "ring", Value: []byte(app.RingPrivate)},
			{Entity: app.EntityCredential, ID: "cred1", Field: "type", Value: []byte("Passport")},
			{Entity: app.EntityCredential, ID: "cred1", Field: "image", Value: image},
			{Entity: app.EntityCredential, ID: "cred1", Field: "created_at", Clear: []byte("2026-01-02T03:04:05Z")},
			{Entity: "share", ID: "share1", Field: "service_id", Value: []byte("acme-bank")},
			{Entity: "share", ID: "share1", Field: "token_hash", Clear: crypto.HashToken(token)},
			{Entity: "share", ID: "share1", Field: "token_dek", Clear: wrapped},
			{Entity: "share", ID: "share1", Field: "expires_at", Clear: []byte("2026-02-01T00:00:00Z")},
			{Entity: "share", ID: "share1", Field: "data", Value: []byte(`{"info_field":"name","token":"` + token + `","n":12345678901234567890}`)},
			{Entity: "service", ID: "acme-bank", Field: "webhook_url", Value: []byte("https://acme.example/hook")},
			{Entity: "service", ID: "acme-bank", Field: "webhook_secret", Value: secret},
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
	return p, token, priv
}

// encodings gives the forms in which bytes could leak into a JSON export.
func encodings(b []byte) map[string][]byte {
	return map[string][]byte{
		"raw":       b,
		"base64":    []byte(base64.StdEncoding.EncodeToString(b)),
		"rawbase64": []byte(base64.RawStdEncoding.EncodeToString(b)),
		"base64url": []byte(base64.RawURLEncoding.EncodeToString(b)),
		"hex":       []byte(hex.EncodeToString(b)),
	}
}

// cellsOf reads every live cell of a user as "entity/id/field" → value
// (sealed values opened, marked "sealed:") or clear value.
func cellsOf(t *testing.T, env *storetest.Env, userID string, dek []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := env.DB.View(context.Background(), userID, dek, func(tx app.Tx) error {
		kinds, err := tx.Kinds()
		if err != nil {
			return err
		}
		for _, k := range kinds {
			ids, err := tx.IDs(k)
			if err != nil {
				return err
			}
			for _, id := range ids {
				cells, err := tx.Entity(k, id)
				if err != nil {
					return err
				}
				for f, c := range cells {
					out[k+"/"+id+"/"+f] = "sealed:" + string(c.Value) + " clear:" + string(c.Clear)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exportedProfile is a JSON export as a reader of it sees it.
type exportedProfile struct {
	Format    string                               `json:"format"`
	Version   int                                  `json:"version"`
	UserID    string                               `json:"user_id"`
	ProfileID string                               `json:"profile_id"`
	Fields    map[string]map[string]any            `json:"fields"`
	Entities  map[string]map[string]map[string]any `json:"entities"`
	Withheld  []string                             `json:"withheld"`
}

// exportJSON is p's JSON export, as sent and as read back.
func exportJSON(t *testing.T, env *storetest.Env, p *app.Principal) ([]byte, exportedProfile) {
	t.Helper()
	e, err := env.App.Export(context.Background(), p, "", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(e.Profile)
	if err != nil {
		t.Fatal(err)
	}
	var got exportedProfile
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	return raw, got
}

func TestExportJSONHasEveryFieldAndNoSecret(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p, token, _ := profileWithEverything(t, env, "ada@example.org")

	raw, got := exportJSON(t, env, p)
	if got.Format != "spp-profile-export" || got.Version != 1 || got.UserID != p.UserID || got.ProfileID != p.ProfileID {
		t.Fatalf("header: %s", raw)
	}
	wantFields := map[string][2]any{
		"name":         {"Ada Lovelace", app.RingPublic},
		"email":        {"ada@example.org", app.RingSemiPrivate},
		"handle":       {"ada_ada", app.RingPublic},
		"blood_type":   {"O+", app.RingRestricted},
		"phone":        {"+15551234567", app.RingPrivate},
		"home_address": {map[string]any{"city": "Burnaby", "street": "4024 Main"}, app.RingPrivate},
	}
	if len(got.Fields) != len(wantFields) {
		t.Errorf("fields %v, want %d of them", got.Fields, len(wantFields))
	}
	for name, w := range wantFields {
		f := got.Fields[name]
		if !reflect.DeepEqual(f["value"], w[0]) || f["ring"] != w[1] {
			t.Errorf("field %s = %v, want value %v ring %v", name, f, w[0], w[1])
		}
	}

	cred := got.Entities["credential"]["cred1"]
	var image []byte
	env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		c, _, _ := tx.Get(app.EntityCredential, "cred1", "image")
		image = c.Value
		return nil
	})
	if cred["type"] != "Passport" || cred["created_at"] != "2026-01-02T03:04:05Z" ||
		!reflect.DeepEqual(cred["image"], map[string]any{"base64": base64.StdEncoding.EncodeToString(image)}) {
		t.Errorf("credential = %v", cred)
	}
	share := got.Entities["share"]["share1"]
	if share["service_id"] != "acme-bank" || share["expires_at"] != "2026-02-01T00:00:00Z" || len(share) != 3 ||
		!reflect.DeepEqual(share["data"], map[string]any{"info_field": "name", "n": 12345678901234567890.0}) ||
		!bytes.Contains(raw, []byte(`"n":12345678901234567890`)) {
		t.Errorf("share = %v (want service_id, expires_at and data without its token)", share)
	}
	if svc := got.Entities["service"]["acme-bank"]; svc["webhook_url"] != "https://acme.example/hook" || len(svc) != 1 {
		t.Errorf("service = %v", svc)
	}
	prof := got.Entities["profile"][p.ProfileID]
	if prof["user_id"] != p.UserID || prof["public_private_key_pair"] == nil || prof["signing_public"] == nil {
		t.Errorf("profile entity = %v", prof)
	}
	pid := p.ProfileID
	for _, w := range []string{"profile/" + pid + "/signing_key", "profile/" + pid + "/biometrics",
		"share/share1/token_hash", "share/share1/token_dek", "share/share1/data.token", "service/acme-bank/webhook_secret"} {
		found := false
		for _, h := range got.Withheld {
			found = found || h == w
		}
		if !found {
			t.Errorf("withheld %v lacks %s", got.Withheld, w)
		}
	}

	// No secret in any form.
	secrets := map[string][]byte{"dek": p.DEK, "token hash": crypto.HashToken(token), "token": []byte(token),
		"biometrics": []byte("FINGERPRINT-TEMPLATE-abc123")}
	env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		for name, ref := range map[string][3]string{
			"signing key seed": {"profile", pid, "signing_key"},
			"webhook secret":   {"service", "acme-bank", "webhook_secret"},
		} {
			c, ok, err := tx.Get(ref[0], ref[1], ref[2])
			if !ok || err != nil || len(c.Value) < 32 {
				t.Fatalf("%s: %v %v", name, ok, err)
			}
			secrets[name] = c.Value
		}
		c, _, _ := tx.Get("share", "share1", "token_dek")
		secrets["wrapped dek"] = c.Clear
		return nil
	})
	for name, s := range secrets {
		for enc, b := range encodings(s) {
			if bytes.Contains(raw, b) {
				t.Errorf("export holds the %s (%s)", name, enc)
			}
		}
	}
}

// TestExportJSONOpensTheEmergencyConfiguration: the emergency
// configuration, sealed under its own key, is exported opened; its key and
// page token are not.
func TestExportJSONOpensTheEmergencyConfiguration(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p, _, _ := profileWithEverything(t, env, "sos@example.org")
	acc, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{
		TrustedContacts: json.RawMessage(`["kin@example.org"]`),
		EmergencyInfo:   json.RawMessage(`"{HOME:Burnaby 4024}"`),
		Criteria:        json.RawMessage(`{"conditions":["unconsciousness"],"responders":"verified"}`),
		InfoField:       json.RawMessage(`["blood_type"]`),
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := env.App.Export(ctx, p, "json", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(e.Profile)
	var got struct {
		Emergency map[string]any `json:"emergency"`
		Withheld  []string       `json:"withheld"`
	}
	json.Unmarshal(raw, &got)
	em := got.Emergency
	if em["access_id"] != acc.AccessID || em["emergency_info"] != "{HOME:Burnaby 4024}" ||
		!reflect.DeepEqual(em["trusted_contacts"], []any{"kin@example.org"}) || !reflect.DeepEqual(em["info_field"], []any{"blood_type"}) ||
		!reflect.DeepEqual(em["criteria"], map[string]any{"responders": "verified", "conditions": []any{"unconsciousness"}}) {
		t.Fatalf("emergency = %v", em)
	}
	token := acc.URL[strings.LastIndex(acc.URL, "/")+1:]
	if bytes.Contains(raw, []byte(token)) {
		t.Error("the emergency page token is in the export")
	}
	var ek []byte
	env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		c, _, _ := tx.Get(app.EntityEmergency, acc.AccessID, "key")
		ek = c.Value
		return nil
	})
	for enc, b := range encodings(ek) {
		if len(ek) == 0 || bytes.Contains(raw, b) {
			t.Errorf("the emergency key is in the export (%s)", enc)
		}
	}
}

func TestExportRefusesBadFormatAndPassphrase(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p, _, _ := profileWithEverything(t, env, "bad@example.org")
	for _, c := range []struct {
		format, passphrase, code, msg string
	}{
		{"xml", "a good long passphrase", "invalid_format", "format must be json or container!"},
		{"container", "", "missing_parameter", "passphrase must exist!"},
		{"container", "short", "weak_passphrase", "passphrase is too weak!"},
		{"container", "password", "weak_passphrase", "passphrase is too weak!"},
		{"container", strings.Repeat("x", 1025), "weak_passphrase", "passphrase is too weak!"},
	} {
		_, err := env.App.Export(ctx, p, c.format, c.passphrase)
		var e *app.Error
		if !errors.As(err, &e) || e.Kind != app.KindInvalid || e.Code != c.code || e.Message != c.msg {
			t.Errorf("Export(%q, %d chars) = %v, want %s", c.format, len(c.passphrase), err, c.code)
		}
	}
	if e, err := env.App.Export(ctx, p, " JSON ", ""); err != nil || e.Profile == nil {
		t.Errorf("format JSON: %v", err)
	}
}

// header reads a container's clear header (format: magic, version, length,
// JSON).
func header(t *testing.T, c []byte) map[string]any {
	t.Helper()
	if string(c[:4]) != "SPPC" || c[4] != 1 {
		t.Fatalf("container starts %q", c[:5])
	}
	n := int(binary.BigEndian.Uint16(c[5:7]))
	var h map[string]any
	if err := json.Unmarshal(c[7:7+n], &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestContainerRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := storetest.New(t, app.Config{})
	p, token, priv := profileWithEverything(t, a, "round@example.org")
	if _, err := a.App.SetupEmergency(ctx, p, app.EmergencySetup{
		TrustedContacts: json.RawMessage(`["kin@example.org"]`), EmergencyInfo: json.RawMessage(`{"allergies":["penicillin"]}`),
		Criteria: json.RawMessage(`{"responders":"any"}`),
	}); err != nil {
		t.Fatal(err)
	}
	emA, err := a.App.EmergencyConfig(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	// A share as this version makes it: one cell, hash and record.
	sh, err := a.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "shop.example", InfoField: "name"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := a.App.Export(ctx, p, "container", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	h := header(t, e.Container)
	fast, _ := crypto.NewKDFParams(storetest.FastKDF)
	if kdf := h["kdf"].(string); !strings.HasPrefix(kdf, strings.SplitN(fast.String(), "$", 4)[0]+"$v=19$m=64,t=1,p=1$") {
		t.Errorf("container kdf %q: not the configured (test) cost", kdf)
	}
	// v=3: an installation that reads only v=1 (and would look timed share
	// tokens up by SHA-256 alone) or v=2 (and would wait for a share's
	// "data" cell) refuses it.
	if h["content"] != "spp-profile-snapshot+json;v=3" {
		t.Errorf("container content %v, want v=3", h["content"])
	}
	if h["cipher"] != "xchacha20-poly1305" {
		t.Errorf("header %v", h)
	}
	for enc, b := range encodings([]byte("Ada Lovelace")) {
		if bytes.Contains(e.Container, b) {
			t.Errorf("container shows a field value (%s)", enc)
		}
	}

	b := storetest.New(t, app.Config{})
	newPassword := "a brand new device password"
	// Every form a user may hold the container in is accepted.
	for i, form := range [][]byte{
		[]byte(base64.StdEncoding.EncodeToString(e.Container) + "\n"),
		[]byte(`{"exported_data":"` + base64.StdEncoding.EncodeToString(e.Container) + `","status":"success"}`),
		e.Container,
	} {
		if i > 0 {
			b = storetest.New(t, app.Config{})
		}
		im, err := b.App.Import(ctx, form, "correct horse battery staple", newPassword)
		if err != nil {
			t.Fatalf("form %d: %v", i, err)
		}
		if im.UserID != p.UserID || im.ProfileID != p.ProfileID || im.Email != "round@example.org" {
			t.Fatalf("imported %+v", im)
		}
	}

	// The share answers there, and its cell came over whole.
	if v, err := b.App.Verify(ctx, sh.VerificationToken); err != nil || string(v.Claims["name"]) != `"Ada Lovelace"` {
		t.Fatalf("the share on the importing installation: %+v %v", v, err)
	}

	// Emergency access works on B at once, before any sign-in there.
	g, err := b.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "medic-7", Reason: "unconscious", Email: "round@example.org", Client: "192.0.2.1"})
	if err != nil || string(g.EmergencyInfo) != `{"allergies":["penicillin"]}` {
		t.Fatalf("emergency grant on B: %v", err)
	}
	// The new password signs in; the old one does not.
	if _, err := b.App.Login(ctx, "round@example.org", exportPassword); err == nil {
		t.Fatal("the exporting device's password signs in on the importing one")
	}
	auth, err := b.App.Login(ctx, "ROUND@example.org", newPassword)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	if pb.UserID != p.UserID || pb.ProfileID != p.ProfileID || !bytes.Equal(pb.DEK, p.DEK) {
		t.Fatal("not the same user, profile and data key")
	}
	// Every cell came across, sealed and clear alike (the grant's record,
	// written on B since, aside).
	cb := cellsOf(t, b, pb.UserID, pb.DEK)
	for k := range cb {
		if strings.HasPrefix(k, app.EntityEmergencyGrant+"/") {
			delete(cb, k)
		}
	}
	if ca := cellsOf(t, a, p.UserID, p.DEK); !reflect.DeepEqual(ca, cb) {
		t.Fatalf("cells differ:\nA %v\nB %v", ca, cb)
	}
	// The emergency configuration opens there too.
	if emB, err := b.App.EmergencyConfig(ctx, pb); err != nil || !reflect.DeepEqual(emA, emB) {
		t.Errorf("emergency configuration on B = %+v, %v; want %+v", emB, err, emA)
	}
	// The share's capability still opens the data key with its token.
	b.DB.View(ctx, pb.UserID, pb.DEK, func(tx app.Tx) error {
		c, _, _ := tx.Get("share", "share1", "token_dek")
		if k, err := crypto.Unwrap(crypto.TokenKey(token), c.Clear, "share"); err != nil || !bytes.Equal(k, p.DEK) {
			t.Errorf("share capability lost: %v", err)
		}
		return nil
	})
	// Key login works with the same key, found under B's installation key.
	ch, _, err := b.App.Challenge(ctx, "round@example.org")
	if err != nil {
		t.Fatal(err)
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(ch)))
	if _, err := b.App.KeyLogin(ctx, "round@example.org", ch, sig); err != nil {
		t.Fatalf("key login after import: %v", err)
	}
	// And by handle the account is known: a third party finds it there.
	if _, _, err := b.App.NewRequest(ctx, "192.0.2.1", "shop.example", "email", "ada_round", ""); err != nil {
		t.Fatalf("request by handle after import: %v", err)
	}
	// Handles repeat: a second registration with it is no conflict, and
	// the handle then names no single profile.
	if _, err := b.App.Register(ctx, app.Registration{Email: "other@example.org", Handle: "ada_round", Password: "yet another password"}); err != nil {
		t.Fatalf("handle after import: %v", err)
	}
	if _, _, err := b.App.NewRequest(ctx, "192.0.2.1", "shop.example", "email", "ada_round", ""); !isCode(err, "ambiguous_handle") {
		t.Fatalf("request by a repeated handle: %v", err)
	}

	// Importing again is refused, as is an e-mail taken by someone else.
	if _, err := b.App.Import(ctx, e.Container, "correct horse battery staple", newPassword); !isCode(err, "profile_exists") {
		t.Fatalf("second import: %v", err)
	}
	c := storetest.New(t, app.Config{})
	if _, err := c.App.Register(ctx, app.Registration{Email: "round@example.org", Password: "someone else's password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.App.Import(ctx, e.Container, "correct horse battery staple", newPassword); !isCode(err, "email_exists") {
		t.Fatalf("import over a taken e-mail: %v", err)
	}
}

func isCode(err error, code string) bool {
	var e *app.Error
	return errors.As(err, &e) && e.Code == code
}

func TestImportRefusesWrongPassphraseTamperingAndWeakPasswords(t *testing.T) {
	ctx := context.Background()
	a := storetest.New(t, app.Config{})
	p, _, _ := profileWithEverything(t, a, "tamper@example.org")
	e, err := a.App.Export(ctx, p, "container", "the right passphrase")
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.New(t, app.Config{})
	flip := func(i int) []byte {
		c := bytes.Clone(e.Container)
		c[i] ^= 0x01
		return c
	}
	hdrEnd := 7 + int(binary.BigEndian.Uint16(e.Container[5:7]))
	// A header byte inside the created_at value: still parses, AD differs.
	at := bytes.Index(e.Container[:hdrEnd], []byte(`"created_at":"`)) + len(`"created_at":"`) + 3
	for _, c := range []struct {
		name       string
		container  []byte
		passphrase string
		password   string
		code       string
	}{
		{"wrong passphrase", e.Container, "the wrong passphrase", "new device password", "container_unreadable"},
		{"header changed (AD)", flip(at), "the right passphrase", "new device password", "container_unreadable"},
		{"ciphertext changed", flip(hdrEnd + 40), "the right passphrase", "new device password", "container_unreadable"},
		{"tag changed", flip(len(e.Container) - 1), "the right passphrase", "new device password", "container_unreadable"},
		{"truncated", e.Container[:len(e.Container)-20], "the right passphrase", "new device password", "container_unreadable"},
		{"magic changed", flip(0), "the right passphrase", "new device password", "invalid_container"},
		{"unknown version", func() []byte { c := bytes.Clone(e.Container); c[4] = 9; return c }(), "the right passphrase", "new device password", "invalid_container"},
		{"header cut", e.Container[:hdrEnd-1], "the right passphrase", "new device password", "invalid_container"},
		{"not a container", []byte("hello, world"), "the right passphrase", "new device password", "invalid_container"},
		{"no passphrase", e.Container, "", "new device password", "missing_parameter"},
		{"no password", e.Container, "the right passphrase", "", "missing_parameter"},
		{"weak password", e.Container, "the right passphrase", "short", "weak_password"},
		{"password is the e-mail", e.Container, "the right passphrase", "tamper@example.org", "weak_password"},
	} {
		_, err := b.App.Import(ctx, c.container, c.passphrase, c.password)
		var ae *app.Error
		if !errors.As(err, &ae) || ae.Code != c.code || ae.Kind == app.KindInternal {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	accts, err := b.DB.Accounts(ctx)
	if err != nil || len(accts) != 0 {
		t.Fatalf("a failed import left accounts: %v %v", accts, err)
	}
	if _, err := b.App.Import(ctx, e.Container, "the right passphrase", "new device password"); err != nil {
		t.Fatalf("the untouched container: %v", err)
	}
}

// BenchmarkExportContainer measures a container export at the production
// Argon2id cost, which dominates it.
func BenchmarkExportContainer(b *testing.B) {
	env := storetest.New(b, app.Config{})
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Name: "Bench", Email: "bench@example.org", Password: exportPassword})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	err = env.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		for i := range 100 {
			if err := tx.Put(app.Cell{Entity: app.EntityField, ID: fmt.Sprintf("field_%d", i), Field: "value", Value: []byte(`"some value"`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, kdf := range []struct {
		name string
		p    crypto.KDFParams
	}{{"DefaultKDF", crypto.DefaultKDF}, {"FastKDF", storetest.FastKDF}} {
		prod := storetest.Open(b, env.Dir, app.Config{KDF: kdf.p})
		b.Run(kdf.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := prod.App.Export(ctx, p, "container", "bench passphrase 123"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
