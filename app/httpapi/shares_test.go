package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/mr-tron/base58"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/app/webhook"
)

const notAgreed = "this user hasn\u2019t agreed to share information!"

// user registers a user and returns their token.
func (e *env) user(t testing.TB, email string, extra ...string) string {
	t.Helper()
	return e.register(t, email, extra...).str("token")
}

// setFields runs update-info with a JSON body.
func (e *env) setFields(t testing.TB, tok string, fields map[string]any) resp {
	t.Helper()
	r := e.json(t, "PUT", "/api/v1/profile/update-info", map[string]any{"token": tok, "updated_fields": fields})
	want(t, r, 200, "success", "")
	return r
}

// share runs share-create and returns the response.
func (e *env) share(t testing.TB, tok, service, field string, extra ...string) resp {
	t.Helper()
	r := e.form(t, "POST", "/api/v1/profile/share-create", append([]string{"token", tok, "service_id", service, "info_field", field}, extra...)...)
	want(t, r, 201, "success", "")
	return r
}

func (e *env) verify(t testing.TB, vt string) resp {
	t.Helper()
	return e.do(t, "GET", "/api/v1/verify/"+vt, "", nil)
}

func (e *env) ring(t testing.TB, tok, name string, assigned any, extra ...string) resp {
	t.Helper()
	obj := map[string]any{"token": tok, "ring_name": name, "assigned_data": assigned}
	for i := 0; i+1 < len(extra); i += 2 {
		obj[extra[i]] = extra[i+1]
	}
	r := e.json(t, "POST", "/api/v1/profile/privilege-rings", obj)
	want(t, r, 201, "success", "")
	return r
}

func claims(r resp) map[string]any { m, _ := r.Body["claims"].(map[string]any); return m }

// verifyCredential checks a compact JWS with a standard JOSE library
// against the issuer key /verify returns, and returns its payload.
func verifyCredential(t *testing.T, e *env, cred string, v resp, audience string) map[string]any {
	t.Helper()
	keyJSON, _ := json.Marshal(v.Body["issuer_key"])
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(keyJSON); err != nil {
		t.Fatalf("issuer_key is not a JWK: %v %s", err, keyJSON)
	}
	var kj map[string]any
	json.Unmarshal(keyJSON, &kj)
	if kj["kty"] != "OKP" || kj["crv"] != "Ed25519" || kj["x"] == "" {
		t.Fatalf("issuer_key %s", keyJSON)
	}
	pub, ok := jwk.Key.(ed25519.PublicKey)
	if !ok {
		t.Fatalf("issuer_key is %T", jwk.Key)
	}
	// The issuer is the did:key of the same key.
	did := v.str("issuer")
	raw, err := base58.Decode(strings.TrimPrefix(did, "did:key:z"))
	if !strings.HasPrefix(did, "did:key:z6Mk") || err != nil || !bytes.Equal(raw, append([]byte{0xed, 0x01}, pub...)) {
		t.Fatalf("issuer %q does not name the issuer key", did)
	}
	jws, err := jose.ParseSigned(cred, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("credential is not a JWS: %v", err)
	}
	if len(strings.Split(cred, ".")) != 3 || jws.Signatures[0].Header.Algorithm != "EdDSA" {
		t.Fatalf("not a compact EdDSA JWS: %s", cred)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("credential does not verify with the issuer key: %v", err)
	}
	tok, err := jwt.ParseSigned(cred, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var std jwt.Claims
	if err := tok.Claims(pub, &std); err != nil {
		t.Fatal(err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: did, AnyAudience: jwt.Audience{audience}, Time: e.Clock.Now()}, 0); err != nil {
		t.Fatalf("standard claims: %v", err)
	}
	if std.Expiry == nil || std.ID == "" || std.IssuedAt == nil {
		t.Fatalf("no expiry, id or issue time: %+v", std)
	}
	// Past its expiry the same library refuses it.
	if err := std.ValidateWithLeeway(jwt.Expected{Time: std.Expiry.Time().Add(time.Second)}, 0); err == nil {
		t.Fatal("credential never expires")
	}
	var p map[string]any
	json.Unmarshal(payload, &p)
	return p
}

// subject is the credentialSubject of a credential payload.
func subject(p map[string]any) map[string]any {
	vc, _ := p["vc"].(map[string]any)
	s, _ := vc["credentialSubject"].(map[string]any)
	return s
}

func TestShareCreateContract(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "share@example.org")
	path := "/api/v1/profile/share-create"

	want(t, e.form(t, "POST", path, "service_id", "acme", "info_field", "email"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", path, "token", "nope", "service_id", "acme", "info_field", "email"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", path, "token", tok), 400, "service_id,info_field must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme"), 400, "service_id,info_field must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "info_field", "email"), 400, "service_id,info_field must exist!", "missing_parameter")
	for _, bad := range []string{"e-mail", "1st", "two words", "x" + strings.Repeat("y", 64), "ü"} {
		want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", bad), 400, "info_field is not shareable!", "not_shareable")
	}
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "age"), 422, "no confirmed date of birth!", "no_date_of_birth")
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "age_over_21"), 422, "no confirmed date of birth!", "no_date_of_birth")
	for _, bad := range []string{"0", "-5", "soon", "7776001"} {
		r := e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "email", "expires_in", bad)
		want(t, r, 400, "expires_in must be a number of seconds from 1 to 7776000!", "invalid_expires_in")
	}
	e.ring(t, tok, "restricted", "phone")
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "phone"), 403, "info_field is restricted!", "field_restricted")
	// Credentials and health records are restricted by default.
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "Health_Records"), 403, "info_field is restricted!", "field_restricted")
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "credentials"), 403, "info_field is restricted!", "field_restricted")
	if r := e.form(t, "GET", path, "token", tok); r.Code != 405 || r.str("status") != "post required" {
		t.Fatalf("GET: %d %s", r.Code, r.Raw)
	}

	// Success, in every encoding; info_field is case-insensitive; a field
	// with no value yet is shared all the same and reads as null.
	r := e.share(t, tok, "acme", "Email")
	for _, k := range []string{"verification_token", "expires_at", "verify_url", "credential"} {
		if r.str(k) == "" {
			t.Fatalf("no %s in %s", k, r.Raw)
		}
	}
	if !strings.HasSuffix(r.str("verify_url"), "/api/v1/verify/"+r.str("verification_token")) {
		t.Fatalf("verify_url %s", r.str("verify_url"))
	}
	exp, _ := time.Parse(time.RFC3339, r.str("expires_at"))
	if d := exp.Sub(e.Clock.Now()); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Fatalf("default expiry in %v", d)
	}
	j := e.json(t, "POST", path, map[string]any{"token": tok, "service_id": "acme", "info_field": "nickname", "expires_in": 60})
	want(t, j, 201, "success", "")
	if got := claims(e.verify(t, j.str("verification_token"))); len(got) != 1 || got["nickname"] != nil {
		t.Fatalf("unset field: %v", got)
	}
	m := e.multipart(t, "POST", path, "token", tok, "service_id", "acme", "info_field", "name")
	want(t, m, 201, "success", "")
	b := e.do(t, "POST", path, "application/x-www-form-urlencoded", strings.NewReader("service_id=acme&info_field=name"), "Authorization", "Bearer "+tok)
	want(t, b, 201, "success", "")
}

