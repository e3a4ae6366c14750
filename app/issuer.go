package app

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/mr-tron/base58"
)

// DIDKey is the did:key identifier of an Ed25519 public key: the
// multicodec ed25519-pub prefix (0xed 0x01) and the key, in base58btc
// with the multibase prefix "z".
func DIDKey(pub ed25519.PublicKey) string {
	return "did:key:z" + base58.Encode(append([]byte{0xed, 0x01}, pub...))
}

// JWK is an Ed25519 public key as a JSON Web Key (RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// issuer signs share credentials with a profile's signing key.
type issuer struct {
	did    string
	kid    string
	jwk    JWK
	signer jose.Signer
}

func newIssuer(seed []byte) (*issuer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key: %d bytes", len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	did := DIDKey(pub)
	kid := did + "#" + did[len("did:key:"):]
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.EdDSA,
		Key:       jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.EdDSA)},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &issuer{
		did: did, kid: kid, signer: signer,
		jwk: JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Alg: "EdDSA", Use: "sig"},
	}, nil
}

// credentialContext is the W3C Verifiable Credentials context.
const credentialContext = "https://www.w3.org/2018/credentials/v1"

// credentialPayload is a share credential: a JWT-encoded verifiable
// credential whose subject carries the one shared claim and nothing else.
type credentialPayload struct {
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
	VC  struct {
		Context []string                   `json:"@context"`
		Type    []string                   `json:"type"`
		Subject map[string]json.RawMessage `json:"credentialSubject"`
	} `json:"vc"`
}

// sign returns a compact JWS (EdDSA) of a credential for one claim, to
// audience, valid from now until expires, with a fresh unique id.
func (is *issuer) sign(audience, claim string, value json.RawMessage, now, expires time.Time) (string, error) {
	var p credentialPayload
	p.Iss, p.Aud, p.Jti = is.did, audience, "urn:uuid:"+NewID()
	p.Iat, p.Nbf, p.Exp = now.Unix(), now.Unix(), expires.Unix()
	p.VC.Context = []string{credentialContext}
	p.VC.Type = []string{"VerifiableCredential", "ProfileClaimCredential"}
	p.VC.Subject = map[string]json.RawMessage{claim: value}
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	jws, err := is.signer.Sign(b)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// issuers caches the parsed signing key of each profile, so a credential
// costs one signature and not a read, an unseal and a key expansion.
// Reaching an entry takes the user's data key (a session or a share's
// verification token) in the first place.
type issuers struct {
	mu sync.Mutex
	m  map[string]*issuer
}

const issuerCacheMax = 4096

func (c *issuers) get(profileID string) *issuer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[profileID]
}

func (c *issuers) put(profileID string, is *issuer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= issuerCacheMax {
		c.m = map[string]*issuer{}
	}
	c.m[profileID] = is
}

// issuerFor returns the profile's issuer, from the cache or read in tx.
func (a *App) issuerFor(tx Tx, profileID string) (*issuer, error) {
	if is := a.caches.issuers.get(profileID); is != nil {
		return is, nil
	}
	c, ok, err := tx.Get(EntityProfile, profileID, "signing_key")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("profile %s has no signing key", profileID)
	}
	is, err := newIssuer(c.Value)
	if err != nil {
		return nil, err
	}
	a.caches.issuers.put(profileID, is)
	return is, nil
}
