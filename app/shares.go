package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// EntityShare is one value shared with a service (share-create); id = a
// new id; a share is made as one cell, "token_hash": its clear part is
// crypto.TokenIndex of the verification token (what the cells' unique
// token index and capability lookups read), its sealed part the share's
// record (JSON: service_id, service entity id, info_field, the
// verification token itself so the user can show its QR code again,
// issued_at, expires_at). "revoked_at" (clear) is written when it is
// revoked. Shares made before sync protocol 4.0.0 hold the record in a
// "data" cell of its own beside a clear-only "token_hash"; they are read
// alike. The verification token reads the share's view (capabilities.go),
// re-derived whenever the value changes.
const EntityShare = "share"

// ClearBesideSealed reports whether a cell of entity and field may hold a
// clear part beside its sealed value: only a one-cell share's token_hash
// (its token's index beside its record). A container (container.go) and
// sync (store's checkOp) refuse any other cell that does.
func ClearBesideSealed(entity, field string) bool {
	return entity == EntityShare && field == "token_hash"
}

// Share lifetimes.
const (
	DefaultShareTTL = 7 * 24 * time.Hour
	MaxShareTTL     = 90 * 24 * time.Hour
)

var (
	errShareMissing    = E(KindInvalid, "missing_parameter", "service_id,info_field must exist!")
	errNotShareable    = E(KindInvalid, "not_shareable", "info_field is not shareable!")
	errRestricted      = E(KindForbidden, "field_restricted", "info_field is restricted!")
	errNoDOB           = E(KindUnprocessable, "no_date_of_birth", "no confirmed date of birth!")
	errExpiresIn       = E(KindInvalid, "invalid_expires_in", "expires_in must be a number of seconds from 1 to 7776000!")
	errVTUnknown       = E(KindNotFound, "unknown_verification_token", "verification_token does not exist!")
	errVTExpired       = E(KindGone, "verification_token_expired", "verification_token has expired!")
	errVTRevoked       = E(KindGone, "verification_token_revoked", "verification_token has been revoked!")
	errGetShareMissing = E(KindInvalid, "missing_parameter", "service_id,verification_token must exist!")
	errNotAgreed       = E(KindForbidden, "not_agreed", "this user hasn\u2019t agreed to share information!")
	errShareUnknown    = E(KindNotFound, "unknown_share", "share does not exist!")
)

// ageOver parses the derived claim age_over_NN (ISO 18013-5): NN is one
// to three digits.
func ageOver(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "age_over_")
	if !ok || len(digits) == 0 || len(digits) > 3 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ClaimName normalises an info_field: lower-cased and trimmed; ok is false
// when it is neither a derived claim (age, age_over_NN) nor a valid field
// name. Derived claims have the shape of field names, so one check does.
func ClaimName(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, ValidFieldName(s)
}

// claimValue is a claim's current value, read live: a derived age claim
// from the date of birth, any other name from the profile field (null
// while unset). A claim whose field sits in the restricted ring is refused.
func claimValue(tx Tx, name string, now time.Time) (json.RawMessage, error) {
	value, _, err := claimValueUntil(tx, name, now)
	return value, err
}

// claimValueUntil is claimValue with, for a derived age claim, the time
// until which the value holds (zero: for good, or not derived).
func claimValueUntil(tx Tx, name string, now time.Time) (json.RawMessage, time.Time, error) {
	// A derived age claim discloses the date of birth in part: it takes
	// that field's ring, whatever its own name's.
	cells, err := tx.Entity(EntityField, fieldID(tx, shareDep(name)))
	if err != nil {
		return nil, time.Time{}, err
	}
	ring := DefaultRing(shareDep(name))
	if c, ok := cells["ring"]; ok && len(c.Value) > 0 {
		ring = string(c.Value)
	}
	level, err := ringLevel(tx, ring)
	if err != nil {
		return nil, time.Time{}, err
	}
	if level == RingRestricted {
		return nil, time.Time{}, errRestricted
	}
	n, over := ageOver(name)
	if name == "age" || over {
		dob, _, ok, err := DateOfBirth(tx)
		if err != nil {
			return nil, time.Time{}, err
		}
		if !ok {
			return nil, time.Time{}, errNoDOB
		}
		age := AgeOn(dob, now)
		if !over {
			return json.RawMessage(strconv.Itoa(age)), dob.AddDate(age+1, 0, 0), nil
		}
		if age >= n {
			return json.RawMessage("true"), time.Time{}, nil
		}
		return json.RawMessage("false"), dob.AddDate(n, 0, 0), nil
	}
	if c, ok := cells["value"]; ok && len(c.Value) > 0 {
		return c.Value, time.Time{}, nil
	}
	return json.RawMessage("null"), time.Time{}, nil
}

