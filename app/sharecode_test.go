package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/nodetest"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func shareCode(t *testing.T, env *storetest.Env, p *app.Principal, service string) (string, *app.Share) {
	t.Helper()
	ctx := context.Background()
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"date_of_birth":"1990-05-01"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: service, InfoField: "age_over_18"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := env.App.ShareCode(ctx, p, sh.ShareID)
	if err != nil {
		t.Fatal(err)
	}
	return code, sh
}

// tamper changes one character of the JWS's payload (in the fragment).
func tamper(code string) string {
	i := strings.Index(code, "#") + 1
	parts := strings.Split(code[i:], ".")
	b := []byte(parts[1])
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	parts[1] = string(b)
	return code[:i] + strings.Join(parts, ".")
}

func TestShareCodeVerifiesOffline(t *testing.T) {
	env := storetest.New(t, app.Config{PublicURL: "https://profile.example.org"})
	ctx := context.Background()
	p := newUser(t, env, "offline@example.org")
	code, sh := shareCode(t, env, p, "bar.example")
	if !strings.HasPrefix(code, "https://profile.example.org/api/v1/verify#") {
		t.Fatalf("code %s", code)
	}
	now := env.Clock.Now()
	c, err := app.VerifyCode(code, "bar.example", now)
	if err != nil || string(c.Claims["age_over_18"]) != "true" || c.Audience != "bar.example" || !strings.HasPrefix(c.Issuer, "did:key:z6Mk") {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if !strings.HasSuffix(c.StatusURL, "/api/v1/verify-status/"+sh.ShareID) {
		t.Fatalf("status URL %q", c.StatusURL)
	}
	jws := code[strings.Index(code, "#")+1:]
	for name, tc := range map[string]struct {
		text, aud string
		at        time.Time
		code      string
	}{
		"the bare JWS":     {jws, "bar.example", now, ""},
		"tampered":         {tamper(code), "", now, "bad_signature"},
		"wrong audience":   {code, "casino.example", now, "wrong_audience"},
		"expired":          {code, "", sh.ExpiresAt.Add(time.Second), "code_expired"},
		"not yet valid":    {code, "", now.Add(-time.Hour), "code_not_yet_valid"},
		"not a credential": {"https://example.org/#nothing", "", now, "malformed_code"},
		"empty":            {"", "", now, "malformed_code"},
	} {
		_, err := app.VerifyCode(tc.text, tc.aud, tc.at)
		if got := app.AsError(err).Code; (tc.code == "" && err != nil) || (tc.code != "" && got != tc.code) {
			t.Errorf("%s: %v, want %q", name, err, tc.code)
		}
	}
	// A code signed by another profile's key cannot claim this issuer.
	other := newUser(t, env, "forger@example.org")
	forged, _ := shareCode(t, env, other, "bar.example")
	fparts := strings.Split(forged[strings.Index(forged, "#")+1:], ".")
	vparts := strings.Split(jws, ".")
	if _, err := app.VerifyCode(vparts[0]+"."+vparts[1]+"."+fparts[2], "", now); app.AsError(err).Code != "bad_signature" {
		t.Errorf("another key's signature: %v", err)
	}
	if _, err := app.VerifyCode(fparts[0]+"."+vparts[1]+"."+fparts[2], "", now); app.AsError(err).Code != "bad_signature" {
		t.Errorf("the forger's kid on the victim's claims: %v", err)
	}
	// Live status, where the issuer's node answers.
	if s, err := env.App.ShareState(ctx, sh.ShareID); err != nil || s != app.CapActive {
		t.Fatalf("state: %s %v", s, err)
	}
	if _, err := env.App.RevokeAccess(ctx, p, "bar.example"); err != nil {
		t.Fatal(err)
	}
	if s, err := env.App.ShareState(ctx, sh.ShareID); err != nil || s != app.CapRevoked {
		t.Fatalf("state after revocation: %s %v", s, err)
	}
	if _, err := env.App.ShareCode(ctx, p, sh.ShareID); app.AsError(err).Code != "verification_token_revoked" {
		t.Fatalf("a revoked share's code: %v", err)
	}
	if _, err := env.App.ShareState(ctx, "not-an-id"); app.AsError(err).Code != "unknown_share" {
		t.Fatalf("unknown share: %v", err)
	}
}

// joseVerify is an independent verifier: panva's jose, from npm, given
// only the code. It derives the key from the did:key kid itself.
const joseVerify = `
import { jwtVerify, decodeProtectedHeader, importJWK } from 'jose';
const [code, audience] = process.argv.slice(2);
const jws = code.includes('#') ? code.slice(code.indexOf('#') + 1) : code;
const { kid, alg } = decodeProtectedHeader(jws);
const did = kid.split('#')[0];
if (!did.startsWith('did:key:z')) throw new Error('not a did:key');
const ALPHA = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
let n = 0n;
for (const ch of did.slice('did:key:z'.length)) n = n * 58n + BigInt(ALPHA.indexOf(ch));
let bytes = [];
while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
if (bytes[0] !== 0xed || bytes[1] !== 0x01 || bytes.length !== 34) throw new Error('not an Ed25519 did:key');
const x = Buffer.from(bytes.slice(2)).toString('base64url');
const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'EdDSA');
const { payload } = await jwtVerify(jws, key, { algorithms: ['EdDSA'], audience, issuer: did });
console.log(JSON.stringify({ alg, payload }));
`

// TestShareCodeVerifiedByJose: a code is verified by a standard JOSE
// implementation with no server running anywhere; tampered, expired and
// wrong-audience codes are refused by it.
func TestShareCodeVerifiedByJose(t *testing.T) {
	env := storetest.New(t, app.Config{})
	p := newUser(t, env, "jose@example.org")
	code, _ := shareCode(t, env, p, "bar.example")
	out, err := nodetest.Run(t, joseVerify, code, "bar.example")
	if err != nil {
		t.Fatalf("jose refused our code: %v", err)
	}
	var got struct {
		Alg     string `json:"alg"`
		Payload struct {
			Aud string `json:"aud"`
			VC  struct {
				Subject map[string]any `json:"credentialSubject"`
			} `json:"vc"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Alg != "EdDSA" || got.Payload.Aud != "bar.example" || got.Payload.VC.Subject["age_over_18"] != true {
		t.Fatalf("jose read %s (%v)", out, err)
	}
	if _, err := nodetest.Run(t, joseVerify, tamper(code), "bar.example"); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("jose accepted a tampered code: %v", err)
	}
	if _, err := nodetest.Run(t, joseVerify, code, "casino.example"); err == nil || !strings.Contains(err.Error(), "aud") {
		t.Errorf("jose accepted the wrong audience: %v", err)
	}
	// A code issued ten days ago with the default seven-day life.
	env.Clock.Set(time.Now().Add(-10 * 24 * time.Hour))
	old, _ := shareCode(t, env, p, "old.example")
	if _, err := nodetest.Run(t, joseVerify, old, "old.example"); err == nil || !strings.Contains(err.Error(), "exp") {
		t.Errorf("jose accepted an expired code: %v", err)
	}
}
