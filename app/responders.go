package app

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// Responder is an entry of this device's registry of emergency responders
// (the `responders` subcommand), or a responder verified by a badge. A
// responder is verified by what they hold, never by their id alone: the
// secret this registry gave them (responders add, reset-secret), or a
// badge signed by an organization this installation trusts (see
// responder_badges.go).
type Responder struct {
	ID           string    `json:"responder_id"`
	Name         string    `json:"name,omitempty"`
	Organization string    `json:"organization,omitempty"`
	AddedAt      time.Time `json:"added_at"`
	// Secret is set only in what AddResponder and ResetResponderSecret
	// return: the responder's new secret, shown once and never stored.
	Secret string `json:"-"`
	// VerifiedBy says how a grant verified the responder: "secret" or
	// "badge" (with the badge's key id in KeyID). Never stored.
	VerifiedBy string `json:"-"`
	KeyID      string `json:"-"`
	// HasSecret reports, when listing, whether the entry has a secret
	// (entries made before secrets existed have none and cannot pass).
	HasSecret bool `json:"-"`
}

// responderSealed is what the registry seals for a responder: the details
// and the Argon2id hash of the secret with its parameters.
type responderSealed struct {
	Responder
	SecretKDF  string `json:"secret_kdf,omitempty"`
	SecretHash []byte `json:"secret_hash,omitempty"`
}

// ResponderRecord is how a store keeps a responder: found by a keyed hash
// of the normalised id, its details sealed under the installation key.
// The registry is device-local (the administrator of this listener keeps
// it) and never synced.
type ResponderRecord struct {
	MAC       []byte
	Sealed    []byte
	CreatedAt time.Time
}

// Responder ids are matched case-insensitively, without surrounding space.
func normResponder(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

func (a *EmergencyService) responderMAC(id string) []byte {
	return crypto.KeyedHash(a.store.InstallationKey(), "responder:"+normResponder(id))
}

func responderAD(mac []byte) []byte { return append([]byte("responder\x00"), mac...) }

var errResponderID = E(KindInvalid, "invalid_responder_id", "responder_id must be 1 to 128 printable characters!")

func validText(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Rate limit per responder id, across every profile of the installation:
// every attempt naming the id counts (reserved atomically, before any
// check), and a verified grant clears the count. As the per-profile
// limit (GrantProfileLimit), it refuses only requests that prove no
// responder: the responder's own secret or badge passes over it.
const GrantResponderLimit = 10

// responderSecretBytes is the randomness of a responder secret: 160 bits,
// 32 base32 characters.
const responderSecretBytes = 20

// maxSecretInput bounds what is hashed as a typed secret.
const maxSecretInput = 128

var (
	errResponderDetails = E(KindInvalid, "invalid_responder", "name and organization must be printable text of at most 256 bytes!")
	errUnknownResponder = E(KindNotFound, "unknown_responder", "responder does not exist!")
)

// newResponderSecret returns a fresh secret: 160 random bits in base32,
// in groups of four for typing ("ABCD-EFGH-…").
func newResponderSecret() (string, error) {
	key, err := crypto.NewKey()
	if err != nil {
		return "", err
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key[:responderSecretBytes])
	var b strings.Builder
	for i := 0; i < len(enc); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(enc[i:min(i+4, len(enc))])
	}
	return b.String(), nil
}

// normSecret is a typed secret as hashed: without spaces or dashes, in
// capitals (base32 is case-insensitive for a person typing it).
func normSecret(s string) []byte {
	return []byte(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\n', '\r':
			return -1
		}
		return unicode.ToUpper(r)
	}, s))
}

// AddResponder adds a responder to this device's registry with a fresh
// secret, returned once in Secret; for a responder already there it
// updates the name and organization and replaces the secret.
func (a *EmergencyService) AddResponder(ctx context.Context, r Responder) (*Responder, error) {
	r.ID = strings.TrimSpace(r.ID)
	if !validText(r.ID, 128) {
		return nil, errResponderID
	}
	if (r.Name != "" && !validText(r.Name, 256)) || (r.Organization != "" && !validText(r.Organization, 256)) {
		return nil, errResponderDetails
	}
	mac := a.responderMAC(r.ID)
	r.AddedAt = a.now()
	if old, err := a.store.Responder(ctx, mac); err == nil {
		r.AddedAt = old.CreatedAt
	} else if !errors.Is(err, ErrNotFound) {
		return nil, Internal(err)
	}
	return a.putResponderSecret(ctx, mac, r)
}