func TestShareDisclosesOneValueAsVerifiableCredential(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "vc@example.org", "handle", "vc_user")
	dob := birthdayYearsAgo(e.Clock.Now(), 30)
	e.setFields(t, tok, map[string]any{"date_of_birth": dob, "phone": "+15551234567", "home_address": "1 Secret Lane"})
	secrets := []string{dob, "+15551234567", "1 Secret Lane", "vc@example.org", "Ada Lovelace", "vc_user"}

	for _, c := range []struct {
		field string
		want  any
	}{
		{"age", float64(30)},
		{"AGE_OVER_18", true},
		{"age_over_30", true},
		{"age_over_31", false},
		{"phone", "+15551234567"},
	} {
		r := e.share(t, tok, "bar.example", c.field)
		name := strings.ToLower(c.field)
		for _, cred := range []string{r.str("credential"), e.verify(t, r.str("verification_token")).str("credential")} {
			v := e.verify(t, r.str("verification_token"))
			want(t, v, 200, "success", "")
			p := verifyCredential(t, e, cred, v, "bar.example")
			if s := subject(p); len(s) != 1 || s[name] != c.want {
				t.Fatalf("%s: credential subject %v", c.field, s)
			}
			if got := claims(v); len(got) != 1 || got[name] != c.want {
				t.Fatalf("%s: claims %v", c.field, got)
			}
			if p["aud"] != "bar.example" || v.str("service_id") != "bar.example" {
				t.Fatalf("%s: audience %v / %s", c.field, p["aud"], v.str("service_id"))
			}
			if int64(p["exp"].(float64)) != mustTime(t, v.str("expires_at")).Unix() {
				t.Fatalf("%s: exp %v, expires_at %s", c.field, p["exp"], v.str("expires_at"))
			}
			// Nothing but the one value: no other profile value in the
			// credential or the response.
			payload, _ := json.Marshal(p)
			for _, s := range secrets {
				if s == c.want || (name == "phone" && s == "+15551234567") {
					continue
				}
				if bytes.Contains(payload, []byte(s)) || bytes.Contains(v.Raw, []byte(s)) {
					t.Fatalf("%s: %q disclosed", c.field, s)
				}
			}
		}
	}
	// Each credential has its own id: another share, another second or
	// another value is another credential. The same content signed in the
	// same second is the same credential, byte for byte.
	r := e.share(t, tok, "bar.example", "age")
	vtok := r.str("verification_token")
	v1 := e.verify(t, vtok)
	first := verifyCredential(t, e, v1.str("credential"), v1, "bar.example")
	if again := e.verify(t, vtok); again.str("credential") != v1.str("credential") {
		t.Fatal("same second, same value: a different credential")
	}
	other := verifyCredential(t, e, e.share(t, tok, "bar.example", "age").str("credential"), v1, "bar.example")
	e.Clock.Advance(time.Second)
	v2 := e.verify(t, vtok)
	later := verifyCredential(t, e, v2.str("credential"), v2, "bar.example")
	e.setFields(t, tok, map[string]any{"date_of_birth": birthdayYearsAgo(e.Clock.Now(), 40)})
	v3 := e.verify(t, vtok)
	changed := verifyCredential(t, e, v3.str("credential"), v3, "bar.example")
	if subject(changed)["age"] != float64(40) {
		t.Fatalf("credential after the change: %v", changed)
	}
	ids := map[any]bool{first["jti"]: true, other["jti"]: true, later["jti"]: true, changed["jti"]: true}
	if len(ids) != 4 || ids[""] || ids[nil] {
		t.Fatalf("jti not unique: %v", ids)
	}
	a := first
	// A credential for another audience does not validate for this one.
	tk, _ := jwt.ParseSigned(r.str("credential"), []jose.SignatureAlgorithm{jose.EdDSA})
	var std jwt.Claims
	tk.UnsafeClaimsWithoutVerification(&std)
	if err := std.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{"other"}, Time: e.Clock.Now()}, 0); err == nil {
		t.Fatal("audience not checked")
	}
	// A tampered credential fails.
	parts := strings.Split(r.str("credential"), ".")
	forged, _ := json.Marshal(map[string]any{"iss": a["iss"], "aud": "bar.example", "exp": a["exp"], "vc": map[string]any{"credentialSubject": map[string]any{"age": 99}}})
	parts[1] = base64.RawURLEncoding.EncodeToString(forged)
	jws, err := jose.ParseSigned(strings.Join(parts, "."), []jose.SignatureAlgorithm{jose.EdDSA})
	if err == nil {
		keyJSON, _ := json.Marshal(e.verify(t, r.str("verification_token")).Body["issuer_key"])
		var jwk jose.JSONWebKey
		jwk.UnmarshalJSON(keyJSON)
		if _, err := jws.Verify(jwk.Key); err == nil {
			t.Fatal("forged credential verified")
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

func TestVerifyErrorsAndPage(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "verify@example.org")
	e.setFields(t, tok, map[string]any{"nickname": "Countess <b>&</b>"})

	want(t, e.verify(t, "no-such-token"), 404, "verification_token does not exist!", "unknown_verification_token")
	want(t, e.verify(t, strings.Repeat("x", 5000)), 404, "verification_token does not exist!", "unknown_verification_token")

	short := e.share(t, tok, "acme", "nickname", "expires_in", "60")
	long := e.share(t, tok, "acme", "nickname")
	want(t, e.verify(t, short.str("verification_token")), 200, "success", "")

	// The page a browser gets from the QR code: HTML, strict CSP, the value
	// escaped.
	h := e.do(t, "GET", "/api/v1/verify/"+long.str("verification_token"), "", nil, "Accept", "text/html,application/xhtml+xml")
	if h.Code != 200 || !strings.HasPrefix(h.Header.Get("Content-Type"), "text/html") || h.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("page: %d %v", h.Code, h.Header)
	}
	if !bytes.Contains(h.Raw, []byte("Countess &lt;b&gt;&amp;&lt;/b&gt;")) || bytes.Contains(h.Raw, []byte("<b>&</b>")) || !bytes.Contains(h.Raw, []byte("acme")) {
		t.Fatalf("page body: %s", h.Raw)
	}

	e.Clock.Advance(61 * time.Second)
	want(t, e.verify(t, short.str("verification_token")), 410, "verification_token has expired!", "verification_token_expired")
	want(t, e.verify(t, long.str("verification_token")), 200, "success", "")
	want(t, e.form(t, "DELETE", "/api/v1/profile/revoke-access", "token", tok, "service_id", "acme"), 200, "success", "")
	want(t, e.verify(t, long.str("verification_token")), 410, "verification_token has been revoked!", "verification_token_revoked")
	h = e.do(t, "GET", "/api/v1/verify/"+long.str("verification_token"), "", nil, "Accept", "text/html")
	if h.Code != 410 || !bytes.Contains(h.Raw, []byte("verification_token has been revoked!")) || bytes.Contains(h.Raw, []byte("Countess")) {
		t.Fatalf("revoked page: %d %s", h.Code, h.Raw)
	}
	if r := e.do(t, "POST", "/api/v1/verify/"+long.str("verification_token"), "", nil); r.Code != 405 || r.str("status") != "get required" {
		t.Fatalf("POST verify: %d %s", r.Code, r.Raw)
	}
}

