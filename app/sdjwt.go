package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/secure-personal-profile/spp/crypto"
)

// Shares in the wallet ecosystem's format (API.md Part 4): with
// format=dc+sd-jwt a share's credential is an SD-JWT VC (RFC 9901 SD-JWT
// with draft-ietf-oauth-sd-jwt-vc): an issuer-signed JWT (typ dc+sd-jwt,
// EdDSA by the profile's key, kid its did:key) whose one shared claim is
// selectively disclosable, followed by that claim's disclosure and "~".
// With a nonce, the JWT carries a holder key (cnf) that this device keeps
// and a Key Binding JWT (typ kb+jwt) signed by it closes the presentation.
// No Go SD-JWT library is maintained and small enough, so this is built
// on go-jose's JWS and checked against RFC 9901's own examples
// (sdjwt_test.go) and by OpenWallet Foundation's sd-jwt-js.

// Share credential formats.
const (
	ShareFormatJWS   = "jws"
	ShareFormatSDJWT = "dc+sd-jwt"
)

// Paths of the SD-JWT VC type metadata and of the issuer metadata, under
// the profile's public URL.
const (
	VCTPath            = "/api/v1/vct/profile-claim"
	IssuerMetadataPath = "/.well-known/jwt-vc-issuer"
)

const (
	sdJWTType  = "dc+sd-jwt"
	kbJWTType  = "kb+jwt"
	sdAlg      = "sha-256"
	maxNonce   = 256
	saltBytes  = 16 // 128 bits (RFC 9901 §9.3)
	holderSeed = "sd-jwt-holder/"
)

var (
	errShareFormat = E(KindInvalid, "invalid_format", "format must be jws or dc+sd-jwt!")
	errShareNonce  = E(KindInvalid, "invalid_nonce", "nonce must be 1 to 256 printable characters, with format dc+sd-jwt!")
	errSDJWT       = E(KindInvalid, "malformed_sd_jwt", "the credential is not an SD-JWT VC!")
)

// ParseShareFormat reads a format parameter: "" is the default, jws.
func ParseShareFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", ShareFormatJWS:
		return ShareFormatJWS, nil
	case ShareFormatSDJWT:
		return ShareFormatSDJWT, nil
	}
	return "", errShareFormat
}

// checkShareFormat validates a request's format and nonce together: a
// nonce asks for key binding, which only an SD-JWT VC has.
func checkShareFormat(format, nonce string) (string, error) {
	f, err := ParseShareFormat(format)
	if err != nil {
		return "", err
	}
	if nonce != "" && (f != ShareFormatSDJWT || len(nonce) > maxNonce || !validServiceID(nonce)) {
		return "", errShareNonce
	}
	return f, nil
}

// SDDisclosure is an RFC 9901 Disclosure (§4.2.1, §4.2.2): the base64url
// of the JSON array [salt, name, value], or [salt, value] for an array
// element (name ""). value is put in as given (its JSON text is what the
// digest signs); the members are separated by ", " as in the RFC's
// examples, and strings are not HTML-escaped.
func SDDisclosure(salt, name string, value json.RawMessage) (string, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	parts := []any{salt}
	if name != "" {
		parts = append(parts, name)
	}
	for _, p := range parts {
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			return "", err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteString(", ")
	}
	if !json.Valid(value) {
		return "", fmt.Errorf("disclosure value is not JSON")
	}
	b.Write(value)
	b.WriteByte(']')
	return base64.RawURLEncoding.EncodeToString(b.Bytes()), nil
}

