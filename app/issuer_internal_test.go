package app

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestCompactJWSIsJoses: a share credential, an SD-JWT VC's issuer JWT, a
// Key Binding JWT and a responder badge are, byte for byte, the compact
// JWS go-jose's Signer makes of the same payload with the same key and
// header (Ed25519 is deterministic), and go-jose verifies them.
func TestCompactJWSIsJoses(t *testing.T) {
	now := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	for i, seedByte := range []byte{0, 7, 255} {
		seed := make([]byte, ed25519.SeedSize)
		for j := range seed {
			seed[j] = seedByte + byte(j)
		}
		is, err := newIssuer(seed)
		if err != nil {
			t.Fatal(err)
		}
		joses := func(key any, kid, typ string) jose.Signer {
			jwk := jose.JSONWebKey{Key: key, KeyID: kid}
			if kid != "" {
				jwk.Algorithm = string(jose.EdDSA)
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jwk}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		check := func(what, got string, signer jose.Signer, kid, typ string) {
			t.Helper()
			obj, err := jose.ParseSignedCompact(got, []jose.SignatureAlgorithm{jose.EdDSA})
			if err != nil {
				t.Fatalf("%s: go-jose cannot parse %s: %v", what, got, err)
			}
			payload, err := obj.Verify(is.priv.Public())
			if err != nil {
				t.Fatalf("%s: go-jose does not verify %s: %v", what, got, err)
			}
			want, err := signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			if wantJWS, _ := want.CompactSerialize(); got != wantJWS {
				t.Errorf("%s:\n%s\nwant go-jose's\n%s", what, got, wantJWS)
			}
			if h := obj.Signatures[0].Protected; h.KeyID != kid || h.ExtraHeaders[jose.HeaderType] != typ || h.Algorithm != "EdDSA" {
				t.Errorf("%s: header %+v", what, h)
			}
		}
		for _, value := range []string{`true`, `42`, `"Grace <Hopper> & co"`, `"Zoë 😀"`, `{"a":[1,2]}`, `null`} {
			got, err := is.sign("01a232c5-5f55-73c8-84fb-5f7d97bfd8b8", "shop.example", "name", json.RawMessage(value),
				"http://127.0.0.1:8000/api/v1/status/x", now, now.Add(time.Duration(i+1)*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			check("credential "+value, got, joses(is.priv, is.kid, "JWT"), is.kid, "JWT")
		}
		// The signers themselves, each with its own header.
		sd, err := is.signSDJWT(sdShare{Audience: "shop.example", Claim: "age_over_18", Value: json.RawMessage("true"), Now: now, Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		check("SD-JWT VC", strings.SplitN(sd, "~", 2)[0], joses(is.priv, is.kid, sdJWTType), is.kid, sdJWTType)
		kb, err := signKB(is.priv, kbPayload{Aud: "shop.example", Nonce: "n-0S6_WzA2Mj", Iat: now.Unix(), SDHash: "abc"})
		if err != nil {
			t.Fatal(err)
		}
		check("key binding JWT", kb, joses(is.priv, "", kbJWTType), "", kbJWTType)
		badge, err := IssueBadge(is.priv, Badge{ResponderID: "medic-1", Name: "A. Medic", IssuedAt: now, Expires: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		badgeKid, _ := ResponderKeyID(is.priv.Public().(ed25519.PublicKey))
		check("badge", badge, joses(is.priv, badgeKid, BadgeType), badgeKid, BadgeType)
	}
}

// TestCredentialIDIsStable: a credential's id is a name-based UUID of what
// it says; devices of every version must agree on it (a fixed vector,
// the value the earlier fmt.Sprintf construction gave).
func TestCredentialIDIsStable(t *testing.T) {
	got := credentialID("01a232c5-5f55-73c8-84fb-5f7d97bfd8b8", "shop.example", "age_over_18", json.RawMessage("true"),
		"https://profile.example.org/api/v1/status/01a232c5-5f55-73c8-84fb-5f7d97bfd8b8", 1796140800, 1796745600)
	if want := "urn:uuid:7b26eb54-29a4-88dd-a31e-da4cd3b7930c"; got != want {
		t.Errorf("credentialID = %s, want %s", got, want)
	}
}