func TestGetShare(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "get@example.org")
	other := e.user(t, "other@example.org")
	e.setFields(t, tok, map[string]any{"phone": "+15550001111"})
	vt := e.share(t, tok, "acme", "phone").str("verification_token")
	otherVT := e.share(t, other, "acme", "email").str("verification_token")
	path := "/api/v1/profile/get-share"

	want(t, e.form(t, "GET", path, "service_id", "acme", "verification_token", vt), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "GET", path, "token", tok), 400, "service_id,verification_token must exist!", "missing_parameter")
	want(t, e.form(t, "GET", path, "token", tok, "service_id", "acme"), 400, "service_id,verification_token must exist!", "missing_parameter")
	want(t, e.form(t, "GET", path, "token", tok, "service_id", "other", "verification_token", vt), 403, notAgreed, "not_agreed")
	want(t, e.form(t, "GET", path, "token", tok, "service_id", "acme", "verification_token", "made-up"), 403, notAgreed, "not_agreed")
	// Another user's share, same service: not this user's agreement.
	want(t, e.form(t, "GET", path, "token", tok, "service_id", "acme", "verification_token", otherVT), 403, notAgreed, "not_agreed")

	r := e.form(t, "GET", path, "token", tok, "service_id", "acme", "verification_token", vt)
	want(t, r, 200, "success", "")
	if d, _ := r.Body["user_data"].(map[string]any); len(d) != 1 || d["phone"] != "+15550001111" {
		t.Fatalf("user_data %s", r.Raw)
	}
	if r := e.form(t, "POST", path, "token", tok); r.Code != 405 || r.str("status") != "get required" {
		t.Fatalf("POST: %d %s", r.Code, r.Raw)
	}
	e.Clock.Advance(8 * 24 * time.Hour)
	tok = e.form(t, "POST", "/api/v1/users/login", "email", "get@example.org", "password", pw).str("token")
	want(t, e.form(t, "GET", path, "token", tok, "service_id", "acme", "verification_token", vt), 403, notAgreed, "not_agreed")
}

func TestPrivilegeRingsContract(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "rings@example.org", "handle", "ringer")
	path := "/api/v1/profile/privilege-rings"

	want(t, e.form(t, "POST", path, "ring_name", "public", "assigned_data", "name"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", path, "token", tok), 400, "assigned_data must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "ring_name", "public"), 400, "assigned_data must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "assigned_data", "name"), 400, "ring_name must exist!", "missing_parameter")
	const levelErr = "access_level must be one of public, semi-private, private, restricted!"
	want(t, e.form(t, "POST", path, "token", tok, "ring_name", "family", "assigned_data", "phone"), 400, levelErr, "invalid_access_level")
	want(t, e.form(t, "POST", path, "token", tok, "ring_name", "family", "assigned_data", "phone", "access_level", "secret"), 400, levelErr, "invalid_access_level")
	want(t, e.form(t, "POST", path, "token", tok, "ring_name", "public", "assigned_data", "not a field"), 400, "assigned_data has an invalid field name!", "invalid_field_name")
	want(t, e.form(t, "POST", path, "token", tok, "ring_name", "public", "assigned_data", "phone", "access_level", "private"), 400, "a built-in ring's access_level is its own name!", "access_level_mismatch")

	// Default placement.
	rings := func() map[string]map[string]any {
		r := e.form(t, "GET", "/api/v1/profile/rings", "token", tok)
		want(t, r, 200, "success", "")
		out := map[string]map[string]any{}
		for _, x := range r.Body["rings"].([]any) {
			m := x.(map[string]any)
			out[m["ring_name"].(string)] = m
		}
		return out
	}
	e.setFields(t, tok, map[string]any{"phone": "+1555", "home_address": "Here", "date_of_birth": "1990-01-02"})
	has := func(ring, field string) bool {
		for _, f := range rings()[ring]["fields"].([]any) {
			if f == field {
				return true
			}
		}
		return false
	}
	for field, ring := range map[string]string{"name": "public", "handle": "public", "email": "semi-private", "phone": "private", "home_address": "private", "date_of_birth": "private"} {
		if !has(ring, field) {
			t.Errorf("%s is not in %s by default: %v", field, ring, rings())
		}
	}

	// Every form of assigned_data; the same ring_name keeps its ring_id.
	a := e.form(t, "POST", path, "token", tok, "ring_name", "family", "assigned_data", "phone", "access_level", "semi-private")
	want(t, a, 201, "success", "")
	b := e.form(t, "POST", path, "token", tok, "ring_name", "Family", "assigned_data", "home_address, nickname")
	want(t, b, 201, "success", "")
	c := e.ring(t, tok, "family", []string{"date_of_birth"})
	d := e.form(t, "POST", path, "token", tok, "ring_name", "family", "assigned_data", `["phone"]`)
	want(t, d, 201, "success", "")
	if a.str("ring_id") == "" || a.str("ring_id") != b.str("ring_id") || b.str("ring_id") != c.str("ring_id") || c.str("ring_id") != d.str("ring_id") {
		t.Fatalf("ring_id changed: %s %s %s %s", a.Raw, b.Raw, c.Raw, d.Raw)
	}
	fam := rings()["family"]
	if fam["access_level"] != "semi-private" || fam["custom"] != true || len(fam["fields"].([]any)) != 4 {
		t.Fatalf("family: %v", fam)
	}
	if has("private", "phone") {
		t.Fatal("phone still private")
	}
	pub := e.ring(t, tok, "Public", "nickname")
	if pub.str("ring_id") == "" || pub.str("ring_id") == a.str("ring_id") || e.ring(t, tok, "public", "nickname").str("ring_id") != pub.str("ring_id") {
		t.Fatalf("built-in ring id: %s", pub.Raw)
	}
}

