package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app/httpapi"

	"golang.org/x/crypto/ssh"
)

func TestRegisterChecksInOrder(t *testing.T) {
	e := newEnv(t)
	const reg = "/api/v1/users/register"
	want(t, e.form(t, "POST", reg), 400, "email and password must exist!", "missing_parameter")
	want(t, e.form(t, "POST", reg, "email", "a@b.org"), 400, "email and password must exist!", "missing_parameter")
	want(t, e.form(t, "POST", reg, "password", pw), 400, "email and password must exist!", "missing_parameter")
	// Format is checked before strength.
	want(t, e.form(t, "POST", reg, "email", "not-an-email", "password", "p"), 400, "email format error!", "invalid_email")
	for _, bad := range []string{"a@b", "a b@c.org", "<a@b.org>", "Ada <a@b.org>", "@b.org", "a@.org"} {
		want(t, e.form(t, "POST", reg, "email", bad, "password", pw), 400, "email format error!", "invalid_email")
	}
	for _, weak := range []string{"p", "1234567", "password", "Password1", "qwertyuiop", "ada@example.org", "ADA@EXAMPLE.ORG", "adalovelace1", strings.Repeat("x", 1025)} {
		want(t, e.form(t, "POST", reg, "email", "ada@example.org", "handle", "adalovelace1", "password", weak), 400, "password is too weak!", "weak_password")
	}
	e.register(t, "ada@example.org", "handle", "ada")
	want(t, e.form(t, "POST", reg, "email", "ada@example.org", "password", pw), 409, "the email exists!", "email_exists")
	want(t, e.form(t, "POST", reg, "email", "ADA@Example.org", "password", pw), 409, "the email exists!", "email_exists")
	// Handles repeat, as in the original (its suite registers many users
	// with the handle "h"): a handle is a display name, not a key.
	want(t, e.form(t, "POST", reg, "email", "other@example.org", "handle", "ADA", "password", pw), 201, "success", "")
	want(t, e.form(t, "POST", reg, "email", "third@example.org", "handle", "ada", "password", pw), 201, "success", "")
}

func TestRegisterAcceptsEveryEncoding(t *testing.T) {
	e := newEnv(t)
	const reg = "/api/v1/users/register"
	rs := []resp{
		e.form(t, "POST", reg, "email", "f@example.org", "password", pw, "name", "F"),
		e.multipart(t, "POST", reg, "email", "m@example.org", "password", pw, "name", "M"),
		e.json(t, "POST", reg, map[string]any{"email": "j@example.org", "password": pw, "name": "J", "biometrics": map[string]any{"template": "x"}}),
		// No content type: a JSON object is recognised by its look.
		e.do(t, "POST", reg, "", strings.NewReader(`{"email":"n@example.org","password":"`+pw+`"}`)),
	}
	seen := map[string]bool{}
	for i, r := range rs {
		want(t, r, 201, "success", "")
		for _, k := range []string{"user_id", "token", "profile_id", "expires_at"} {
			if r.str(k) == "" {
				t.Fatalf("#%d: no %s in %s", i, k, r.Raw)
			}
		}
		if len(r.str("token")) < 43 || seen[r.str("token")] || seen[r.str("user_id")] {
			t.Fatalf("#%d: weak or repeated token/id: %s", i, r.Raw)
		}
		seen[r.str("token")], seen[r.str("user_id")] = true, true
		exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
		if err != nil || exp.Sub(e.Clock.Now()) > 24*time.Hour+time.Second || exp.Sub(e.Clock.Now()) < 24*time.Hour-time.Second {
			t.Fatalf("#%d: expires_at %q not 24 h ahead", i, r.str("expires_at"))
		}
	}
}

func TestMalformedBodiesAre4xxNever500(t *testing.T) {
	e := newEnv(t)
	const reg = "/api/v1/users/register"
	want(t, e.do(t, "POST", reg, "application/json", strings.NewReader(`{"email":`)), 400, "request body is malformed!", "malformed_body")
	want(t, e.do(t, "POST", reg, "application/json", strings.NewReader(`[1,2]`)), 400, "request body is malformed!", "malformed_body")
	want(t, e.do(t, "POST", reg, "application/json", strings.NewReader(`null`)), 400, "request body is malformed!", "malformed_body")
	want(t, e.do(t, "POST", reg, "multipart/form-data", strings.NewReader(`x`)), 400, "request body is malformed!", "malformed_body")
	want(t, e.do(t, "POST", reg, "multipart/form-data; boundary=zz", strings.NewReader(`--zz\r\ngarbage`)), 400, "request body is malformed!", "malformed_body")
	want(t, e.do(t, "POST", reg, "application/x-www-form-urlencoded", strings.NewReader(`a=%zz`)), 400, "request body is malformed!", "malformed_body")
	want(t, e.do(t, "POST", reg, "text/xml", strings.NewReader(`<a/>`)), 415, "request body must be form, multipart or JSON!", "unsupported_media_type")
	want(t, e.do(t, "POST", reg, "bad/type/;;", strings.NewReader(`x`)), 415, "request body must be form, multipart or JSON!", "unsupported_media_type")
	big := `{"email":"` + strings.Repeat("a", 1<<20) + `"}`
	want(t, e.do(t, "POST", reg, "application/json", strings.NewReader(big)), 413, "request body is too large!", "body_too_large")
	want(t, e.do(t, "POST", reg, "application/x-www-form-urlencoded", strings.NewReader("email="+strings.Repeat("a", 1<<20+1))), 413, "request body is too large!", "body_too_large")
	// Wrong types inside valid JSON are read as text, not a crash.
	want(t, e.json(t, "POST", reg, map[string]any{"email": 12, "password": []int{1}}), 400, "email format error!", "invalid_email")
}

