package app

import (
	"bytes"
	"context"
	stdcrypto "crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"image"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/secure-personal-profile/spp/crypto"
)

// Responder badges: an organization (an ambulance service, a hospital)
// holds an Ed25519 key; an installation that trusts the organization's
// public key (spp responders trust) accepts the badges it signs (spp
// responders issue). A badge is a compact JWS, small enough for a QR code:
//
//	header  {"alg":"EdDSA","kid":KEY_ID,"typ":"responder+jwt"}
//	claims  {"sub":RESPONDER_ID,"name":…,"org":…,"iat":…,"exp":…}
//
// KEY_ID is the key's RFC 7638 JWK thumbprint (SHA-256, base64url). What a
// grant logs as the responder's organization is the name this
// installation trusted the key under, not the badge's own "org" claim:
// an organization's key vouches for its own responders only.

// BadgeType is the "typ" header of a responder badge.
const BadgeType = "responder+jwt"

// Limits of badges.
const (
	maxBadge        = 4096            // bytes of a badge's text
	MaxBadgeImage   = 4 << 20         // bytes of an uploaded badge picture
	maxBadgePixels  = 16 << 20        // pixels of an uploaded badge picture
	maxTrustedOrgs  = 1000            // organizations tried for a badge with no kid
	badgeClockSkew  = 5 * time.Minute // a badge issued this far in the future still passes
	DefaultBadgeAge = 365 * 24 * time.Hour
)

var (
	errOrgKey        = E(KindInvalid, "invalid_public_key", "public key must be a PEM file or a base64url Ed25519 key of 32 bytes!")
	errOrgName       = E(KindInvalid, "invalid_organization", "organization name must be printable text of 1 to 256 bytes!")
	errUnknownOrg    = E(KindNotFound, "unknown_organization", "no trusted organization has this key id!")
	errBadgeImage    = E(KindInvalid, "invalid_badge_image", "responder_credential_image holds no readable QR code!")
	errBadgeTooLarge = E(KindTooLarge, "badge_image_too_large", "responder_credential_image is too large!")
)

// ResponderOrg is an organization this installation trusts to issue
// responder badges.
type ResponderOrg struct {
	KeyID     string            `json:"key_id"`
	Name      string            `json:"name"`
	PublicKey ed25519.PublicKey `json:"public_key"`
	AddedAt   time.Time         `json:"added_at"`
}

// ResponderOrgRecord is how a store keeps a trusted organization: by key
// id, the details sealed under the installation key with the key id as
// associated data. Device-local, never synced.
type ResponderOrgRecord struct {
	KeyID     string
	Sealed    []byte
	CreatedAt time.Time
}

// ResponderOrgStore is the part of a Store that keeps the trusted
// organizations.
type ResponderOrgStore interface {
	// PutResponderOrg adds or replaces one (by key id).
	PutResponderOrg(ctx context.Context, o *ResponderOrgRecord) error
	// ResponderOrg finds one by key id, or ErrNotFound.
	ResponderOrg(ctx context.Context, keyID string) (*ResponderOrgRecord, error)
	ResponderOrgList(ctx context.Context) ([]*ResponderOrgRecord, error)
	// DeleteResponderOrg reports whether there was one to delete.
	DeleteResponderOrg(ctx context.Context, keyID string) (bool, error)
}

func responderOrgAD(keyID string) []byte { return []byte("responder-org\x00" + keyID) }

// ResponderKeyID is the key id of an organization's public key: its RFC
// 7638 JWK thumbprint (SHA-256), base64url.
func ResponderKeyID(pub ed25519.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	t, err := jwk.Thumbprint(stdcrypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(t), nil
}

// ParseOrgPublicKey reads an organization's public key: PEM (a PKIX
// "PUBLIC KEY", as `openssl pkey -pubout` writes it) or the raw 32-byte
// key in base64url.
func ParseOrgPublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, errOrgKey
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errOrgKey
		}
		return pub, nil
	}
	s := strings.TrimRight(strings.TrimSpace(string(b)), "=")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errOrgKey
	}
	return ed25519.PublicKey(raw), nil
}