// TestRingsAreEnforcedEverywhere checks each audience: the public page, a
// share's verifier, the user's get-share, services by role, and that a
// stricter ring hides a field at once.
func TestRingsAreEnforcedEverywhere(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "enforce@example.org", "handle", "enforcer")
	e.setFields(t, tok, map[string]any{"phone": "+15557654321", "home_address": "2 Hidden Road", "nickname": "Ennie"})
	link := e.json(t, "POST", "/api/v1/profile/public", map[string]any{"token": tok, "public_info": "Hello", "visibility": true})
	want(t, link, 200, "success", "")
	page := func() map[string]any {
		r := e.do(t, "GET", strings.TrimPrefix(link.str("public_profile_link"), e.App.Config().PublicURL), "", nil)
		want(t, r, 200, "success", "")
		return r.Body["fields"].(map[string]any)
	}
	if f := page(); len(f) != 2 || f["name"] != "Ada Lovelace" || f["handle"] != "enforcer" {
		t.Fatalf("public page shows %v", f)
	}
	sees := func(service string) []string {
		r := e.form(t, "GET", "/api/v1/profile/access", "token", tok)
		want(t, r, 200, "success", "")
		for _, x := range r.Body["services"].([]any) {
			s := x.(map[string]any)
			if s["service_id"] == service {
				var out []string
				for _, v := range s["sees"].([]any) {
					out = append(out, v.(map[string]any)["field"].(string))
				}
				slices.Sort(out)
				return out
			}
		}
		t.Fatalf("no service %s", service)
		return nil
	}

	vt := e.share(t, tok, "shop", "phone").str("verification_token")
	getShare := func() resp {
		return e.form(t, "GET", "/api/v1/profile/get-share", "token", tok, "service_id", "shop", "verification_token", vt)
	}
	// A service with no role sees only what it was given (API.md's ring
	// rules): not the public ring's name and handle.
	if got := sees("shop"); !slices.Equal(got, []string{"phone"}) {
		t.Fatalf("shop (no role) sees %v", got)
	}

	// A custom ring as a service's role.
	e.ring(t, tok, "friends", map[string]any{"fields": []string{"nickname"}, "services": []string{"club"}}, "access_level", "semi-private")
	if got := sees("club"); !slices.Equal(got, []string{"email", "handle", "name", "nickname"}) {
		t.Fatalf("club (friends) sees %v", got)
	}
	e.ring(t, tok, "family", "home_address", "access_level", "private", "services", "clinic")
	if got := sees("clinic"); !slices.Equal(got, []string{"email", "handle", "home_address", "name", "nickname", "phone"}) {
		t.Fatalf("clinic (family, private) sees %v", got)
	}

	// Moving the phone to a stricter ring hides it at once from whoever no
	// longer qualifies: the clinic by role, and even the explicit share
	// once it is restricted.
	e.ring(t, tok, "restricted", "phone")
	want(t, e.verify(t, vt), 403, "info_field is restricted!", "field_restricted")
	want(t, getShare(), 403, "info_field is restricted!", "field_restricted")
	want(t, e.form(t, "POST", "/api/v1/profile/share-create", "token", tok, "service_id", "shop", "info_field", "phone"), 403, "info_field is restricted!", "field_restricted")
	if got := sees("clinic"); slices.Contains(got, "phone") {
		t.Fatalf("clinic still sees the phone: %v", got)
	}
	if got := sees("shop"); slices.Contains(got, "phone") {
		t.Fatalf("shop still sees the phone: %v", got)
	}
	// A role of restricted still sees no restricted field.
	e.ring(t, tok, "restricted", map[string]any{"services": []string{"spy"}})
	if got := sees("spy"); slices.Contains(got, "phone") {
		t.Fatalf("a restricted role sees restricted fields: %v", got)
	}
	// The nickname moves to a stricter ring: the club (semi-private by
	// role) sees it no more.
	e.ring(t, tok, "private", "nickname")
	if got := sees("club"); !slices.Equal(got, []string{"email", "handle", "name"}) {
		t.Fatalf("club after the nickname became private sees %v", got)
	}
	// The name leaves the public ring: gone from the page at once.
	e.ring(t, tok, "semi-private", "name")
	if f := page(); len(f) != 1 || f["handle"] != "enforcer" {
		t.Fatalf("public page after the move: %v", f)
	}
	// Back out of restricted: the explicit share works again.
	e.ring(t, tok, "private", "phone")
	want(t, e.verify(t, vt), 200, "success", "")
	want(t, getShare(), 200, "success", "")
}

// receiver is a webhook endpoint that records what it gets.
type receiver struct {
	mu     sync.Mutex
	events []map[string]any
	bodies [][]byte
	sigs   []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		json.Unmarshal(b, &ev)
		rc.mu.Lock()
		rc.events, rc.bodies, rc.sigs = append(rc.events, ev), append(rc.bodies, b), append(rc.sigs, r.Header.Get("X-Profile-Signature"))
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) wait(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.events)
		rc.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook events, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events)
}

func (rc *receiver) checkSignatures(t *testing.T, secret string) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, b := range rc.bodies {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(b)
		if rc.sigs[i] != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Fatalf("event %d: signature %q does not match", i, rc.sigs[i])
		}
	}
}