// derivedClaim reports whether a claim is computed from the date of birth.
func derivedClaim(name string) bool {
	_, over := ageOver(name)
	return name == "age" || over
}

// shareData is a share's sealed record.
type shareData struct {
	ServiceID string    `json:"service_id"`
	Service   string    `json:"service"`
	Field     string    `json:"info_field"`
	Token     string    `json:"token"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// appendJSON appends the record as encoding/json writes it.
func (d *shareData) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	b = appendJSONField(b, "service_id", d.ServiceID)
	b = appendJSONField(b, "service", d.Service)
	b = appendJSONField(b, "info_field", d.Field)
	b = appendJSONField(b, "token", d.Token)
	b, err := appendJSONTime(b, "issued_at", d.IssuedAt)
	if err != nil {
		return nil, err
	}
	if b, err = appendJSONTime(b, "expires_at", d.ExpiresAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

type share struct {
	ID string
	shareData
	TokenHash []byte
	RevokedAt time.Time
}

func readShare(tx Tx, id string) (*share, bool, error) {
	c, err := tx.Entity(EntityShare, id)
	if err != nil || len(c) == 0 {
		return nil, false, err
	}
	record, ok := c["token_hash"]
	if len(record.Value) == 0 {
		// One made before 4.0.0: its record in a cell of its own. Not
		// complete yet (its cells may arrive by sync in more than one
		// batch): not a share until they have.
		if record, ok = c["data"]; !ok {
			return nil, false, nil
		}
	}
	sh := &share{ID: id, TokenHash: c["token_hash"].Clear, RevokedAt: parseTimeText(c["revoked_at"].Clear)}
	if d, ok := record.Parsed.(shareData); ok {
		sh.shareData = d // written by this transaction (putShare)
	} else if err := json.Unmarshal(record.Value, &sh.shareData); err != nil {
		return nil, false, err
	}
	return sh, true, nil
}

func (sh *share) active(now time.Time) bool {
	return sh.RevokedAt.IsZero() && now.Before(sh.ExpiresAt)
}

// check gives the legacy error of a share that is no longer usable.
func (sh *share) check(now time.Time) error {
	if !sh.RevokedAt.IsZero() {
		return errVTRevoked
	}
	if !now.Before(sh.ExpiresAt) {
		return errVTExpired
	}
	return nil
}

func (sh *share) view(now time.Time) ShareView {
	v := ShareView{ShareID: sh.ID, InfoField: sh.Field, IssuedAt: sh.IssuedAt, ExpiresAt: sh.ExpiresAt, RevokedAt: sh.RevokedAt, State: "active"}
	switch {
	case !sh.RevokedAt.IsZero():
		v.State = "revoked"
	case !now.Before(sh.ExpiresAt):
		v.State = "expired"
	}
	return v
}

// ShareRequest asks to share one value with a service.
type ShareRequest struct {
	ServiceID string
	InfoField string
	ExpiresIn time.Duration // 0: DefaultShareTTL
	Format    string        // "" or ShareFormatJWS; ShareFormatSDJWT: an SD-JWT VC (sdjwt.go)
	Nonce     string        // with ShareFormatSDJWT: a holder key and a Key Binding JWT with this nonce
}

// ParseExpiresIn reads an expires_in parameter (whole seconds, at most
// MaxShareTTL); "" gives 0, the default.
func ParseExpiresIn(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 || time.Duration(n)*time.Second > MaxShareTTL {
		return 0, errExpiresIn
	}
	return time.Duration(n) * time.Second, nil
}

// Share is a created share, as its creator sees it once.
type Share struct {
	ShareID           string
	ServiceID         string
	InfoField         string
	VerificationToken string
	VerifyURL         string
	Credential        string
	IssuedAt          time.Time
	ExpiresAt         time.Time
}

// VerifyPath is the API path of a verification token.
func VerifyPath(token string) string { return "/api/v1/verify/" + token }

// CreateShare shares one value with a service as a temporary verifiable
// credential: a verification token (its QR code carries the verify URL)
// and a compact JWS signed by the profile's key, carrying only that claim,
// the audience, the times and a unique id.
func (a *ShareService) CreateShare(ctx context.Context, p *Principal, r ShareRequest) (*Share, error) {
	if r.ServiceID == "" || r.InfoField == "" {
		return nil, errShareMissing
	}
	claim, ok := ClaimName(r.InfoField)
	if !ok {
		return nil, errNotShareable
	}
	if !validServiceID(r.ServiceID) {
		return nil, errServiceID
	}
	ttl := r.ExpiresIn
	if ttl == 0 {
		ttl = DefaultShareTTL
	}
	if ttl < 0 || ttl > MaxShareTTL {
		return nil, errExpiresIn
	}
	format, err := checkShareFormat(r.Format, r.Nonce)
	if err != nil {
		return nil, err
	}
	now := a.now()
	// Timed: the token's index (its token_hash cell) then grows with the
	// shares instead of taking a random page of the index for each.
	token, err := crypto.NewTimedToken(now)
	if err != nil {
		return nil, Internal(err)
	}
	sh := &share{ID: NewID(), shareData: shareData{ServiceID: r.ServiceID, Field: claim, Token: token, IssuedAt: now, ExpiresAt: now.Add(ttl)}}
	var credential string
	status := a.statusURL(ctx, p.UserID, sh.ID)
	var sd sdShare
	if format == ShareFormatSDJWT {
		sd = a.sdShareFor(ctx, p.UserID, r.Nonce)
	}
	var value json.RawMessage
	var is *issuer
	id, expires := sh.ID, sh.ExpiresAt
	sign := func(is *issuer, value json.RawMessage) (string, error) {
		if format == ShareFormatSDJWT {
			s := sd
			s.Audience, s.Claim, s.Value, s.Now, s.Expires = r.ServiceID, claim, value, now, expires
			return is.signSDJWT(s)
		}
		return is.sign(id, r.ServiceID, claim, value, status, now, expires)
	}
	// The credential is signed beside the commit, not after it: at the end
	// of the write's first complete run, on a goroutine of its own, while
	// the writer goes on with its group and commits. It is given out only
	// once the commit has returned, and only if the share was committed
	// with that run's value and issuer (a later run may differ: it is then
	// signed again). Signed after the commit, the signatures of a whole
	// group woke at once beside the next group's writer.
	type signed struct {
		cred string
		err  error
	}
	var early chan signed
	var firstIs *issuer
	var firstValue json.RawMessage
	// Retryable: a run assigns value, the service and the issuer afresh.
	err = a.updateRetryable(ctx, p.UserID, p.DEK, func(tx Tx) (err error) {
		if value, err = claimValue(tx, claim, now); err != nil {
			return err
		}
		svc, err := a.ensureService(tx, r.ServiceID, now)
		if err != nil {
			return err
		}
		sh.Service = svc.ID // how service.shares finds it
		if err := putShare(tx, sh); err != nil {
			return err
		}
		if is, err = a.issuerFor(tx, p.ProfileID); err != nil {
			return err
		}
		if early == nil {
			early, firstIs, firstValue = make(chan signed, 1), is, value // one send: never blocks
			go func(is *issuer, value json.RawMessage) {
				defer func() {
					if r := recover(); r != nil {
						early <- signed{err: fmt.Errorf("signing panicked: %v", r)}
					}
				}()
				cred, err := sign(is, value)
				early <- signed{cred, err}
			}(is, value)
		}
		return nil
	})
	if err != nil {
		return nil, AsError(err)
	}
	if early != nil && firstIs == is && bytes.Equal(firstValue, value) {
		s := <-early
		credential, err = s.cred, s.err
	} else {
		credential, err = sign(is, value) // the first run's is not what was committed
	}
	if err != nil {
		return nil, Internal(err)
	}
	return &Share{
		ShareID: sh.ID, ServiceID: r.ServiceID, InfoField: claim, VerificationToken: token,
		VerifyURL: a.userURL(ctx, p.UserID, VerifyPath(token)), Credential: credential, IssuedAt: now, ExpiresAt: sh.ExpiresAt,
	}, nil
}

func putShare(tx Tx, sh *share) error {
	data, err := sh.shareData.appendJSON(make([]byte, 0, 256))
	if err != nil {
		return err
	}
	// A new share (its id just made): the transaction knows the whole
	// entity as it writes it, and the view derivation that follows reads
	// it back from there instead of opening its cells again.
	tx.Fresh(EntityShare, sh.ID)
	// One cell, one operation: the token's index in clear, the record
	// sealed.
	return tx.Put(Cell{Entity: EntityShare, ID: sh.ID, Field: "token_hash", Clear: crypto.TokenIndex(sh.Token), Value: data, Parsed: sh.shareData})
}

// Verification is what a third party holding a verification token gets:
// the shared claim's current value and a freshly signed credential.
type Verification struct {
	ServiceID  string
	Claims     map[string]json.RawMessage
	IssuedAt   time.Time
	ExpiresAt  time.Time
	Credential string
	Issuer     string
	IssuerKey  JWK
}

// Verify answers a verification token (no session): unknown 404, revoked
// or expired 410; else the claim's current value from the share's view,
// signed afresh with the key this device keeps for the profile.
func (a *ShareService) Verify(ctx context.Context, token string) (*Verification, error) {
	c, err := a.capabilityByToken(ctx, CapShare, token)
	if errors.Is(err, ErrNotFound) {
		return nil, errVTUnknown
	}
	if err != nil {
		return nil, Internal(err)
	}
	switch {
	case c.State == CapRevoked:
		return nil, errVTRevoked
	case c.View == nil:
		return nil, errVTExpired
	}
	v, err := a.openShareView(c, token)
	if err != nil {
		return nil, err
	}
	now := a.now()
	is, err := a.issuerOf(ctx, c.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	value := v.valueAt(now)
	cred, err := a.credential(is, c.ID, v.ServiceID, v.Field, value, a.statusURL(ctx, c.UserID, c.ID), now, v.ExpiresAt)
	if err != nil {
		return nil, Internal(err)
	}
	return &Verification{
		ServiceID: v.ServiceID, Claims: map[string]json.RawMessage{v.Field: value},
		IssuedAt: v.IssuedAt, ExpiresAt: v.ExpiresAt, Credential: cred, Issuer: is.did, IssuerKey: is.jwk,
	}, nil
}

// GetShare is the user reading, with their own token, what a share of
// theirs gives a service now: {field: value}. A token that is not the
// user's active share for that service gets the legacy not-agreed error.
func (a *ShareService) GetShare(ctx context.Context, p *Principal, serviceID, token string) (map[string]json.RawMessage, error) {
	if serviceID == "" || token == "" {
		return nil, errGetShareMissing
	}
	c, err := a.capabilityByToken(ctx, CapShare, token)
	if errors.Is(err, ErrNotFound) || (err == nil && c.UserID != p.UserID) {
		return nil, errNotAgreed
	}
	if err != nil {
		return nil, Internal(err)
	}
	// The share's view answers, as /verify does: the same current value,
	// with no read of the profile.
	if c.State != CapActive || c.View == nil {
		return nil, errNotAgreed
	}
	v, err := a.openShareView(c, token)
	if errors.Is(err, errVTUnknown) || (err == nil && v.ServiceID != serviceID) {
		return nil, errNotAgreed
	}
	if err != nil {
		return nil, err
	}
	return map[string]json.RawMessage{v.Field: v.valueAt(a.now())}, nil
}

// openShareView opens a live share's view with its token: errVTUnknown
// when it does not open, the API's error when the claim cannot be read
// now (restricted, no date of birth).
func (a *core) openShareView(c *Capability, token string) (*shareView, error) {
	v, err := openCached[shareView](a, c, token)
	if err != nil {
		return nil, errVTUnknown
	}
	if e := shareErrors[v.Error]; e != nil {
		return nil, e
	}
	if v.Error != "" {
		return nil, Internal(fmt.Errorf("share view error %q", v.Error))
	}
	return v, nil
}

// ownShareID is the share id of one of the principal's shares, named by
// its share id or its verification token.
func (a *ShareService) ownShareID(ctx context.Context, p *Principal, id string) (string, error) {
	if id == "" {
		return "", E(KindInvalid, "missing_parameter", "id must exist!")
	}
	if c, err := a.store.CapabilityByHash(ctx, crypto.TokenIndex(id)); err == nil && c.UserID == p.UserID && c.Kind == CapShare {
		return c.ID, nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return "", Internal(err)
	}
	return id, nil
}
