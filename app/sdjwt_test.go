package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// TestSDJWTRFC9901Vectors reproduces RFC 9901's own examples byte for
// byte: the salts, Disclosures and digests of §4.2.1–§4.2.3 (the Möbius
// and nationalities examples), of the main example (§5.1) and of Appendix
// A.1 (Simple Structured SD-JWT). Values are given as the RFC's JSON text
// (its Python-style ", " and ": " separators), which a Disclosure carries
// as it is.
func TestSDJWTRFC9901Vectors(t *testing.T) {
	for _, v := range []struct {
		where, salt, name, value, disclosure, digest string
	}{
		{"§4.2.1/§4.2.3", "_26bc4LT-ac6q2KI6cBW5es", "family_name", `"Möbius"`, "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0", "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"},
		{"§4.2.2", "lklxF5jMYlGTPUovMNIvCA", "", `"FR"`, "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0", ""},
		{"§5.1 given_name", "2GLC42sKQveCfGfryNRN9w", "given_name", `"John"`, "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd", "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"},
		{"§5.1 family_name", "eluV5Og3gSNII8EYnsxA_A", "family_name", `"Doe"`, "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd", "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo"},
		{"§5.1 email", "6Ij7tM-a5iVPGboS5tmvVA", "email", `"johndoe@example.com"`, "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ", "JzYjH4svliH0R3PyEMfeZu6Jt69u5qehZo7F7EPYlSE"},
		{"§5.1 phone_number", "eI8ZWm9QnKPpNPeNenHdhQ", "phone_number", `"+1-202-555-0101"`, "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ", "PorFbpKuVu6xymJagvkFsFXAbRoc2JGlAUA2BA4o7cI"},
		{"§5.1 phone_number_verified", "Qg_O64zqAxe412a108iroA", "phone_number_verified", `true`, "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd", "XQ_3kPKt1XyX7KANkqVR6yZ2Va5NrPIvPYbyMvRKBMM"},
		{"§5.1 address", "AJx-095VPrpTtN4QMOqROA", "address", `{"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"}`, "WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2FsaXR5IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0", "XzFrzwscM6Gn6CJDc6vVK8BkMnfG8vOSKfpPIZdAfdE"},
		{"§5.1 birthdate", "Pc33JM2LchcU_lHggv_ufQ", "birthdate", `"1940-01-01"`, "WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0", "gbOsI4Edq2x2Kw-w5wPEzakob9hV1cRD0ATN3oQL9JM"},
		{"§5.1 updated_at", "G02NSrQfjFXQ7Io09syajA", "updated_at", `1570000000`, "WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ", "CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI"},
		{"§5.1 nationalities[0]", "lklxF5jMYlGTPUovMNIvCA", "", `"US"`, "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0", "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo"},
		{"§5.1 nationalities[1]", "nPuoQnkRFq3BIeAm7AnXFA", "", `"DE"`, "WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0", "7Cf6JkPudry3lcbwHgeZ8khAv1U1OSlerP0VkBJrWZ0"},
		{"A.1 sub", "2GLC42sKQveCfGfryNRN9w", "sub", `"6c5c0a49-b589-431d-bae7-219122a9ec2c"`, "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgInN1YiIsICI2YzVjMGE0OS1iNTg5LTQzMWQtYmFlNy0yMTkxMjJhOWVjMmMiXQ", "X6ZAYOII2vPN40V7xExZwVwz7yRmLNcVwt5DL8RLv4g"},
		{"A.1 email", "eI8ZWm9QnKPpNPeNenHdhQ", "email", `"\"unusual email address\"@example.jp"`, "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgImVtYWlsIiwgIlwidW51c3VhbCBlbWFpbCBhZGRyZXNzXCJAZXhhbXBsZS5qcCJd", "Kuet1yAa0HIQvYnOVd59hcViO9Ug6J2kSfqYRBeowvE"},
		{"A.1 phone_number", "Qg_O64zqAxe412a108iroA", "phone_number", `"+81-80-1234-5678"`, "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlciIsICIrODEtODAtMTIzNC01Njc4Il0", "s0BKYsLWxQQeU8tVlltM7MKsIRTrEIa1PkJmqxBBf5U"},
		{"A.1 address.country", "lklxF5jMYlGTPUovMNIvCA", "country", `"JP"`, "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgImNvdW50cnkiLCAiSlAiXQ", "uNHoWYhXsZhVJCNE2Dqy-zqt7t69gJKy5QaFv7GrMX4"},
		{"A.1 birthdate", "yytVbdAPGcgl2rI4C9GSog", "birthdate", `"1940-01-01"`, "WyJ5eXRWYmRBUEdjZ2wyckk0QzlHU29nIiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0", "MMldOFFzB2d0umlmpTIaGerhWdU_PpYfLvKhh_f_9aY"},
	} {
		d, err := app.SDDisclosure(v.salt, v.name, json.RawMessage(v.value))
		if err != nil || d != v.disclosure {
			t.Errorf("%s: disclosure %s (%v), RFC 9901 has %s", v.where, d, err, v.disclosure)
		}
		if got := app.SDDigest(v.disclosure); v.digest != "" && got != v.digest {
			t.Errorf("%s: digest %s, RFC 9901 has %s", v.where, got, v.digest)
		}
	}
	// A string the default JSON encoder would HTML-escape stays as it is.
	d, _ := app.SDDisclosure("s", "n", json.RawMessage(`"<&>"`))
	if raw, _ := base64.RawURLEncoding.DecodeString(d); string(raw) != `["s", "n", "<&>"]` {
		t.Errorf("disclosure %s", raw)
	}
}

