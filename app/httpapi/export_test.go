package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// putFields writes fields with their rings straight through the store, as
// the features that own them do.
func (e *env) putFields(t testing.TB, token string, fields map[string][2]string) {
	t.Helper()
	ctx := context.Background()
	p, err := e.App.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	err = e.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		for name, vr := range fields {
			v, _ := json.Marshal(vr[0])
			if err := tx.Put(app.Cell{Entity: app.EntityField, ID: name, Field: "value", Value: v}); err != nil {
				return err
			}
			if err := tx.Put(app.Cell{Entity: app.EntityField, ID: name, Field: "ring", Value: []byte(vr[1])}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExportJSONOverHTTP(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "export@example.org", "handle", "exporter", "biometrics", "TEMPLATE-xyz-987").str("token")
	e.putFields(t, tok, map[string][2]string{
		"blood_type": {"AB-", app.RingRestricted},
		"phone":      {"+15550001111", app.RingPrivate},
	})

	check := func(r resp) {
		t.Helper()
		want(t, r, 200, "success", "")
		data, ok := r.Body["exported_data"].(map[string]any)
		if !ok {
			t.Fatalf("exported_data is not an object: %s", r.Raw)
		}
		fields := data["fields"].(map[string]any)
		for name, w := range map[string][2]string{
			"name": {"Ada Lovelace", "public"}, "email": {"export@example.org", "semi-private"}, "handle": {"exporter", "public"},
			"blood_type": {"AB-", "restricted"}, "phone": {"+15550001111", "private"},
		} {
			f, _ := fields[name].(map[string]any)
			if f["value"] != w[0] || f["ring"] != w[1] {
				t.Errorf("field %s = %v, want %v", name, f, w)
			}
		}
		if bytes.Contains(r.Raw, []byte("TEMPLATE-xyz-987")) {
			t.Error("biometrics exported")
		}
	}
	check(e.form(t, "POST", "/api/v1/profile/export", "token", tok))
	check(e.form(t, "GET", "/api/v1/profile/export", "token", tok, "format", "json"))
	check(e.json(t, "POST", "/api/v1/profile/export", map[string]any{"format": "json"}, "Authorization", "Bearer "+tok))
	check(e.multipart(t, "POST", "/api/v1/profile/export", "token", tok))
}

func TestExportErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "export-errors@example.org").str("token")
	want(t, e.form(t, "POST", "/api/v1/profile/export"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", "/api/v1/profile/export", "token", "nope", "format", "xml"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", "/api/v1/profile/export", "token", tok, "format", "xml"), 400, "format must be json or container!", "invalid_format")
	want(t, e.form(t, "POST", "/api/v1/profile/export", "token", tok, "format", "container"), 400, "passphrase must exist!", "missing_parameter")
	want(t, e.form(t, "POST", "/api/v1/profile/export", "token", tok, "format", "container", "passphrase", "1234567"), 400, "passphrase is too weak!", "weak_passphrase")
	want(t, e.form(t, "PUT", "/api/v1/profile/export", "token", tok), 405, "post required", "method_not_allowed")
	e.Clock.Advance(25 * time.Hour)
	want(t, e.form(t, "POST", "/api/v1/profile/export", "token", tok), 401, "token has expired!", "token_expired")
}

func TestExportContainerOverHTTP(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "container@example.org").str("token")
	r := e.json(t, "POST", "/api/v1/profile/export", map[string]any{"token": tok, "format": "container", "passphrase": "a fine long passphrase"})
	want(t, r, 200, "success", "")
	c, err := base64.StdEncoding.DecodeString(r.str("exported_data"))
	if err != nil || !bytes.HasPrefix(c, []byte("SPPC\x01")) {
		t.Fatalf("exported_data is not a base64 container: %v %.40q", err, r.str("exported_data"))
	}
	if bytes.Contains(c, []byte("Ada Lovelace")) || bytes.Contains(c, []byte("container@example.org")) {
		t.Fatal("container holds clear profile values")
	}
	// The same data directory cannot take it back: the profile is here.
	_, err = e.App.Import(context.Background(), []byte(r.str("exported_data")), "a fine long passphrase", "another good password")
	if ae := app.AsError(err); ae.Code != "profile_exists" || ae.Kind != app.KindConflict {
		t.Fatalf("import into the same directory: %v", err)
	}
}

