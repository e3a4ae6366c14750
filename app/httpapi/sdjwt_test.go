package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/nodetest"
)

// sdjwtVerify verifies an SD-JWT VC with OpenWallet Foundation's
// sd-jwt-js (@sd-jwt/sd-jwt-vc, hasher from @sd-jwt/crypto-nodejs) and
// Node's own Ed25519: the issuer's signature under the JWK given, the
// disclosure against its digest, and with a nonce the Key Binding JWT
// (signature under the cnf key, typ, nonce, sd_hash). It prints the header,
// the processed payload and the KB-JWT; it fails on anything else.
// Arguments: SD-JWT VC, issuer JWK (JSON), audience, nonce.
const sdjwtVerify = `
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';
import { createPublicKey, verify } from 'node:crypto';

const [cred, jwk, aud, nonce] = process.argv.slice(2);
const ed = (key) => (data, sig) => verify(null, Buffer.from(data), key, Buffer.from(sig, 'base64url'));
const issuerKey = createPublicKey({ key: JSON.parse(jwk), format: 'jwk' });
const vc = new SDJwtVcInstance({
  hasher: digest,
  verifier: ed(issuerKey),
  kbVerifier: (data, sig, payload) => ed(createPublicKey({ key: payload.cnf.jwk, format: 'jwk' }))(data, sig),
});
const r = await vc.verify(cred, { requiredClaimKeys: ['age_over_18'], keyBindingNonce: nonce });
if (r.payload.aud !== aud) throw new Error('aud is ' + r.payload.aud);
if (!r.kb || r.kb.payload.aud !== aud) throw new Error('KB-JWT aud is ' + (r.kb && r.kb.payload.aud));
console.log(JSON.stringify({ header: r.header, payload: r.payload, kb: r.kb }));
`

// TestSDJWTShareVerifiedBySDJWTJS: a share made with format=dc+sd-jwt and
// a nonce verifies with sd-jwt-js against the key the public URL's
// /.well-known/jwt-vc-issuer serves, key binding included; its vct
// resolves to type metadata. A tampered disclosure and a wrong nonce are
// refused.
func TestSDJWTShareVerifiedBySDJWTJS(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "sdjwt@example.org").str("token")
	want(t, e.json(t, "PUT", "/api/v1/profile/update-info", map[string]any{"token": tok, "updated_fields": map[string]any{"date_of_birth": "1990-05-01"}}), 200, "success", "")
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", e.srv.URL), 200, "success", "")
	const nonce = "8d5a2f1c-verifier-nonce"
	r := e.form(t, "POST", "/api/v1/profile/share-create", "token", tok, "service_id", "bar.example", "info_field", "age_over_18", "format", "dc+sd-jwt", "nonce", nonce)
	want(t, r, 201, "success", "")
	cred := r.str("credential")

	md := e.do(t, "GET", app.IssuerMetadataPath, "", nil)
	var meta struct {
		Issuer string `json:"issuer"`
		JWKS   struct {
			Keys []json.RawMessage `json:"keys"`
		} `json:"jwks"`
	}
	if md.Code != 200 || json.Unmarshal(md.Raw, &meta) != nil || meta.Issuer != e.srv.URL || len(meta.JWKS.Keys) != 1 {
		t.Fatalf("issuer metadata: %d %s", md.Code, md.Raw)
	}
	jwk := string(meta.JWKS.Keys[0])

	out, err := nodetest.Run(t, sdjwtVerify, cred, jwk, "bar.example", nonce)
	if err != nil {
		t.Fatalf("sd-jwt-js refused our SD-JWT VC: %v", err)
	}
	var got struct {
		Header  map[string]any `json:"header"`
		Payload map[string]any `json:"payload"`
		KB      struct {
			Header  map[string]any `json:"header"`
			Payload map[string]any `json:"payload"`
		} `json:"kb"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("sd-jwt-js printed %q: %v", out, err)
	}
	vct := e.srv.URL + app.VCTPath
	if got.Header["typ"] != "dc+sd-jwt" || got.Header["alg"] != "EdDSA" || got.Payload["age_over_18"] != true ||
		got.Payload["vct"] != vct || got.Payload["iss"] != e.srv.URL || got.Payload["aud"] != "bar.example" {
		t.Errorf("sd-jwt-js read %s", out)
	}
	if got.KB.Header["typ"] != "kb+jwt" || got.KB.Payload["nonce"] != nonce || got.KB.Payload["aud"] != "bar.example" || got.KB.Payload["sd_hash"] == nil {
		t.Errorf("sd-jwt-js read the KB-JWT as %v", got.KB)
	}

	// The vct resolves to type metadata.
	tm := e.do(t, "GET", strings.TrimPrefix(vct, e.srv.URL), "", nil)
	if tm.Code != 200 || tm.str("vct") != vct || tm.str("name") == "" || tm.Body["claims"] == nil {
		t.Errorf("type metadata: %d %s", tm.Code, tm.Raw)
	}

	// Refusals: a disclosure changed (age_over_18 false under the same
	// salt), a wrong nonce.
	parts := strings.Split(cred, "~")
	dec, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var arr []any
	if json.Unmarshal(dec, &arr) != nil || len(arr) != 3 || arr[1] != "age_over_18" {
		t.Fatalf("disclosure %s", dec)
	}
	forged, _ := app.SDDisclosure(arr[0].(string), "age_over_18", json.RawMessage(`false`))
	tampered := strings.Join([]string{parts[0], forged, parts[2]}, "~")
	if _, err := nodetest.Run(t, sdjwtVerify, tampered, jwk, "bar.example", nonce); err == nil {
		t.Errorf("sd-jwt-js accepted a tampered disclosure")
	}
	if _, err := nodetest.Run(t, sdjwtVerify, cred, jwk, "bar.example", "another-nonce"); err == nil || !strings.Contains(err.Error(), "Nonce") {
		t.Errorf("sd-jwt-js accepted a wrong nonce: %v", err)
	}
}