func TestUpdateOnceEveryReferenceIsCurrent(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.App.StartOutbox(ctx, webhook.New(nil, true))
	tok := e.user(t, "update@example.org", "handle", "updater")
	e.setFields(t, tok, map[string]any{"email": "old@example.org", "date_of_birth": e.Clock.Now().UTC().AddDate(-20, 0, 1).Format(app.DateLayout)})
	link := e.json(t, "POST", "/api/v1/profile/public", map[string]any{"token": tok, "public_info": map[string]any{"bio": "hi"}, "visibility": "true"})
	pagePath := strings.TrimPrefix(link.str("public_profile_link"), e.App.Config().PublicURL)

	hook, quiet := newReceiver(t), newReceiver(t)
	reg := e.form(t, "POST", "/api/v1/profile/services", "token", tok, "service_id", "mail.example", "name", "Mail", "webhook_url", hook.srv.URL+"/hook")
	want(t, reg, 201, "success", "")
	secret := reg.str("webhook_secret")
	if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
		t.Fatalf("secret %q", secret)
	}
	quietReg := e.form(t, "POST", "/api/v1/profile/services", "token", tok, "service_id", "bar.example", "webhook_url", quiet.srv.URL)
	want(t, quietReg, 201, "success", "")
	quietSecret := quietReg.str("webhook_secret")
	emailVT := e.share(t, tok, "mail.example", "email").str("verification_token")
	ageVT := e.share(t, tok, "bar.example", "age_over_21").str("verification_token")
	if claims(e.verify(t, ageVT))["age_over_21"] != false {
		t.Fatal("age_over_21 before")
	}

	r := e.json(t, "POST", "/api/v1/profile/update-info", map[string]any{"token": tok, "updated_fields": map[string]any{"email": "new@example.org", "handle": "renamed", "phone": "+1555"}})
	want(t, r, 200, "success", "")
	if u, _ := r.Body["updated"].([]any); len(u) != 3 || r.Body["notified"] != float64(1) {
		t.Fatalf("update: %s", r.Raw)
	}
	// Every reader has the new value on its next read.
	v := e.verify(t, emailVT)
	if claims(v)["email"] != "new@example.org" || subject(verifyCredential(t, e, v.str("credential"), v, "mail.example"))["email"] != "new@example.org" {
		t.Fatalf("verify after update: %s", v.Raw)
	}
	g := e.form(t, "GET", "/api/v1/profile/get-share", "token", tok, "service_id", "mail.example", "verification_token", emailVT)
	if g.Body["user_data"].(map[string]any)["email"] != "new@example.org" {
		t.Fatalf("get-share after update: %s", g.Raw)
	}
	if p := e.do(t, "GET", pagePath, "", nil); p.Body["fields"].(map[string]any)["handle"] != "renamed" {
		t.Fatalf("public page after update: %s", p.Raw)
	}
	if h := e.do(t, "GET", pagePath, "", nil, "Accept", "text/html"); !bytes.Contains(h.Raw, []byte("renamed")) || !bytes.Contains(h.Raw, []byte("hi")) {
		t.Fatalf("public HTML after update: %s", h.Raw)
	}
	// The date of birth changes: the derived claim follows.
	e.setFields(t, tok, map[string]any{"date_of_birth": birthdayYearsAgo(e.Clock.Now(), 21)})
	if claims(e.verify(t, ageVT))["age_over_21"] != true {
		t.Fatal("age_over_21 did not follow the date of birth")
	}

	// Webhooks: each service with access to a changed field got a signed
	// event with what it may see, and nothing else.
	got := hook.wait(t, 1)
	if got[0]["event"] != "profile.updated" || got[0]["service_id"] != "mail.example" || got[0]["occurred_at"] == "" {
		t.Fatalf("event %v", got[0])
	}
	upd := got[0]["data"].(map[string]any)["updated"].(map[string]any)
	if len(upd) != 1 || upd["email"] != "new@example.org" {
		t.Fatalf("mail.example was told %v (only what it was given: no role)", upd)
	}
	hook.checkSignatures(t, secret)
	// bar.example sees its age share only (no role: not the public handle).
	told := map[string]any{}
	for _, ev := range quiet.wait(t, 1) {
		u := ev["data"].(map[string]any)["updated"].(map[string]any)
		if len(u) != 1 {
			t.Fatalf("bar.example was told %v", u)
		}
		for k, v := range u {
			told[k] = v
		}
	}
	if len(told) != 1 || told["age_over_21"] != true {
		t.Fatalf("bar.example was told %v", told)
	}
	quiet.checkSignatures(t, quietSecret)
	// A change nobody can see notifies nobody.
	r = e.setFields(t, tok, map[string]any{"home_address": "3 Private Way"})
	if r.Body["notified"] != float64(0) {
		t.Fatalf("private change notified: %s", r.Raw)
	}
	// null deletes the value and keeps its ring.
	e.ring(t, tok, "restricted", "phone")
	e.setFields(t, tok, map[string]any{"phone": nil})
	prof := e.form(t, "GET", "/api/v1/profile", "token", tok)
	if f, _ := prof.Body["fields"].(map[string]any)["phone"].(map[string]any); f == nil || f["ring"] != "restricted" || f["value"] != nil {
		t.Fatalf("deleted phone: %s", prof.Raw)
	}
}

func TestUpdateInfoContract(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "contract@example.org")
	path := "/api/v1/profile/update-info"
	want(t, e.form(t, "PUT", path, "updated_fields", `{"a":1}`), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "PUT", path, "token", tok), 400, "updated_fields must exist!", "missing_parameter")
	for _, bad := range []string{`[1,2]`, `"text"`, `42`, `not json at all`, `null`} {
		want(t, e.form(t, "PUT", path, "token", tok, "updated_fields", bad), 400, "updated_fields must be a JSON object!", "invalid_updated_fields")
	}
	want(t, e.json(t, "PUT", path, map[string]any{"token": tok, "updated_fields": []int{1}}), 400, "updated_fields must be a JSON object!", "invalid_updated_fields")
	want(t, e.json(t, "POST", path, map[string]any{"token": tok, "updated_fields": map[string]any{"bad name": 1}}), 400, "updated_fields has an invalid field name!", "invalid_field_name")
	want(t, e.json(t, "POST", path, map[string]any{"token": tok, "updated_fields": map[string]any{"bio": strings.Repeat("x", 64<<10)}}), 400, "updated_fields value is too large!", "value_too_large")
	want(t, e.json(t, "POST", path, map[string]any{"token": tok, "updated_fields": map[string]any{"date_of_birth": "yesterday"}}), 400, "date_of_birth must be a date (YYYY-MM-DD)!", "invalid_date_of_birth")
	if r := e.form(t, "GET", path, "token", tok); r.Code != 405 || r.str("status") != "put required" || r.Header.Get("Allow") != "PUT, POST" {
		t.Fatalf("GET: %d %s %v", r.Code, r.Raw, r.Header)
	}
	// Form, multipart and JSON; a JSON string inside a form field.
	want(t, e.form(t, "PUT", path, "token", tok, "updated_fields", `{"Nickname":"Ada","tags":["a","b"]}`), 200, "success", "")
	want(t, e.multipart(t, "POST", path, "token", tok, "updated_fields", `{"city":"London"}`), 200, "success", "")
	r := e.form(t, "GET", "/api/v1/profile", "token", tok)
	f := r.Body["fields"].(map[string]any)
	if f["nickname"].(map[string]any)["value"] != "Ada" || f["city"].(map[string]any)["value"] != "London" || len(f["tags"].(map[string]any)["value"].([]any)) != 2 {
		t.Fatalf("profile: %s", r.Raw)
	}
}