// TestExportOfAFullProfileHoldsNoCapability fills a profile through the
// API (fields, a ring, a service with a webhook, a share, a health record
// and a passcode-protected link to it, the public profile, emergency
// access) and exports it as JSON: the user's data is all there, and no
// token, webhook secret or passcode a third party could use.
func TestExportOfAFullProfileHoldsNoCapability(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "full@example.org", "handle", "fullprofile").str("token")
	ok := func(r resp) resp {
		t.Helper()
		if r.Code >= 300 || r.str("status") != "success" {
			t.Fatalf("%d %s", r.Code, r.Raw)
		}
		return r
	}
	auth := []string{"Authorization", "Bearer " + tok}
	ok(e.json(t, "POST", "/api/v1/profile/update-info", map[string]any{"updated_fields": map[string]any{"blood_type": "A+", "phone": "+15557654321"}}, auth...))
	ok(e.json(t, "POST", "/api/v1/profile/privilege-rings", map[string]any{"ring_name": "restricted", "assigned_data": []string{"blood_type"}}, auth...))
	secret := ok(e.json(t, "POST", "/api/v1/profile/services", map[string]any{"service_id": "acme", "name": "Acme", "webhook_url": "https://acme.example/hook"}, auth...)).str("webhook_secret")
	share := ok(e.json(t, "POST", "/api/v1/profile/share-create", map[string]any{"service_id": "acme", "info_field": "name"}, auth...)).str("verification_token")
	ok(e.json(t, "POST", "/api/v1/profile/health-records", map[string]any{"record_type": "allergies", "record_data": map[string]any{"substance": "penicillin-G-unique"}}, auth...))
	link := ok(e.json(t, "POST", "/api/v1/profile/share-create-link", map[string]any{"health_records_info": []string{"allergies"}, "doctor_email": "doc@example.org", "passcode": "kestrel-passcode-77", "link_format": "page"}, auth...)).str("access_link")
	public := ok(e.json(t, "POST", "/api/v1/profile/public", map[string]any{"public_info": "hello from the public page", "visibility": true}, auth...)).str("public_profile_link")
	emergency := ok(e.json(t, "POST", "/api/v1/profile/emergency-access", map[string]any{"trusted_contacts": []string{"kin@example.org"}, "emergency_info": "{HOME:Burnaby 4024}"}, auth...)).str("emergency_url")
	if secret == "" || share == "" || link == "" || public == "" || emergency == "" {
		t.Fatal("a capability was not returned")
	}

	r := ok(e.json(t, "POST", "/api/v1/profile/export", map[string]any{"format": "json"}, auth...))
	last := func(u string) string { return u[strings.LastIndex(u, "/")+1:] }
	for name, s := range map[string]string{
		"webhook secret": secret, "verification token": share, "health link token": last(link),
		"public link token": last(public), "emergency page token": last(emergency), "passcode": "kestrel-passcode-77",
		"session token": tok,
	} {
		if len(s) < 16 || bytes.Contains(r.Raw, []byte(s)) {
			t.Errorf("the export holds the %s (%q)", name, s)
		}
	}
	for _, s := range []string{`"blood_type":{"ring":"restricted","value":"A+"}`, "penicillin-G-unique", "hello from the public page",
		`"emergency_info":"{HOME:Burnaby 4024}"`, "doc@example.org", `"info_field":"name"`} {
		if !bytes.Contains(r.Raw, []byte(s)) {
			t.Errorf("the export lacks %s:\n%s", s, r.Raw)
		}
	}
}