// SDDigest is the digest of a disclosure (RFC 9901 §4.2.3): base64url of
// SHA-256 over the disclosure's ASCII text. The same hash of a
// presentation is a Key Binding JWT's sd_hash.
func SDDigest(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// sdPayload is the issuer-signed JWT of a share in SD-JWT VC form.
type sdPayload struct {
	Iss   string   `json:"iss"`
	Iat   int64    `json:"iat"`
	Exp   int64    `json:"exp"`
	Vct   string   `json:"vct"`
	Aud   string   `json:"aud"`
	SD    []string `json:"_sd"`
	SDAlg string   `json:"_sd_alg"`
	Cnf   *sdCnf   `json:"cnf,omitempty"`
}

type sdCnf struct {
	JWK JWK `json:"jwk"`
}

// kbPayload is a Key Binding JWT's claims (RFC 9901 §4.3).
type kbPayload struct {
	Aud    string `json:"aud"`
	Nonce  string `json:"nonce"`
	Iat    int64  `json:"iat"`
	SDHash string `json:"sd_hash"`
}

// sdShare is what one SD-JWT VC says.
type sdShare struct {
	Issuer   string // the profile's public URL
	VCT      string
	Audience string
	Claim    string
	Value    json.RawMessage
	Now      time.Time
	Expires  time.Time
	Salt     string             // "" for a fresh random one
	Holder   ed25519.PrivateKey // with Nonce: the key the credential binds
	Nonce    string
}

// newSalt is 128 random bits, base64url.
func newSalt() (string, error) {
	b := make([]byte, saltBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// signSDJWT issues an SD-JWT VC of one claim: the issuer-signed JWT, the
// claim's disclosure, "~"; with a nonce also the Key Binding JWT.
func (is *issuer) signSDJWT(s sdShare) (string, error) {
	salt := s.Salt
	if salt == "" {
		var err error
		if salt, err = newSalt(); err != nil {
			return "", err
		}
	}
	disclosure, err := SDDisclosure(salt, s.Claim, s.Value)
	if err != nil {
		return "", err
	}
	p := sdPayload{
		Iss: s.Issuer, Iat: s.Now.Unix(), Exp: s.Expires.Unix(), Vct: s.VCT, Aud: s.Audience,
		SD: []string{SDDigest(disclosure)}, SDAlg: sdAlg,
	}
	if s.Nonce != "" {
		p.Cnf = &sdCnf{JWK: holderJWK(s.Holder)}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sdjwt := compactJWS(is.priv, is.sdHeader, body) + "~" + disclosure + "~"
	if s.Nonce == "" {
		return sdjwt, nil
	}
	kb, err := signKB(s.Holder, kbPayload{Aud: s.Audience, Nonce: s.Nonce, Iat: s.Now.Unix(), SDHash: SDDigest(sdjwt)})
	if err != nil {
		return "", err
	}
	return sdjwt + kb, nil
}

// kbHeader is a Key Binding JWT's protected header: no key id (the
// holder's key is the credential's cnf).
var kbHeader = encodeJWSHeader("", kbJWTType)

func signKB(holder ed25519.PrivateKey, p kbPayload) (string, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return compactJWS(holder, kbHeader, body), nil
}

// holderJWK is the public JWK of a holder key.
func holderJWK(k ed25519.PrivateKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey))}
}

// holderKey is the key this device binds a user's SD-JWT VCs to: derived
// from the installation key, so it never leaves the device and needs no
// storage.
func (a *core) holderKey(userID string) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(crypto.DeriveSubkey(a.store.InstallationKey(), holderSeed+userID)[:ed25519.SeedSize])
}

// sdShareFor fills in what an SD-JWT VC of the user's says besides the
// claim: the profile's public URL as issuer, the vct there, and with a
// nonce the device's holder key.
func (a *core) sdShareFor(ctx context.Context, userID, nonce string) sdShare {
	s := sdShare{Issuer: a.userURL(ctx, userID, ""), VCT: a.userURL(ctx, userID, VCTPath), Nonce: nonce}
	if nonce != "" {
		s.Holder = a.holderKey(userID)
	}
	return s
}

// SDJWTCheck is what verifying an SD-JWT VC found.
type SDJWTCheck struct {
	Issuer    string
	VCT       string
	Audience  string
	Claims    map[string]json.RawMessage // the disclosed claims
	IssuedAt  time.Time
	ExpiresAt time.Time
	Nonce     string // the Key Binding JWT's, when there is one
}