func TestRevokeAccess(t *testing.T) {
	e := newEnv(t)
	e.App.StartOutbox(t.Context(), webhook.New(nil, true))
	alice := e.user(t, "alice@example.org")
	bob := e.user(t, "bob@example.org")
	hook := newReceiver(t)
	secret := e.form(t, "POST", "/api/v1/profile/services", "token", alice, "service_id", "acme", "webhook_url", hook.srv.URL).str("webhook_secret")
	a1 := e.share(t, alice, "acme", "email").str("verification_token")
	a2 := e.share(t, alice, "acme", "name").str("verification_token")
	keep := e.share(t, alice, "other", "name").str("verification_token")
	b1 := e.share(t, bob, "acme", "email").str("verification_token")
	e.ring(t, alice, "semi-private", map[string]any{"services": []string{"acme"}})
	path := "/api/v1/profile/revoke-access"

	want(t, e.form(t, "DELETE", path, "service_id", "acme"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "DELETE", path, "token", alice), 400, "service_id must exist!", "missing_parameter")
	if r := e.form(t, "GET", path, "token", alice); r.Code != 405 || r.str("status") != "delete required" {
		t.Fatalf("GET: %d %s", r.Code, r.Raw)
	}
	// DELETE with the parameters in the query string.
	r := e.do(t, "DELETE", path+"?"+url.Values{"token": {alice}, "service_id": {"acme"}}.Encode(), "", nil)
	want(t, r, 200, "success", "")
	if r.Body["revoked"] != float64(3) {
		t.Fatalf("revoked: %s", r.Raw)
	}
	for _, vt := range []string{a1, a2} {
		want(t, e.verify(t, vt), 410, "verification_token has been revoked!", "verification_token_revoked")
		want(t, e.form(t, "GET", "/api/v1/profile/get-share", "token", alice, "service_id", "acme", "verification_token", vt), 403, notAgreed, "not_agreed")
	}
	// Alice's share with another service, and Bob's with the same one,
	// are untouched.
	want(t, e.verify(t, keep), 200, "success", "")
	want(t, e.verify(t, b1), 200, "success", "")
	want(t, e.form(t, "GET", "/api/v1/profile/get-share", "token", bob, "service_id", "acme", "verification_token", b1), 200, "success", "")
	ev := hook.wait(t, 1)
	if ev[0]["event"] != "access.revoked" || ev[0]["service_id"] != "acme" {
		t.Fatalf("event %v", ev[0])
	}
	hook.checkSignatures(t, secret)
	// Idempotent; POST works too.
	r = e.form(t, "POST", path, "token", alice, "service_id", "acme")
	want(t, r, 200, "success", "")
	if r.Body["revoked"] != float64(0) {
		t.Fatalf("second revoke: %s", r.Raw)
	}
	want(t, e.form(t, "POST", path, "token", alice, "service_id", "never-seen"), 200, "success", "")
	// What the access review shows now.
	acc := e.form(t, "GET", "/api/v1/profile/access", "token", alice)
	for _, x := range acc.Body["services"].([]any) {
		s := x.(map[string]any)
		if s["service_id"] == "acme" && (s["revoked_at"] == nil || len(s["sees"].([]any)) != 0) {
			t.Fatalf("acme after revocation: %v", s)
		}
		if s["service_id"] == "other" && len(s["sees"].([]any)) == 0 {
			t.Fatalf("other lost access: %v", s)
		}
	}
	// Revoking Bob's "acme" from Alice's session was never possible: the
	// only handle is the service_id, scoped to the caller.
	want(t, e.verify(t, b1), 200, "success", "")
}