// ResetResponderSecret gives a registered responder a new secret (the old
// one stops working at once), returned once in Secret.
func (a *EmergencyService) ResetResponderSecret(ctx context.Context, id string) (*Responder, error) {
	if !validText(strings.TrimSpace(id), 128) {
		return nil, errResponderID
	}
	mac := a.responderMAC(id)
	rec, err := a.store.Responder(ctx, mac)
	if errors.Is(err, ErrNotFound) {
		return nil, errUnknownResponder
	}
	if err != nil {
		return nil, Internal(err)
	}
	old, err := a.openResponder(rec)
	if err != nil {
		return nil, Internal(err)
	}
	r := old.Responder
	r.AddedAt = rec.CreatedAt
	return a.putResponderSecret(ctx, mac, r)
}

// putResponderSecret stores r with a new secret's Argon2id hash, and
// returns r with the secret.
func (a *EmergencyService) putResponderSecret(ctx context.Context, mac []byte, r Responder) (*Responder, error) {
	secret, err := newResponderSecret()
	if err != nil {
		return nil, Internal(err)
	}
	params, err := crypto.NewKDFParams(a.cfg.KDF)
	if err != nil {
		return nil, Internal(err)
	}
	hash, err := deriveKey(ctx, normSecret(secret), params)
	if err != nil {
		return nil, Internal(err)
	}
	r.Secret, r.VerifiedBy, r.KeyID, r.HasSecret = "", "", "", false
	b, err := json.Marshal(responderSealed{Responder: r, SecretKDF: params.String(), SecretHash: hash})
	if err != nil {
		return nil, Internal(err)
	}
	sealed, err := crypto.Seal(a.store.InstallationKey(), b, responderAD(mac))
	if err != nil {
		return nil, Internal(err)
	}
	if err := a.store.PutResponder(ctx, &ResponderRecord{MAC: mac, Sealed: sealed, CreatedAt: r.AddedAt}); err != nil {
		return nil, Internal(err)
	}
	r.Secret, r.HasSecret = secret, true
	return &r, nil
}

func (a *EmergencyService) openResponder(rec *ResponderRecord) (*responderSealed, error) {
	b, err := crypto.Open(a.store.InstallationKey(), rec.Sealed, responderAD(rec.MAC))
	if err != nil {
		return nil, fmt.Errorf("opening responder record: %w", err)
	}
	var r responderSealed
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding responder record: %w", err)
	}
	r.HasSecret = r.SecretKDF != "" && len(r.SecretHash) > 0
	return &r, nil
}

// VerifiedResponder returns the registry's entry for a responder id, or
// nil when the id is not registered. Being registered verifies nobody: a
// grant asks for the responder's secret or badge (verifyResponder).
func (a *EmergencyService) VerifiedResponder(ctx context.Context, id string) (*Responder, error) {
	if !validText(strings.TrimSpace(id), 128) {
		return nil, nil
	}
	rec, err := a.store.Responder(ctx, a.responderMAC(id))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, Internal(err)
	}
	r, err := a.openResponder(rec)
	if err != nil {
		return nil, Internal(err)
	}
	return &r.Responder, nil
}

// Responders lists the registry, by id.
func (a *EmergencyService) Responders(ctx context.Context) ([]*Responder, error) {
	recs, err := a.store.ResponderList(ctx)
	if err != nil {
		return nil, Internal(err)
	}
	out := make([]*Responder, 0, len(recs))
	for _, rec := range recs {
		r, err := a.openResponder(rec)
		if err != nil {
			return nil, Internal(err)
		}
		out = append(out, &r.Responder)
	}
	sort.Slice(out, func(i, j int) bool { return normResponder(out[i].ID) < normResponder(out[j].ID) })
	return out, nil
}

// RemoveResponder removes a responder from the registry; 404 when it is
// not there.
func (a *EmergencyService) RemoveResponder(ctx context.Context, id string) error {
	if !validText(strings.TrimSpace(id), 128) {
		return errResponderID
	}
	ok, err := a.store.DeleteResponder(ctx, a.responderMAC(id))
	if err != nil {
		return Internal(err)
	}
	if !ok {
		return errUnknownResponder
	}
	return nil
}

