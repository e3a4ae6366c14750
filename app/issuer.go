package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/mr-tron/base58"

	"github.com/secure-personal-profile/spp/crypto"
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
	priv ed25519.PrivateKey
	did  string
	kid  string
	jwk  JWK
	// header and sdHeader are the JWS protected headers of its
	// credentials (typ JWT) and of its SD-JWT VCs (typ dc+sd-jwt, sdjwt.go),
	// base64url-encoded once (encodeJWSHeader).
	header, sdHeader string
}

func newIssuer(seed []byte) (*issuer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key: %d bytes", len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	did := DIDKey(pub)
	kid := did + "#" + did[len("did:key:"):]
	return &issuer{
		priv: priv, did: did, kid: kid, header: encodeJWSHeader(kid, "JWT"), sdHeader: encodeJWSHeader(kid, sdJWTType),
		jwk: JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Alg: "EdDSA", Use: "sig"},
	}, nil
}

// jwsHeader is a JWS protected header (RFC 7515) of an EdDSA signature,
// its members in the order go-jose writes them (sorted).
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ"`
}

// encodeJWSHeader is the base64url encoding of an EdDSA JWS protected
// header with that key id (none when empty) and type.
func encodeJWSHeader(kid, typ string) string {
	b, _ := json.Marshal(jwsHeader{Alg: string(jose.EdDSA), Kid: kid, Typ: typ}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// compactJWS is the JWS compact serialization (RFC 7515 section 7.1) of
// payload under an encoded header (encodeJWSHeader), signed with
// crypto/ed25519: what go-jose's Signer makes for the same key and header,
// byte for byte (TestCompactJWSIsJoses), without building and encoding the
// header again for every signature (go-jose's generic path cost 60 % on
// top of the signature itself, and 85 allocations).
func compactJWS(priv ed25519.PrivateKey, header string, payload []byte) string {
	enc := base64.RawURLEncoding
	n := len(header) + 1 + enc.EncodedLen(len(payload))
	b := make([]byte, n, n+1+enc.EncodedLen(ed25519.SignatureSize))
	copy(b, header)
	b[len(header)] = '.'
	enc.Encode(b[len(header)+1:], payload)
	sig := ed25519.Sign(priv, b)
	b = append(b, '.')
	return string(enc.AppendEncode(b, sig))
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
		Status  *credentialStatus          `json:"credentialStatus,omitempty"`
	} `json:"vc"`
}

// credentialStatus names where the share's live state can be asked (W3C
// VC "credentialStatus"): GET it for {"state": active|revoked|expired}.
type credentialStatus struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// CredentialStatusType is the type of a share credential's status entry.
const CredentialStatusType = "SPPShareStatus"

// credentialNS is the UUID namespace of credential ids.
var credentialNS = uuid.MustParse("5d0c3a52-8f1e-4c6b-9a57-2f0e6b1d7c34")

// credentialID is a credential's unique id: a name-based UUID (version 8,
// SHA-256) of everything the credential says. Two credentials differ in
// id whenever they differ in anything else; signing the same content in
// the same second gives the same credential, byte for byte (Ed25519 is
// deterministic), which is what lets /verify reuse it within that second.
func credentialID(shareID, audience, claim string, value json.RawMessage, status string, iat, exp int64) string {
	data := shareID + "\x00" + audience + "\x00" + claim + "\x00" + strconv.FormatInt(iat, 10) + "\x00" +
		strconv.FormatInt(exp, 10) + "\x00" + string(value) + "\x00" + status
	return "urn:uuid:" + uuid.NewHash(sha256.New(), credentialNS, []byte(data), 8).String()
}

// sign returns a compact JWS (EdDSA) of a credential for one claim of a
// share, to audience, valid from now (to the second) until expires.
func (is *issuer) sign(shareID, audience, claim string, value json.RawMessage, statusURL string, now, expires time.Time) (string, error) {
	iat, exp := now.Unix(), expires.Unix()
	b, err := appendCredential(make([]byte, 0, 512), is.did, audience, credentialID(shareID, audience, claim, value, statusURL, iat, exp), claim, value, statusURL, iat, exp)
	if err != nil {
		return "", err
	}
	return compactJWS(is.priv, is.header, b), nil
}

// appendCredential appends a credential's payload (credentialPayload,
// not before iat), as encoding/json writes it.
func appendCredential(b []byte, iss, aud, jti, claim string, value json.RawMessage, statusURL string, iat, exp int64) ([]byte, error) {
	b = append(b, '{')
	b = appendJSONField(b, "iss", iss)
	b = appendJSONField(b, "aud", aud)
	b = appendJSONInt(b, "iat", iat)
	b = appendJSONInt(b, "nbf", iat)
	b = appendJSONInt(b, "exp", exp)
	b = appendJSONField(b, "jti", jti)
	b = append(b, `,"vc":{"@context":["`+credentialContext+`"],"type":["VerifiableCredential","ProfileClaimCredential"],"credentialSubject":{`...)
	b = AppendJSONString(b, claim)
	b = append(b, ':')
	b, err := AppendJSONRaw(b, value)
	if err != nil {
		return nil, err
	}
	b = append(b, '}')
	if statusURL != "" {
		b = append(b, `,"credentialStatus":{`...)
		b = appendJSONField(b, "id", statusURL)
		b = appendJSONField(b, "type", CredentialStatusType)
		b = append(b, '}')
	}
	return append(b, '}', '}'), nil
}

// issuers caches the parsed signing key of each user's profile, so a
// credential costs one signature and not a read, an unwrap and a key
// expansion. Entries are keyed by user id: a profile id is only a name
// another account could claim.
type issuers struct {
	mu sync.Mutex
	m  map[string]*issuer
}

const issuerCacheMax = 4096

func (c *issuers) get(userID string) *issuer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[userID]
}