// ReadOrgPublicKey reads the --public-key argument of `responders trust`:
// the path of a PEM file, or the key itself in base64url.
func ReadOrgPublicKey(arg string) (ed25519.PublicKey, error) {
	if st, err := os.Stat(arg); err == nil && st.Mode().IsRegular() {
		if st.Size() > 64<<10 {
			return nil, errOrgKey
		}
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", arg, err)
		}
		return ParseOrgPublicKey(b)
	}
	return ParseOrgPublicKey([]byte(arg))
}

// ParseOrgPrivateKey reads an organization's signing key: a PEM "PRIVATE
// KEY" in PKCS#8, as `openssl genpkey -algorithm ed25519` writes it.
func ParseOrgPrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block in the organization's key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("organization's key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("organization's key is not an Ed25519 key")
	}
	return priv, nil
}

// Badge is what a responder badge says.
type Badge struct {
	ResponderID  string
	Name         string
	Organization string // the "org" claim; the key id when empty
	IssuedAt     time.Time
	Expires      time.Time
}

// badgeClaims are a badge's JWT claims.
type badgeClaims struct {
	Sub  string `json:"sub"`
	Name string `json:"name,omitempty"`
	Org  string `json:"org"`
	Iat  *int64 `json:"iat"`
	Exp  *int64 `json:"exp"`
	Nbf  *int64 `json:"nbf,omitempty"`
}

// IssueBadge signs a responder badge with an organization's key: a
// compact JWS (EdDSA, typ responder+jwt, kid = the key id).
func IssueBadge(priv ed25519.PrivateKey, b Badge) (string, error) {
	b.ResponderID = strings.TrimSpace(b.ResponderID)
	if !validText(b.ResponderID, 128) {
		return "", errResponderID
	}
	if (b.Name != "" && !validText(b.Name, 256)) || (b.Organization != "" && !validText(b.Organization, 256)) {
		return "", errResponderDetails
	}
	if !b.Expires.After(b.IssuedAt) {
		return "", E(KindInvalid, "invalid_expiry", "a badge must expire after it is issued!")
	}
	kid, err := ResponderKeyID(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return "", err
	}
	if b.Organization == "" {
		b.Organization = kid
	}
	iat, exp := b.IssuedAt.Unix(), b.Expires.Unix()
	payload, err := json.Marshal(badgeClaims{Sub: b.ResponderID, Name: b.Name, Org: b.Organization, Iat: &iat, Exp: &exp})
	if err != nil {
		return "", err
	}
	return compactJWS(priv, encodeJWSHeader(kid, BadgeType), payload), nil
}

// TrustResponderOrg trusts an organization's key to issue badges (or
// renames an organization already trusted under that key).
func (a *EmergencyService) TrustResponderOrg(ctx context.Context, name string, pub ed25519.PublicKey) (*ResponderOrg, error) {
	name = strings.TrimSpace(name)
	if !validText(name, 256) {
		return nil, errOrgName
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, errOrgKey
	}
	kid, err := ResponderKeyID(pub)
	if err != nil {
		return nil, Internal(err)
	}
	o := &ResponderOrg{KeyID: kid, Name: name, PublicKey: pub, AddedAt: a.now()}
	if old, err := a.store.ResponderOrg(ctx, kid); err == nil {
		o.AddedAt = old.CreatedAt
	} else if !errors.Is(err, ErrNotFound) {
		return nil, Internal(err)
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, Internal(err)
	}
	sealed, err := crypto.Seal(a.store.InstallationKey(), b, responderOrgAD(kid))
	if err != nil {
		return nil, Internal(err)
	}
	if err := a.store.PutResponderOrg(ctx, &ResponderOrgRecord{KeyID: kid, Sealed: sealed, CreatedAt: o.AddedAt}); err != nil {
		return nil, Internal(err)
	}
	return o, nil
}

// UntrustResponderOrg stops trusting an organization's key: its badges
// open nothing from then on. 404 when the key id is not trusted.
func (a *EmergencyService) UntrustResponderOrg(ctx context.Context, keyID string) error {
	keyID = strings.TrimSpace(keyID)
	if !validText(keyID, 128) {
		return errUnknownOrg
	}
	ok, err := a.store.DeleteResponderOrg(ctx, keyID)
	if err != nil {
		return Internal(err)
	}
	if !ok {
		return errUnknownOrg
	}
	return nil
}