// sdShare makes an SD-JWT VC share of age_over_18 for service.
func sdShare(t *testing.T, env *storetest.Env, p *app.Principal, service, nonce string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"date_of_birth":"1990-05-01"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: service, InfoField: "age_over_18", Format: app.ShareFormatSDJWT, Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	return sh.Credential
}

func issuerKeyOf(t testing.TB, env *storetest.Env, host string) []byte {
	t.Helper()
	m, err := env.App.IssuerMetadataFor(context.Background(), host)
	if err != nil || len(m.JWKS.Keys) != 1 {
		t.Fatalf("issuer metadata for %s: %+v %v", host, m, err)
	}
	x, _ := base64.RawURLEncoding.DecodeString(m.JWKS.Keys[0].X)
	return x
}

func TestSDJWTShare(t *testing.T) {
	env := storetest.New(t, app.Config{PublicURL: "https://profile.example.org"})
	p := newUser(t, env, "sdjwt@example.org")
	pub := issuerKeyOf(t, env, "PROFILE.example.org")
	now := env.Clock.Now()

	cred := sdShare(t, env, p, "bar.example", "")
	if !strings.HasSuffix(cred, "~") || strings.Count(cred, "~") != 2 {
		t.Fatalf("not one disclosure ending with ~: %s", cred)
	}
	c, err := app.VerifySDJWT(cred, pub, "bar.example", "", now)
	if err != nil || c.Issuer != "https://profile.example.org" || c.VCT != "https://profile.example.org"+app.VCTPath || string(c.Claims["age_over_18"]) != "true" || len(c.Claims) != 1 {
		t.Fatalf("verify: %+v %v", c, err)
	}
	// The issuer JWT's header and payload, as a wallet reads them.
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(cred, ".")[0])
	var h map[string]string
	json.Unmarshal(hdr, &h)
	if h["typ"] != "dc+sd-jwt" || h["alg"] != "EdDSA" || !strings.HasPrefix(h["kid"], "did:key:z6Mk") {
		t.Errorf("header %s", hdr)
	}
	body, _ := base64.RawURLEncoding.DecodeString(strings.Split(cred, ".")[1])
	if strings.Contains(string(body), "age_over_18") || !strings.Contains(string(body), `"_sd_alg":"sha-256"`) || strings.Contains(string(body), "cnf") {
		t.Errorf("payload discloses the claim or misses _sd_alg: %s", body)
	}
	if _, err := app.VerifySDJWT(cred, pub, "casino.example", "", now); err == nil {
		t.Errorf("wrong audience accepted")
	}
	if _, err := app.VerifySDJWT(cred, pub, "bar.example", "n-1", now); err == nil {
		t.Errorf("a nonce was demanded and no key binding accepted")
	}

	// Key binding.
	kb := sdShare(t, env, p, "bar.example", "n-0S6_WzA2Mj")
	if strings.HasSuffix(kb, "~") || strings.Count(kb, "~") != 2 {
		t.Fatalf("no KB-JWT after the last ~: %s", kb)
	}
	c, err = app.VerifySDJWT(kb, pub, "bar.example", "n-0S6_WzA2Mj", now)
	if err != nil || c.Nonce != "n-0S6_WzA2Mj" {
		t.Fatalf("verify with key binding: %+v %v", c, err)
	}
	if _, err := app.VerifySDJWT(kb, pub, "bar.example", "another-nonce", now); err == nil {
		t.Errorf("wrong nonce accepted")
	}
	// A tampered disclosure: its digest is not among the signed ones.
	parts := strings.Split(cred, "~")
	forged, _ := app.SDDisclosure("AAAAAAAAAAAAAAAAAAAAAA", "age_over_18", json.RawMessage(`false`))
	if _, err := app.VerifySDJWT(parts[0]+"~"+forged+"~", pub, "bar.example", "", now); err == nil {
		t.Errorf("tampered disclosure accepted")
	}
	// Refusals of the request.
	ctx := context.Background()
	for _, r := range []app.ShareRequest{
		{ServiceID: "s", InfoField: "age", Format: "jwt"},
		{ServiceID: "s", InfoField: "age", Nonce: "n"},
		{ServiceID: "s", InfoField: "age", Format: app.ShareFormatSDJWT, Nonce: strings.Repeat("n", 257)},
	} {
		if _, err := env.App.CreateShare(ctx, p, r); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if _, err := env.App.IssuerMetadataFor(ctx, "other.example"); err == nil {
		t.Errorf("issuer metadata for a host no profile has")
	}
}