// verifyResponder checks who a grant's responder is. With a badge
// (req.ResponderCredential) that verifies under a trusted organization's
// key, or a secret (req.ResponderSecret) that matches the registry's hash
// for req.ResponderID, it returns the verified responder. Otherwise it
// returns errNotVerified, or nil (an unverified responder) when the
// user's criteria accept any responder (anyResponder). Every attempt
// first reserves one count under the responder id (GrantResponderLimit).
// Over that limit, or with limited set (the per-profile limit's refusal),
// a request is checked all the same: the proof passes, and what would be
// refused gets the rate-limit error instead, so that failing on purpose
// holds no real responder off. Neither the secret nor the badge is logged
// or kept anywhere.
func (a *EmergencyService) verifyResponder(ctx context.Context, req GrantRequest, anyResponder bool, limited error) (*Responder, error) {
	limitKey := a.LimitKey("emergency-responder", normResponder(req.ResponderID))
	if err := a.ReserveAttempt(ctx, limitKey, GrantResponderLimit, GrantWindow); err != nil {
		if AsError(err).Kind != KindRateLimited {
			return nil, err
		}
		limited = err
	}
	var r *Responder
	var err error
	badge := strings.TrimSpace(req.ResponderCredential)
	if badge == "" && len(req.ResponderCredentialImage) > 0 {
		badge, err = a.badgeFromImage(req.ResponderCredentialImage)
	}
	if err == nil && badge != "" {
		r, err = a.verifyBadge(ctx, badge, req.ResponderID)
	}
	if secret := req.ResponderSecret; err == nil && r == nil && secret != "" {
		r, err = a.verifySecret(ctx, req.ResponderID, secret)
	}
	if r != nil {
		if err := a.store.ClearFailures(ctx, limitKey); err != nil {
			return nil, Internal(err)
		}
		return r, nil
	}
	if err != nil {
		// A picture that reads as no badge is a refusal as any other:
		// over a limit, the limit's.
		if e := AsError(err); limited != nil && e.Kind != KindInternal && e.Kind != KindRateLimited {
			return nil, limited
		}
		return nil, err
	}
	if anyResponder {
		return nil, nil
	}
	if limited != nil {
		return nil, limited
	}
	return nil, errNotVerified
}

// refusalOutcome is the logged outcome of an error verifyResponder
// returns, "" for an internal error.
func refusalOutcome(err error) string {
	switch AsError(err).Kind {
	case KindForbidden, KindInvalid, KindTooLarge: // not verified, or a badge picture that reads as none
		return OutcomeNotVerified
	case KindRateLimited:
		return OutcomeRateLimited
	}
	return ""
}

// verifySecret checks a typed secret against the registry's Argon2id hash
// of the responder's secret, in constant time. An unknown id, or an entry
// without a secret (made before secrets existed), costs the same
// derivation and fails.
func (a *EmergencyService) verifySecret(ctx context.Context, id, secret string) (*Responder, error) {
	typed := normSecret(secret)
	if len(secret) > maxSecretInput || len(typed) == 0 {
		return nil, nil
	}
	var entry *responderSealed
	if validText(strings.TrimSpace(id), 128) {
		rec, err := a.store.Responder(ctx, a.responderMAC(id))
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, Internal(err)
		default:
			if entry, err = a.openResponder(rec); err != nil {
				return nil, Internal(err)
			}
		}
	}
	params := a.dummyKDF
	if entry != nil && entry.HasSecret {
		p, err := crypto.ParseKDFParams(entry.SecretKDF)
		if err != nil {
			return nil, Internal(fmt.Errorf("responder secret parameters: %w", err))
		}
		params = p
	}
	got, err := deriveKeyBounded(ctx, typed, params)
	if err != nil {
		return nil, kdfFailure(err)
	}
	if entry == nil || !entry.HasSecret || !crypto.Equal(got, entry.SecretHash) {
		return nil, nil
	}
	r := entry.Responder
	r.VerifiedBy, r.HasSecret = "secret", true
	return &r, nil
}

// verification is how the trusted contacts' message describes a verified
// responder.
func (r *Responder) verification() string {
	switch r.VerifiedBy {
	case "badge":
		return "verified by a badge of " + r.Organization + ", an organization this installation trusts"
	case "secret":
		return "verified by the secret of this installation's registry of responders"
	}
	return "verified"
}