func (a *EmergencyService) openResponderOrg(rec *ResponderOrgRecord) (*ResponderOrg, error) {
	b, err := crypto.Open(a.store.InstallationKey(), rec.Sealed, responderOrgAD(rec.KeyID))
	if err != nil {
		return nil, fmt.Errorf("opening trusted organization: %w", err)
	}
	var o ResponderOrg
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("decoding trusted organization: %w", err)
	}
	if len(o.PublicKey) != ed25519.PublicKeySize || o.KeyID != rec.KeyID {
		return nil, fmt.Errorf("trusted organization %s: bad key", rec.KeyID)
	}
	return &o, nil
}

// ResponderOrgs lists the trusted organizations, by name.
func (a *EmergencyService) ResponderOrgs(ctx context.Context) ([]*ResponderOrg, error) {
	recs, err := a.store.ResponderOrgList(ctx)
	if err != nil {
		return nil, Internal(err)
	}
	out := make([]*ResponderOrg, 0, len(recs))
	for _, rec := range recs {
		o, err := a.openResponderOrg(rec)
		if err != nil {
			return nil, Internal(err)
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// verifyBadge returns the responder a badge verifies: it must be a
// compact JWS of type responder+jwt whose EdDSA signature verifies under a
// trusted organization's key (the one its kid names; every trusted key
// when it names none), unexpired, and for responder id (sub). Anything
// else is nil.
func (a *EmergencyService) verifyBadge(ctx context.Context, badge, id string) (*Responder, error) {
	if len(badge) > maxBadge {
		return nil, nil
	}
	jws, err := jose.ParseSignedCompact(badge, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, BadgeType) && !strings.EqualFold(typ, "application/"+BadgeType) {
		return nil, nil
	}
	var recs []*ResponderOrgRecord
	if h.KeyID != "" {
		rec, err := a.store.ResponderOrg(ctx, h.KeyID)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, Internal(err)
		}
		recs = []*ResponderOrgRecord{rec}
	} else if recs, err = a.store.ResponderOrgList(ctx); err != nil {
		return nil, Internal(err)
	}
	var org *ResponderOrg
	var payload []byte
	for i, rec := range recs {
		if i >= maxTrustedOrgs {
			break
		}
		o, err := a.openResponderOrg(rec)
		if err != nil {
			a.cfg.Log.Warn("trusted organization does not open", "key_id", rec.KeyID, "err", err)
			continue
		}
		if p, err := jws.Verify(o.PublicKey); err == nil {
			org, payload = o, p
			break
		}
	}
	if org == nil {
		return nil, nil
	}
	var c badgeClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Exp == nil || c.Iat == nil {
		return nil, nil
	}
	now := a.now()
	if now.Unix() >= *c.Exp || time.Unix(*c.Iat, 0).After(now.Add(badgeClockSkew)) ||
		(c.Nbf != nil && time.Unix(*c.Nbf, 0).After(now.Add(badgeClockSkew))) {
		return nil, nil
	}
	if !validText(strings.TrimSpace(c.Sub), 128) || normResponder(c.Sub) != normResponder(id) {
		return nil, nil
	}
	r := &Responder{ID: strings.TrimSpace(c.Sub), Organization: org.Name, VerifiedBy: "badge", KeyID: org.KeyID}
	if validText(c.Name, 256) {
		r.Name = c.Name
	}
	return r, nil
}

// badgeFromImage reads a badge from a picture of its QR code (PNG, JPEG
// or GIF), as the responder's page uploads it, with the QR reader main.go
// gives (Config.QRReader; without one, pictures cannot be read).
func (a *EmergencyService) badgeFromImage(img []byte) (string, error) {
	if a.cfg.QRReader == nil {
		return "", errBadgeImage
	}
	if len(img) > MaxBadgeImage {
		return "", errBadgeTooLarge
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return "", errBadgeImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxBadgePixels {
		return "", errBadgeTooLarge
	}
	text, err := a.cfg.QRReader(img)
	if err != nil {
		return "", errBadgeImage
	}
	return strings.TrimSpace(text), nil
}