// VerifySDJWT verifies an SD-JWT VC of ours against the issuer's public
// key: signature and typ, every disclosure's digest among the signed ones,
// the times at now; with audience, its aud; with a key binding JWT, its
// signature by the cnf key, typ, aud, sd_hash and (with nonce) nonce. A
// nonce demands key binding.
func VerifySDJWT(text string, pub ed25519.PublicKey, audience, nonce string, now time.Time) (*SDJWTCheck, error) {
	text = strings.TrimSpace(text)
	parts := strings.Split(text, "~")
	if len(parts) < 2 || len(text) > shareCodeMaxSize {
		return nil, errSDJWT
	}
	kb := parts[len(parts)-1]
	presented := text[:len(text)-len(kb)]
	obj, err := jose.ParseSigned(parts[0], []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(obj.Signatures) != 1 || obj.Signatures[0].Protected.ExtraHeaders[jose.HeaderType] != sdJWTType {
		return nil, errSDJWT
	}
	body, err := obj.Verify(pub)
	if err != nil {
		return nil, errCodeSignature
	}
	var p sdPayload
	if err := json.Unmarshal(body, &p); err != nil || p.SDAlg != sdAlg || p.Vct == "" {
		return nil, errSDJWT
	}
	c := &SDJWTCheck{Issuer: p.Iss, VCT: p.Vct, Audience: p.Aud, Claims: map[string]json.RawMessage{}, IssuedAt: time.Unix(p.Iat, 0).UTC(), ExpiresAt: time.Unix(p.Exp, 0).UTC()}
	signed := map[string]bool{}
	for _, d := range p.SD {
		signed[d] = true
	}
	for _, d := range parts[1 : len(parts)-1] {
		if !signed[SDDigest(d)] {
			return nil, errCodeSignature
		}
		delete(signed, SDDigest(d)) // a disclosure counts once
		raw, err := base64.RawURLEncoding.DecodeString(d)
		var arr []json.RawMessage
		if err != nil || json.Unmarshal(raw, &arr) != nil || len(arr) != 3 {
			return nil, errSDJWT
		}
		var name string
		if json.Unmarshal(arr[1], &name) != nil || name == "_sd" || name == "..." {
			return nil, errSDJWT
		}
		c.Claims[name] = arr[2]
	}
	switch {
	case !now.Before(c.ExpiresAt):
		return c, errCodeExpired
	case audience != "" && p.Aud != audience:
		return c, errCodeAudience
	}
	if kb == "" {
		if nonce != "" {
			return c, errCodeBinding
		}
		return c, nil
	}
	if p.Cnf == nil {
		return c, errCodeBinding
	}
	hx, err := base64.RawURLEncoding.DecodeString(p.Cnf.JWK.X)
	if err != nil || len(hx) != ed25519.PublicKeySize || p.Cnf.JWK.Kty != "OKP" || p.Cnf.JWK.Crv != "Ed25519" {
		return c, errSDJWT
	}
	kobj, err := jose.ParseSigned(kb, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(kobj.Signatures) != 1 || kobj.Signatures[0].Protected.ExtraHeaders[jose.HeaderType] != kbJWTType {
		return c, errCodeBinding
	}
	kbody, err := kobj.Verify(ed25519.PublicKey(hx))
	if err != nil {
		return c, errCodeBinding
	}
	var k kbPayload
	if err := json.Unmarshal(kbody, &k); err != nil || k.SDHash != SDDigest(presented) || k.Aud != p.Aud || (nonce != "" && k.Nonce != nonce) {
		return c, errCodeBinding
	}
	c.Nonce = k.Nonce
	return c, nil
}

var errCodeBinding = E(KindUnauthorized, "bad_key_binding", "the credential's key binding does not verify!")

// IssuerMetadata is the SD-JWT VC issuer metadata a public URL serves
// (draft-ietf-oauth-sd-jwt-vc §5): the issuer and the keys of every
// profile this node serves under it.
type IssuerMetadata struct {
	Issuer string `json:"issuer"`
	JWKS   struct {
		Keys []JWK `json:"keys"`
	} `json:"jwks"`
}

var errUnknownIssuer = E(KindNotFound, "unknown_issuer", "no profile is served under this URL!")

// IssuerMetadataFor answers a request for /.well-known/jwt-vc-issuer that
// names host: the profiles of this node whose public URL (the profile's,
// else this device's) has that host, case-insensitive. The issuer is that
// public URL, as their credentials' iss says it.
func (a *core) IssuerMetadataFor(ctx context.Context, host string) (*IssuerMetadata, error) {
	accts, err := a.store.Accounts(ctx)
	if err != nil {
		return nil, Internal(err)
	}
	m := &IssuerMetadata{}
	m.JWKS.Keys = []JWK{}
	for _, acct := range accts {
		u, _, err := a.publicURL(ctx, acct.UserID)
		if err != nil {
			return nil, Internal(err)
		}
		pu, err := url.Parse(u)
		if err != nil || !strings.EqualFold(pu.Host, host) {
			continue
		}
		if m.Issuer != "" && m.Issuer != u {
			continue // the same host under another scheme
		}
		is, err := a.issuerOf(ctx, acct.UserID)
		if errors.Is(err, ErrNotFound) {
			continue // not signed in on this device yet: no key here
		}
		if err != nil {
			return nil, Internal(err)
		}
		m.Issuer = u
		m.JWKS.Keys = append(m.JWKS.Keys, is.jwk)
	}
	if m.Issuer == "" {
		return nil, errUnknownIssuer
	}
	return m, nil
}

// TypeMetadata is the SD-JWT VC type metadata of a share's vct
// (draft-ietf-oauth-sd-jwt-vc §6).
type TypeMetadata struct {
	VCT         string          `json:"vct"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Display     []TypeDisplay   `json:"display"`
	Claims      []ClaimMetadata `json:"claims"`
}

// TypeDisplay is how a wallet shows a credential type.
type TypeDisplay struct {
	Locale      string `json:"locale"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ClaimMetadata describes one claim a credential of the type may carry.
type ClaimMetadata struct {
	Path    []string       `json:"path"`
	Display []ClaimDisplay `json:"display"`
	SD      string         `json:"sd"`
}

// ClaimDisplay is a claim's label.
type ClaimDisplay struct {
	Locale string `json:"locale"`
	Label  string `json:"label"`
}

// ProfileClaimType is the type metadata served at base+VCTPath.
func ProfileClaimType(base string) *TypeMetadata {
	claim := func(name, label string) ClaimMetadata {
		return ClaimMetadata{Path: []string{name}, Display: []ClaimDisplay{{Locale: "en-US", Label: label}}, SD: "always"}
	}
	return &TypeMetadata{
		VCT:         strings.TrimRight(base, "/") + VCTPath,
		Name:        "Profile claim",
		Description: "One value from a Secure Personal Profile, shared with one service: an age, an age_over_NN statement or a profile field, selectively disclosable.",
		Display:     []TypeDisplay{{Locale: "en-US", Name: "Profile claim", Description: "One value shared from a personal profile"}},
		Claims: []ClaimMetadata{
			claim("age", "Age"), claim("age_over_18", "Over 18"), claim("age_over_21", "Over 21"),
			claim("given_name", "Given name"), claim("family_name", "Family name"), claim("email", "E-mail"),
		},
	}
}