func TestWrongMethodIs405WithLegacyStatus(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/users/register", "", nil)
	want(t, r, 405, "post required", "method_not_allowed")
	if r.Header.Get("Allow") != "POST" {
		t.Fatalf("Allow = %q", r.Header.Get("Allow"))
	}
	want(t, e.do(t, "DELETE", "/api/v1/users/login", "", nil), 405, "post required", "method_not_allowed")
	want(t, e.do(t, "POST", "/api/v1/healthz", "", nil), 405, "get required", "method_not_allowed")
	want(t, e.do(t, "GET", "/api/v1/no/such/thing", "", nil), 404, "not found!", "not_found")
	want(t, e.do(t, "GET", "/api/v1/healthz", "", nil), 200, "success", "")
}

func TestLoginAndTokenCheck(t *testing.T) {
	e := newEnv(t)
	e.register(t, "ada@example.org")
	const login, logout = "/api/v1/users/login", "/api/v1/users/logout"
	want(t, e.form(t, "POST", login, "email", "ada@example.org"), 400, "email and password must exist!", "missing_parameter")
	wrongPW := e.form(t, "POST", login, "email", "ada@example.org", "password", "not the password")
	wrongEmail := e.form(t, "POST", login, "email", "nobody@example.org", "password", pw)
	want(t, wrongPW, 401, "email or password is wrong!", "invalid_credentials")
	want(t, wrongEmail, 401, "email or password is wrong!", "invalid_credentials")

	r := e.json(t, "POST", login, map[string]any{"email": "ADA@example.org", "password": pw})
	want(t, r, 200, "success", "")
	tok := r.str("token")

	// Token check, in every place a token may come from.
	want(t, e.form(t, "POST", logout), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", logout, "token", "nonsense"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", logout, "token", strings.Repeat("A", 43)), 401, "token must exist!", "token_missing")
	want(t, e.json(t, "POST", logout, nil, "Authorization", "Bearer "+tok), 200, "success", "")
	// Revoked.
	want(t, e.form(t, "POST", logout, "token", tok), 401, "token must exist!", "token_missing")

	// Expiry after 24 h.
	tok2 := e.form(t, "POST", login, "email", "ada@example.org", "password", pw).str("token")
	e.Clock.Advance(24*time.Hour - time.Minute)
	tok3 := e.form(t, "POST", login, "email", "ada@example.org", "password", pw).str("token")
	e.Clock.Advance(2 * time.Minute)
	want(t, e.form(t, "POST", logout, "token", tok2), 401, "token has expired!", "token_expired")
	want(t, e.form(t, "POST", logout, "token", tok2), 401, "token has expired!", "token_expired")
	want(t, e.form(t, "POST", logout, "token", tok3), 200, "success", "")
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.register(t, "ada@example.org")
	e.register(t, "bob@example.org")
	const login = "/api/v1/users/login"
	for i := 0; i < 5; i++ {
		want(t, e.form(t, "POST", login, "email", "ada@example.org", "password", "wrong password "+strconv.Itoa(i)), 401, "email or password is wrong!", "invalid_credentials")
		e.Clock.Advance(time.Minute)
	}
	// Even the right password is refused now, with Retry-After.
	r := e.form(t, "POST", login, "email", "ada@example.org", "password", pw)
	want(t, r, 429, "too many attempts, try again later!", "rate_limited")
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 60 || ra > 15*60 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	// Another e-mail is not affected.
	want(t, e.form(t, "POST", login, "email", "bob@example.org", "password", pw), 200, "success", "")
	// 15 minutes after the first failure, one slot frees.
	e.Clock.Advance(11 * time.Minute)
	want(t, e.form(t, "POST", login, "email", "ada@example.org", "password", pw), 200, "success", "")
}