func (c *issuers) put(userID string, is *issuer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= issuerCacheMax {
		c.m = map[string]*issuer{}
	}
	c.m[userID] = is
}

func (c *issuers) drop(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, userID)
}

// issuerFor returns the issuer of the transaction's user, from the cache
// or read in tx (with the data key).
func (a *core) issuerFor(tx Tx, profileID string) (*issuer, error) {
	if is := a.caches.issuers.get(tx.UserID()); is != nil {
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
	a.caches.issuers.put(tx.UserID(), is)
	return is, nil
}

// issuerOf returns a user's issuer without any data key: from the cache,
// or the signing key this device keeps wrapped under its installation key
// (deriveKeys). A capability's view never holds it.
func (a *core) issuerOf(ctx context.Context, userID string) (*issuer, error) {
	if is := a.caches.issuers.get(userID); is != nil {
		return is, nil
	}
	w, err := a.store.SigningKey(ctx, userID)
	if err != nil {
		return nil, err
	}
	seed, err := crypto.Unwrap(a.store.InstallationKey(), w, purposeSigningKey+userID)
	if err != nil {
		return nil, err
	}
	is, err := newIssuer(seed)
	if err != nil {
		return nil, err
	}
	a.caches.issuers.put(userID, is)
	return is, nil
}

// credentials keeps, per share, the last credential /verify signed, to
// hand out again while nothing it says has changed: same second (iat),
// same value, same audience and expiry. It is exactly what signing again
// would give (see credentialID); the share's state and value are still read
// live first, so a revoked, expired or changed share is never answered from
// here.
type credentials struct {
	mu sync.Mutex
	m  map[string]signedCredential
}

type signedCredential struct {
	key string // everything the credential says
	jws string
}

const credentialCacheMax = 8192

func credentialKey(audience, claim string, value json.RawMessage, iat, exp int64) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%s", audience, claim, iat, exp, value)
}

func (c *credentials) get(shareID, key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[shareID]
	if !ok || e.key != key {
		return "", false
	}
	return e.jws, true
}

func (c *credentials) put(shareID, key, jws string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= credentialCacheMax {
		c.m = map[string]signedCredential{}
	}
	c.m[shareID] = signedCredential{key: key, jws: jws}
}

// credential returns a share's credential for the claim's current value,
// signed now (or the identical one signed earlier this second).
func (a *core) credential(is *issuer, shareID, audience, claim string, value json.RawMessage, statusURL string, now, expires time.Time) (string, error) {
	key := credentialKey(audience, claim, value, now.Unix(), expires.Unix()) + "\x00" + statusURL
	if jws, ok := a.caches.creds.get(shareID, key); ok {
		return jws, nil
	}
	jws, err := is.sign(shareID, audience, claim, value, statusURL, now, expires)
	if err != nil {
		return "", err
	}
	a.caches.creds.put(shareID, key, jws)
	return jws, nil
}