func TestThirdPartyRequests(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "asked@example.org", "handle", "asked")
	e.setFields(t, tok, map[string]any{"date_of_birth": "1980-05-05"})
	want(t, e.form(t, "POST", "/api/v1/requests", "service_id", "bar"), 400, "service_id,info_field and handle or profile_id must exist!", "missing_parameter")
	want(t, e.form(t, "POST", "/api/v1/requests", "service_id", "bar", "info_field", "age"), 400, "service_id,info_field and handle or profile_id must exist!", "missing_parameter")
	want(t, e.form(t, "POST", "/api/v1/requests", "service_id", "bar", "info_field", "no way", "handle", "asked"), 400, "info_field is not shareable!", "not_shareable")
	want(t, e.form(t, "POST", "/api/v1/requests", "service_id", "bar", "info_field", "age", "handle", "nobody"), 404, "handle must exist!", "unknown_handle")

	ask := func(field string) string {
		r := e.form(t, "POST", "/api/v1/requests", "service_id", "bar", "info_field", field, "handle", "@Asked")
		want(t, r, 201, "success", "")
		if len(r.str("request_id")) < 40 || !strings.HasSuffix(r.str("poll_url"), "/api/v1/requests/"+r.str("request_id")) {
			t.Fatalf("request: %s", r.Raw)
		}
		return r.str("request_id")
	}
	poll := func(id string) resp { return e.do(t, "GET", "/api/v1/requests/"+id, "", nil) }
	rid, rid2 := ask("age_over_18"), ask("email")
	p := poll(rid)
	want(t, p, 200, "success", "")
	if p.str("request_status") != "pending" || p.str("verification_token") != "" || p.str("info_field") != "age_over_18" {
		t.Fatalf("poll: %s", p.Raw)
	}
	want(t, poll("unknown"), 404, "request does not exist!", "unknown_request")

	list := e.form(t, "GET", "/api/v1/profile/requests", "token", tok)
	want(t, list, 200, "success", "")
	reqs := list.Body["requests"].([]any)
	if len(reqs) != 2 {
		t.Fatalf("requests: %s", list.Raw)
	}
	ids := map[string]string{}
	for _, x := range reqs {
		m := x.(map[string]any)
		ids[m["info_field"].(string)] = m["id"].(string)
		if m["service_id"] != "bar" || m["request_status"] != "pending" || m["id"] == rid || m["id"] == rid2 {
			t.Fatalf("request entry %v", m)
		}
	}
	if bytes.Contains(list.Raw, []byte(rid)) {
		t.Fatal("the third party's request_id is shown to the user")
	}
	approve := "/api/v1/profile/requests/" + ids["age_over_18"] + "/approve"
	want(t, e.form(t, "POST", approve), 401, "token must exist!", "token_missing")
	a := e.form(t, "POST", approve, "token", tok)
	want(t, a, 200, "success", "")
	want(t, e.form(t, "POST", approve, "token", tok), 409, "request has already been decided!", "request_decided")
	want(t, e.form(t, "POST", "/api/v1/profile/requests/nope/approve", "token", tok), 404, "request does not exist!", "unknown_request")
	other := e.user(t, "not-asked@example.org")
	want(t, e.form(t, "POST", approve, "token", other), 404, "request does not exist!", "unknown_request")

	p = poll(rid)
	if p.str("request_status") != "approved" || p.str("verification_token") != a.str("verification_token") {
		t.Fatalf("poll after approval: %s", p.Raw)
	}
	v := e.verify(t, p.str("verification_token"))
	want(t, v, 200, "success", "")
	if claims(v)["age_over_18"] != true || v.str("service_id") != "bar" {
		t.Fatalf("verify: %s", v.Raw)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/requests/"+ids["email"]+"/deny", "token", tok), 200, "success", "")
	if p := poll(rid2); p.str("request_status") != "denied" || p.str("verification_token") != "" {
		t.Fatalf("denied poll: %s", p.Raw)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/requests/"+ids["email"]+"/approve", "token", tok), 409, "request has already been decided!", "request_decided")

	// Pending requests expire.
	rid3 := ask("email")
	e.Clock.Advance(8 * 24 * time.Hour)
	if p := poll(rid3); p.str("request_status") != "expired" {
		t.Fatalf("old request: %s", p.Raw)
	}
	tok = e.form(t, "POST", "/api/v1/users/login", "email", "asked@example.org", "password", pw).str("token")
	list = e.form(t, "GET", "/api/v1/profile/requests", "token", tok)
	id3 := list.Body["requests"].([]any)[0].(map[string]any)["id"].(string)
	want(t, e.form(t, "POST", "/api/v1/profile/requests/"+id3+"/approve", "token", tok), 410, "request has expired!", "request_expired")
}

// Handles repeat, as in the original: a third party names the user by
// profile_id, or by a handle that exactly one profile of the installation
// holds; a handle held by several answers 409 and says nothing of who.
func TestThirdPartyRequestsByHandleOrProfileID(t *testing.T) {
	e := newEnv(t)
	first := e.register(t, "first@example.org", "handle", "twin")
	tokFirst := first.str("token")
	ask := func(kv ...string) resp {
		return e.form(t, "POST", "/api/v1/requests", append([]string{"service_id", "bar", "info_field", "email"}, kv...)...)
	}
	pending := func(tok string) int {
		l := e.form(t, "GET", "/api/v1/profile/requests", "token", tok)
		want(t, l, 200, "success", "")
		return len(l.Body["requests"].([]any))
	}
	// One holder: the handle names it.
	want(t, ask("handle", "twin"), 201, "success", "")
	if n := pending(tokFirst); n != 1 {
		t.Fatalf("first has %d requests, want 1", n)
	}

	second := e.register(t, "second@example.org", "handle", "Twin")
	tokSecond := second.str("token")
	for _, h := range []string{"twin", "@TWIN", " twin "} {
		r := ask("handle", h)
		want(t, r, 409, "handle is ambiguous, use profile_id!", "ambiguous_handle")
		for _, leak := range []string{first.str("profile_id"), second.str("profile_id"), first.str("user_id"), second.str("user_id"), "first@", "second@"} {
			if bytes.Contains(r.Raw, []byte(leak)) {
				t.Fatalf("the ambiguous answer names a holder (%s): %s", leak, r.Raw)
			}
		}
		if len(r.Body) != 2 {
			t.Fatalf("the ambiguous answer carries more than status and code: %s", r.Raw)
		}
	}
	// The same answer for three holders as for two.
	e.register(t, "third@example.org", "handle", "twin")
	want(t, ask("handle", "twin"), 409, "handle is ambiguous, use profile_id!", "ambiguous_handle")
	if pending(tokFirst) != 1 || pending(tokSecond) != 0 {
		t.Fatal("an ambiguous request reached a user")
	}

	// profile_id names exactly one, and wins over a handle.
	want(t, ask("profile_id", second.str("profile_id")), 201, "success", "")
	want(t, ask("profile_id", second.str("profile_id"), "handle", "twin"), 201, "success", "")
	if pending(tokFirst) != 1 || pending(tokSecond) != 2 {
		t.Fatalf("by profile_id: first %d, second %d", pending(tokFirst), pending(tokSecond))
	}
	want(t, ask("profile_id", "no-such-profile"), 404, "profile_id must exist!", "unknown_profile")
	want(t, ask("profile_id", strings.Repeat("p", 300)), 404, "profile_id must exist!", "unknown_profile")
	want(t, ask("profile_id", second.str("user_id")), 404, "profile_id must exist!", "unknown_profile")
	want(t, ask("handle", "nobody"), 404, "handle must exist!", "unknown_handle")
}

func TestThirdPartyRequestsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	e.user(t, "limited@example.org", "handle", "limited")
	for i := 0; i < app.RequestLimit; i++ {
		want(t, e.form(t, "POST", "/api/v1/requests", "service_id", "spam", "info_field", "email", "handle", "limited"), 201, "success", "")
	}
	r := e.form(t, "POST", "/api/v1/requests", "service_id", "spam", "info_field", "email", "handle", "limited")
	if r.Code != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d requests: %d %s", app.RequestLimit, r.Code, r.Raw)
	}
}

func TestPublicProfile(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "public@example.org", "handle", "pubby")
	e.setFields(t, tok, map[string]any{"phone": "+1555"})
	path := "/api/v1/profile/public"
	want(t, e.form(t, "POST", path, "public_info", "x", "visibility", "true"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", path, "token", tok), 400, "public_info,visibility must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "public_info", "Hi"), 400, "public_info,visibility must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "visibility", "true"), 400, "public_info,visibility must exist!", "missing_parameter")
	want(t, e.form(t, "POST", path, "token", tok, "public_info", "Hi", "visibility", "maybe"), 400, "visibility must be true or false!", "invalid_visibility")

	r := e.form(t, "POST", path, "token", tok, "public_info", "{HOME:Burnaby 4024}", "visibility", "true")
	want(t, r, 200, "success", "")
	link := r.str("public_profile_link")
	pagePath := strings.TrimPrefix(link, e.App.Config().PublicURL)
	if !strings.HasPrefix(pagePath, "/api/v1/public/") {
		t.Fatalf("link %s", link)
	}
	p := e.do(t, "GET", pagePath, "", nil)
	want(t, p, 200, "success", "")
	if p.Body["public_info"] != "{HOME:Burnaby 4024}" {
		t.Fatalf("public_info: %s", p.Raw)
	}
	if f := p.Body["fields"].(map[string]any); len(f) != 2 || f["name"] != "Ada Lovelace" || f["handle"] != "pubby" {
		t.Fatalf("fields: %s", p.Raw)
	}
	h := e.do(t, "GET", pagePath, "", nil, "Accept", "text/html")
	if h.Code != 200 || !bytes.Contains(h.Raw, []byte("Burnaby")) || bytes.Contains(h.Raw, []byte("+1555")) || h.Header.Get("X-Robots-Tag") == "" {
		t.Fatalf("page: %d %s", h.Code, h.Raw)
	}
	// Calling again keeps the link; hidden, the page is 404.
	r = e.json(t, "POST", path, map[string]any{"token": tok, "public_info": map[string]any{"motto": "ok"}, "visibility": false})
	if r.str("public_profile_link") != link {
		t.Fatalf("link changed: %s", r.Raw)
	}
	want(t, e.do(t, "GET", pagePath, "", nil), 404, "public profile does not exist!", "unknown_public_profile")
	if h := e.do(t, "GET", pagePath, "", nil, "Accept", "text/html"); h.Code != 404 || bytes.Contains(h.Raw, []byte("Ada")) {
		t.Fatalf("hidden page: %d %s", h.Code, h.Raw)
	}
	want(t, e.do(t, "GET", "/api/v1/public/made-up", "", nil), 404, "public profile does not exist!", "unknown_public_profile")
	e.json(t, "POST", path, map[string]any{"token": tok, "public_info": map[string]any{"motto": "ok"}, "visibility": "1"})
	if p := e.do(t, "GET", pagePath, "", nil); p.Body["public_info"].(map[string]any)["motto"] != "ok" {
		t.Fatalf("object public_info: %s", p.Raw)
	}
}