func TestKeyLogin(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sshPub, _ := ssh.NewPublicKey(pub)
	forms := map[string]string{
		"raw": base64.StdEncoding.EncodeToString(pub),
		"pem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"ssh": string(ssh.MarshalAuthorizedKey(sshPub)),
	}
	for name, text := range forms {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			param := "public_private_key_pair"
			if name == "ssh" {
				param = "public_key" // the alias
			}
			e.register(t, "ada@example.org", param, text)
			const ch, login = "/api/v1/users/challenge", "/api/v1/users/login"
			c := e.form(t, "POST", ch, "email", "ada@example.org")
			want(t, c, 200, "success", "")
			challenge := c.str("challenge")
			sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(challenge)))
			r := e.form(t, "POST", login, "email", "ada@example.org", "challenge", challenge, "signature", sig)
			want(t, r, 200, "success", "")
			if r.str("token") == "" {
				t.Fatal("no token")
			}
			// Single use.
			want(t, e.form(t, "POST", login, "email", "ada@example.org", "challenge", challenge, "signature", sig), 401, "email or password is wrong!", "invalid_credentials")
			// A signature by another key fails.
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			c2 := e.form(t, "POST", ch, "email", "ada@example.org").str("challenge")
			bad := base64.StdEncoding.EncodeToString(ed25519.Sign(other, []byte(c2)))
			want(t, e.form(t, "POST", login, "email", "ada@example.org", "challenge", c2, "signature", bad), 401, "email or password is wrong!", "invalid_credentials")
			// Expired after 5 minutes.
			c3 := e.form(t, "POST", ch, "email", "ada@example.org").str("challenge")
			e.Clock.Advance(5*time.Minute + time.Second)
			sig3 := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(c3)))
			want(t, e.form(t, "POST", login, "email", "ada@example.org", "challenge", c3, "signature", sig3), 401, "email or password is wrong!", "invalid_credentials")
		})
	}
}

func TestUnknownEmailGetsAUselessChallenge(t *testing.T) {
	e := newEnv(t)
	c := e.form(t, "POST", "/api/v1/users/challenge", "email", "nobody@example.org")
	want(t, c, 200, "success", "")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(c.str("challenge"))))
	want(t, e.form(t, "POST", "/api/v1/users/login", "email", "nobody@example.org", "challenge", c.str("challenge"), "signature", sig), 401, "email or password is wrong!", "invalid_credentials")
	want(t, e.form(t, "POST", "/api/v1/users/challenge"), 400, "email must exist!", "missing_parameter")
}

func TestPrivateKeysAreRefused(t *testing.T) {
	e := newEnv(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	for _, text := range []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		base64.StdEncoding.EncodeToString(priv),
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
	} {
		want(t, e.form(t, "POST", "/api/v1/users/register", "email", "ada@example.org", "password", pw, "public_private_key_pair", text), 400, "never send a private key!", "private_key")
	}
	// Anything else is kept as given (sealed), without enabling key login.
	e.register(t, "ada@example.org", "public_private_key_pair", "my-legacy-key-pair-text")
}

func TestNoPanicOnOddRequests(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path, ct, body string }{
		{"POST", "/api/v1/users/login", "application/json", `{"email":{"a":1},"password":null}`},
		{"POST", "/api/v1/users/login", "application/json", `{"challenge":"x","signature":"%%%","email":"a@b.org"}`},
		{"POST", "/api/v1/users/register", "application/json; charset=utf-8", `{"email":"a@b.org","password":"` + pw + `","public_key":"ssh-ed25519 AAAA"}`},
		{"POST", "/api/v1/users/logout", "application/x-www-form-urlencoded", "token=%00%01"},
		{"PUT", "/api/v1/users/logout", "", ""},
	} {
		r := e.do(t, c.method, c.path, c.ct, strings.NewReader(c.body))
		if r.Code >= 500 {
			t.Fatalf("%s %s %s: %d %s", c.method, c.path, c.body, r.Code, r.Raw)
		}
	}
}

func TestOwnProfile(t *testing.T) {
	e := newEnv(t)
	r := e.register(t, "ada@example.org", "handle", "ada")
	want(t, e.do(t, "GET", "/api/v1/profile", "", nil), 401, "token must exist!", "token_missing")
	p := e.do(t, "GET", "/api/v1/profile?token="+r.str("token"), "", nil)
	want(t, p, 200, "success", "")
	fields := p.Body["fields"].(map[string]any)
	for name, ring := range map[string]string{"name": "public", "handle": "public", "email": "semi-private"} {
		f, _ := fields[name].(map[string]any)
		if f == nil || f["ring"] != ring {
			t.Errorf("%s: %v, want ring %s", name, f, ring)
		}
	}
	if fields["email"].(map[string]any)["value"] != "ada@example.org" || p.str("user_id") != r.str("user_id") {
		t.Fatalf("profile: %s", p.Raw)
	}
	if _, ok := fields["biometrics"]; ok {
		t.Fatal("biometrics returned")
	}
}

func TestChallengesAreRateLimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < httpapi.ChallengeLimit; i++ {
		want(t, e.form(t, "POST", "/api/v1/users/challenge", "email", "a@example.org"), 200, "success", "")
	}
	r := e.form(t, "POST", "/api/v1/users/challenge", "email", "a@example.org")
	want(t, r, 429, "too many attempts, try again later!", "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	e.Clock.Advance(time.Minute + time.Second)
	want(t, e.form(t, "POST", "/api/v1/users/challenge", "email", "a@example.org"), 200, "success", "")
}
