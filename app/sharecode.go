package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/mr-tron/base58"
)

// Share codes that need no connection to the user (API.md Part 4): a
// share's QR code carries its signed credential itself,
// {public_url}/api/v1/verify#<compact JWS>. The fragment never reaches a
// server; the JWS header's kid is the issuer's did:key, from which anyone
// derives the Ed25519 key and checks signature, audience and expiry with
// any JOSE library. Where the issuer's node answers, the credential's
// credentialStatus URL tells whether the share is still active.

// Paths of the offline verification page and of a share's live status.
const (
	VerifyPagePath   = "/api/v1/verify"
	ShareStatusPath  = "/api/v1/verify-status/"
	shareCodeMaxSize = 8 << 10
)

var (
	errShareCodeMalformed = E(KindInvalid, "malformed_code", "the code is not a share credential!")
	errCodeSignature      = E(KindUnauthorized, "bad_signature", "the code's signature does not verify!")
	errCodeExpired        = E(KindGone, "code_expired", "the code has expired!")
	errCodeEarly          = E(KindGone, "code_not_yet_valid", "the code is not valid yet!")
	errCodeAudience       = E(KindForbidden, "wrong_audience", "the code is for another audience!")
)

// statusURL is the live status address of one of the user's shares.
func (a *core) statusURL(ctx context.Context, userID, shareID string) string {
	return a.userURL(ctx, userID, ShareStatusPath+shareID)
}

// ShareCode is the text a share's QR code carries: the verification page
// of the profile's public URL with a credential signed now, for the
// claim's current value, in the fragment. id names the share (its share id
// or its verification token).
func (a *ShareService) ShareCode(ctx context.Context, p *Principal, id string) (string, error) {
	shareID, err := a.ownShareID(ctx, p, id)
	if err != nil {
		return "", err
	}
	status := a.statusURL(ctx, p.UserID, shareID)
	var jws string
	err = a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		sh, ok, err := readShare(tx, shareID)
		if err != nil {
			return err
		}
		if !ok {
			return errShareUnknown
		}
		now := a.now()
		if err := sh.check(now); err != nil {
			return err
		}
		value, err := claimValue(tx, sh.Field, now)
		if err != nil {
			return err
		}
		is, err := a.issuerFor(tx, p.ProfileID)
		if err != nil {
			return err
		}
		jws, err = a.credential(is, sh.ID, sh.ServiceID, sh.Field, value, status, now, sh.ExpiresAt)
		return err
	})
	if err != nil {
		return "", AsError(err)
	}
	return a.userURL(ctx, p.UserID, VerifyPagePath) + "#" + jws, nil
}

// ShareState is a share's live state for its status URL: "active",
// "revoked" or "expired" (ErrNotFound for an unknown share id). It says
// nothing else: not whose share, not what it shares. The URL names only
// the share's id, which is public (the credential's jti): if another
// account here holds a share under the same id (imported or synced to
// it), the least alive of them answers, so that no one can vouch for a
// share that is not theirs.
func (a *ShareService) ShareState(ctx context.Context, shareID string) (string, error) {
	if !ValidUUID(shareID) {
		return "", errShareUnknown
	}
	cs, err := a.store.CapabilitiesByID(ctx, CapShare, shareID)
	if err != nil {
		return "", Internal(err)
	}
	if len(cs) == 0 {
		return "", errShareUnknown
	}
	state := CapActive
	for _, c := range cs {
		switch {
		case c.State == CapRevoked:
			return CapRevoked, nil
		case c.View == nil || (!c.ExpiresAt.IsZero() && !a.now().Before(c.ExpiresAt)):
			state = CapExpired
		}
	}
	return state, nil
}

// CodeCheck is what verifying a share code found: who issued it, to whom,
// the one claim, and its times.
type CodeCheck struct {
	Issuer    string                     `json:"issuer"`
	Audience  string                     `json:"audience"`
	Claims    map[string]json.RawMessage `json:"claims"`
	IssuedAt  time.Time                  `json:"issued_at"`
	ExpiresAt time.Time                  `json:"expires_at"`
	ID        string                     `json:"jti"`
	StatusURL string                     `json:"status_url,omitempty"`
}

// VerifyCode verifies a share code with no network: text is what the QR
// code carries (a URL whose fragment is the JWS) or the compact JWS
// itself. The signature must verify under the key of the header's
// did:key kid and the issuer (iss) must be that did:key; the code must be
// valid at now; with audience, it must be that audience's.
func VerifyCode(text, audience string, now time.Time) (*CodeCheck, error) {
	jws, err := codeJWS(text)
	if err != nil {
		return nil, err
	}
	obj, err := jose.ParseSigned(jws, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(obj.Signatures) != 1 {
		return nil, errShareCodeMalformed
	}
	kid := obj.Signatures[0].Header.KeyID
	did, _, _ := strings.Cut(kid, "#")
	pub, err := DIDKeyPublic(did)
	if err != nil {
		return nil, errShareCodeMalformed
	}
	payload, err := obj.Verify(pub)
	if err != nil {
		return nil, errCodeSignature
	}
	var p credentialPayload
	if err := json.Unmarshal(payload, &p); err != nil || len(p.VC.Subject) != 1 {
		return nil, errShareCodeMalformed
	}
	if p.Iss != did {
		// Signed by one key, claiming another issuer.
		return nil, errCodeSignature
	}
	c := &CodeCheck{Issuer: p.Iss, Audience: p.Aud, Claims: p.VC.Subject, IssuedAt: time.Unix(p.Iat, 0).UTC(), ExpiresAt: time.Unix(p.Exp, 0).UTC(), ID: p.Jti}
	if p.VC.Status != nil {
		c.StatusURL = p.VC.Status.ID
	}
	switch {
	case !now.Before(c.ExpiresAt):
		return c, errCodeExpired
	case now.Before(time.Unix(p.Nbf, 0)):
		return c, errCodeEarly
	case audience != "" && p.Aud != audience:
		return c, errCodeAudience
	}
	return c, nil
}

// codeJWS finds the compact JWS in a share code's text.
func codeJWS(text string) (string, error) {
	text = strings.TrimSpace(text)
	if len(text) == 0 || len(text) > shareCodeMaxSize {
		return "", errShareCodeMalformed
	}
	if strings.Contains(text, "#") {
		u, err := url.Parse(text)
		if err != nil {
			return "", errShareCodeMalformed
		}
		text = u.Fragment
	}
	if strings.Count(text, ".") != 2 {
		return "", errShareCodeMalformed
	}
	return text, nil
}

// DIDKeyPublic is the Ed25519 public key of a did:key (the inverse of
// DIDKey).
func DIDKeyPublic(did string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(did, "did:key:z")
	if !ok {
		return nil, fmt.Errorf("not a base58btc did:key: %q", did)
	}
	b, err := base58.Decode(rest)
	if err != nil || len(b) != 2+ed25519.PublicKeySize || b[0] != 0xed || b[1] != 0x01 {
		return nil, fmt.Errorf("not an Ed25519 did:key: %q", did)
	}
	return ed25519.PublicKey(b[2:]), nil
}