func TestShareQRCodeRoundTrips(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "qr@example.org")
	s := e.share(t, tok, "acme", "name")
	other := e.user(t, "qr-other@example.org")
	for _, id := range []string{s.str("share_id"), s.str("verification_token")} {
		r := e.form(t, "GET", "/api/v1/profile/qr", "token", tok, "kind", "share", "id", id)
		if r.Code != 200 || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr: %d %s", r.Code, r.Raw)
		}
		// The code is the credential itself, verifiable with no network
		// (API.md Part 4 "Share codes that need no connection").
		text, err := qr.Decode(r.Raw)
		if err != nil || !strings.HasPrefix(text, strings.TrimSuffix(s.str("verify_url"), "/"+s.str("verification_token"))+"#ey") {
			t.Fatalf("decoded %q (%v), want the verify page with a JWS in the fragment", text, err)
		}
		if c, err := app.VerifyCode(text, "acme", time.Now()); err != nil || string(c.Claims["name"]) == "" {
			t.Fatalf("the QR code does not verify offline: %+v %v", c, err)
		}
		// Another user cannot get this share's code.
		want(t, e.form(t, "GET", "/api/v1/profile/qr", "token", other, "kind", "share", "id", id), 404, "share does not exist!", "unknown_share")
	}
	want(t, e.form(t, "GET", "/api/v1/profile/qr", "token", tok, "kind", "share"), 400, "id must exist!", "missing_parameter")
	want(t, e.form(t, "GET", "/api/v1/profile/qr", "token", tok, "kind", "share", "id", "nope"), 404, "share does not exist!", "unknown_share")
}

func TestServicesContract(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "svc@example.org")
	path := "/api/v1/profile/services"
	want(t, e.form(t, "POST", path, "service_id", "a", "webhook_url", "https://a.example/h"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", path, "token", tok, "service_id", "a"), 400, "service_id,webhook_url must exist!", "missing_parameter")
	for _, bad := range []string{"ftp://a.example/", "not a url", "https://", "https://user:pw@a.example/", "javascript:alert(1)"} {
		want(t, e.form(t, "POST", path, "token", tok, "service_id", "a", "webhook_url", bad), 400, "webhook_url must be an http or https URL!", "invalid_webhook_url")
	}
	a := e.form(t, "POST", path, "token", tok, "service_id", "a", "webhook_url", "https://a.example/h")
	b := e.form(t, "POST", path, "token", tok, "service_id", "a", "webhook_url", "https://a.example/h2")
	want(t, a, 201, "success", "")
	if a.str("webhook_secret") == b.str("webhook_secret") {
		t.Fatal("secret not renewed")
	}
	acc := e.form(t, "GET", "/api/v1/profile/access", "token", tok)
	if bytes.Contains(acc.Raw, []byte(b.str("webhook_secret"))) || bytes.Contains(acc.Raw, []byte("whsec_")) {
		t.Fatal("secret shown again")
	}
	if s := acc.Body["services"].([]any); len(s) != 1 || s[0].(map[string]any)["webhook"] != true {
		t.Fatalf("access: %s", acc.Raw)
	}
}

// TestSharingLeavesNothingInClearAtRest runs the sharing features (shares,
// rings, a webhook with a queued event, a public profile, a third party's
// request, revocation) and finds none of the values, tokens, secrets or
// service names in any file of the data directory, open or closed.
func TestSharingLeavesNothingInClearAtRest(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "rest-sharer@example.org", "handle", "rester")
	secrets := map[string]string{
		"phone":       "+15553217654",
		"motto":       "Quietly-Unforgettable-Motto",
		"service":     "zanzibar-analytics-svc",
		"webhook url": "https://hooks.zanzibar.example/incoming",
		"ring name":   "Inner-Circle-Ring",
		"requester":   "quixotic-bar-svc",
	}
	e.setFields(t, tok, map[string]any{"phone": secrets["phone"], "date_of_birth": "1977-07-07"})
	reg := e.form(t, "POST", "/api/v1/profile/services", "token", tok, "service_id", secrets["service"], "webhook_url", secrets["webhook url"])
	secrets["webhook secret"] = reg.str("webhook_secret")
	sh := e.share(t, tok, secrets["service"], "phone")
	secrets["verification token"] = sh.str("verification_token")
	e.ring(t, tok, secrets["ring name"], "phone", "access_level", "semi-private")
	e.setFields(t, tok, map[string]any{"phone": secrets["phone"] + "0"}) // queues a webhook event
	link := e.json(t, "POST", "/api/v1/profile/public", map[string]any{"token": tok, "public_info": secrets["motto"], "visibility": true})
	secrets["public link"] = strings.TrimPrefix(link.str("public_profile_link"), e.App.Config().PublicURL+"/api/v1/public/")
	rq := e.form(t, "POST", "/api/v1/requests", "service_id", secrets["requester"], "info_field", "age", "handle", "rester")
	secrets["request id"] = rq.str("request_id")
	id := e.form(t, "GET", "/api/v1/profile/requests", "token", tok).Body["requests"].([]any)[0].(map[string]any)["id"].(string)
	approved := e.form(t, "POST", "/api/v1/profile/requests/"+id+"/approve", "token", tok)
	secrets["approved token"] = approved.str("verification_token")
	want(t, e.form(t, "DELETE", "/api/v1/profile/revoke-access", "token", tok, "service_id", secrets["service"]), 200, "success", "")

	scan := func(when string) {
		t.Helper()
		entries, _ := os.ReadDir(e.Dir)
		if len(entries) < 2 {
			t.Fatalf("%s: only %d files", when, len(entries))
		}
		for _, de := range entries {
			b, err := os.ReadFile(filepath.Join(e.Dir, de.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range secrets {
				if v == "" {
					t.Fatalf("no %s", name)
				}
				if bytes.Contains(b, []byte(v)) || bytes.Contains(b, []byte(strings.ToLower(v))) {
					t.Errorf("%s: %s in clear in %s", when, name, de.Name())
				}
			}
		}
	}
	scan("open")
	e.srv.Close()
	e.DB.Close()
	scan("closed")
}
