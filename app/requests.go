package app

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Request states.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestDenied   = "denied"
	RequestExpired  = "expired" // pending past its expiry (never stored)
)

// Third-party requests: how long one waits for the user, and how many one
// client address may make per window.
const (
	RequestTTL         = 7 * 24 * time.Hour
	RequestLimit       = 30
	RequestLimitWindow = time.Hour
)

// Request is a third party's request for one value of a user (POST
// /requests), kept device-local until the user decides. ID names it to the
// user; the third party holds request_id, a 256-bit token stored only as
// PollHash, and polls with it. Payload (service_id, info_field) is sealed
// by the store under the installation key; Result, the approved share's
// verification token, is sealed to BoxKey (crypto.TokenBoxKey of the
// request_id), so only the third party can open it.
type Request struct {
	ID        string
	UserID    string
	PollHash  []byte
	BoxKey    []byte
	Payload   []byte
	Status    string
	Result    []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	DecidedAt time.Time
	// Proof is what checking the requester's domain found (JSON,
	// requestproof.go), sealed by the store like Payload; nil when the
	// request gave no callback_url.
	Proof []byte
}

// RequestStore keeps third parties' requests (device-local).
type RequestStore interface {
	PutRequest(ctx context.Context, r *Request) error
	RequestByPollHash(ctx context.Context, hash []byte) (*Request, error)
	UserRequest(ctx context.Context, userID, id string) (*Request, error)
	UserRequests(ctx context.Context, userID string) ([]*Request, error)
	// DecideRequest moves a pending request to status; ErrNotFound when it
	// is not pending (any more).
	DecideRequest(ctx context.Context, userID, id, status string, result []byte, at time.Time) error
	// SetRequestProof replaces a request's Proof; ErrNotFound for an
	// unknown request.
	SetRequestProof(ctx context.Context, id string, proof []byte) error
}

type requestPayload struct {
	ServiceID string `json:"service_id"`
	InfoField string `json:"info_field"`
}

type requestResult struct {
	Token     string    `json:"verification_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

var (
	errRequestMissing = E(KindInvalid, "missing_parameter", "service_id,info_field and handle or profile_id must exist!")
	errHandleUnknown  = E(KindNotFound, "unknown_handle", "handle must exist!")
	errProfileUnknown = E(KindNotFound, "unknown_profile", "profile_id must exist!")
	// Handles repeat: one held by several profiles names none of them, and
	// the answer does not say which hold it.
	errHandleAmbiguous = E(KindConflict, "ambiguous_handle", "handle is ambiguous, use profile_id!")
	errRequestUnknown  = E(KindNotFound, "unknown_request", "request does not exist!")
	errRequestDecided  = E(KindConflict, "request_decided", "request has already been decided!")
	errRequestExpired  = E(KindGone, "request_expired", "request has expired!")
)

// NewRequest records a third party's request for one value of the user
// it names: by profile id (which wins when both are given) or by handle,
// which must be held by exactly one profile of this installation (handles
// repeat). It returns the request_id the third party polls with. client is
// the caller's address, for the rate limit.
func (a *ShareService) NewRequest(ctx context.Context, client, serviceID, infoField, handle, profileID string) (string, time.Time, error) {
	return a.NewRequestWith(ctx, client, RequestParams{ServiceID: serviceID, InfoField: infoField, Handle: handle, ProfileID: profileID})
}

// RequestParams are a third party's request (POST /requests).
type RequestParams struct {
	ServiceID, InfoField string
	Handle, ProfileID    string // whom it asks: profile_id wins
	// CallbackURL, when given, is where the requester proves its domain
	// (requestproof.go): an https URL whose host is ServiceID or a
	// subdomain of it.
	CallbackURL string
}

// NewRequestWith is NewRequest with every parameter of POST /requests.
// With a callback URL the request is recorded at once and the callback
// challenged afterwards, in the background (requestproof.go); the user's
// subscribers hear of the request when that check is over.
func (a *ShareService) NewRequestWith(ctx context.Context, client string, q RequestParams) (string, time.Time, error) {
	serviceID := q.ServiceID
	if serviceID == "" || q.InfoField == "" || (q.Handle == "" && q.ProfileID == "") {
		return "", time.Time{}, errRequestMissing
	}
	claim, ok := ClaimName(q.InfoField)
	if !ok {
		return "", time.Time{}, errNotShareable
	}
	if !validServiceID(serviceID) {
		return "", time.Time{}, errServiceID
	}
	var domain string
	if q.CallbackURL != "" {
		var err error
		if domain, err = callbackDomain(serviceID, q.CallbackURL); err != nil {
			return "", time.Time{}, err
		}
	}
	key := a.LimitKey("requests", client)
	if err := a.ReserveAttempt(ctx, key, RequestLimit, RequestLimitWindow); err != nil {
		return "", time.Time{}, err
	}
	now := a.now()
	acct, err := a.requestedAccount(ctx, q.Handle, q.ProfileID)
	if err != nil {
		return "", time.Time{}, err
	}
	token, err := crypto.NewToken()
	if err != nil {
		return "", time.Time{}, Internal(err)
	}
	payload, _ := json.Marshal(requestPayload{ServiceID: serviceID, InfoField: claim})
	r := &Request{
		ID: NewID(), UserID: acct.UserID, PollHash: crypto.HashToken(token), BoxKey: crypto.TokenBoxKey(token),
		Payload: payload, Status: RequestPending, CreatedAt: now, ExpiresAt: now.Add(RequestTTL),
	}
	if domain != "" {
		r.Proof, _ = json.Marshal(requestProof{State: RequesterCheckRunning, Domain: domain, At: now})
	}
	if err := a.store.PutRequest(ctx, r); err != nil {
		return "", time.Time{}, Internal(err)
	}
	a.cfg.Log.Info("third-party request recorded", "user_id", acct.UserID, "request", r.ID)
	if domain != "" {
		go a.checkRequester(r, token, q.CallbackURL, domain, serviceID, claim)
	} else {
		a.publishRequest(r, serviceID, claim, nil)
	}
	return token, r.ExpiresAt, nil
}

// requestedAccount finds the account a third party names, by profile id
// or else by handle.
func (a *ShareService) requestedAccount(ctx context.Context, handle, profileID string) (*Account, error) {
	if profileID != "" {
		if len(profileID) > 256 {
			return nil, errProfileUnknown
		}
		acct, err := a.store.AccountByProfile(ctx, profileID)
		if errors.Is(err, ErrNotFound) {
			return nil, errProfileUnknown
		}
		if err != nil {
			return nil, Internal(err)
		}
		return acct, nil
	}
	acct, err := a.store.AccountByHandle(ctx, a.handleMAC(handle))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errHandleUnknown
	case errors.Is(err, ErrAmbiguous):
		return nil, errHandleAmbiguous
	case err != nil:
		return nil, Internal(err)
	}
	return acct, nil
}

// RequestView is a request as the user or the third party sees it.
type RequestView struct {
	ID        string    `json:"id,omitempty"`
	ServiceID string    `json:"service_id"`
	InfoField string    `json:"info_field"`
	State     string    `json:"request_status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	// Who asks, as far as this device could check (requestproof.go).
	// RequesterVerified: the request's callback on RequesterDomain
	// answered its challenge, so that domain's server made this request.
	// Without a callback RequesterCheck is empty and the requester is
	// whoever chose the service id.
	RequesterVerified bool   `json:"requester_verified"`
	RequesterDomain   string `json:"requester_domain,omitempty"`  // the callback's host
	RequesterCheck    string `json:"requester_check,omitempty"`   // checking | verified | failed
	RequesterProblem  string `json:"requester_problem,omitempty"` // why it failed, in words
	// Set for the third party once approved.
	VerificationToken string    `json:"verification_token,omitempty"`
	VerifyURL         string    `json:"verify_url,omitempty"`
	ShareExpiresAt    time.Time `json:"share_expires_at,omitzero"`
}

func (a *ShareService) requestView(r *Request) (*RequestView, error) {
	var p requestPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil {
		return nil, err
	}
	v := &RequestView{ID: r.ID, ServiceID: p.ServiceID, InfoField: p.InfoField, State: r.Status, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, DecidedAt: r.DecidedAt}
	if r.Status == RequestPending && !a.now().Before(r.ExpiresAt) {
		v.State = RequestExpired
	}
	if err := a.requesterOf(r, v); err != nil {
		return nil, err
	}
	return v, nil
}

// PollRequest is the third party asking after its request: its state and,
// once approved, the verification token.
func (a *ShareService) PollRequest(ctx context.Context, requestID string) (*RequestView, error) {
	if requestID == "" || len(requestID) > 256 {
		return nil, errRequestUnknown
	}
	r, err := a.store.RequestByPollHash(ctx, crypto.HashToken(requestID))
	if errors.Is(err, ErrNotFound) {
		return nil, errRequestUnknown
	}
	if err != nil {
		return nil, Internal(err)
	}
	v, err := a.requestView(r)
	if err != nil {
		return nil, Internal(err)
	}
	v.ID = "" // the user's name for it; the third party has its own
	if r.Status == RequestApproved {
		pt, err := crypto.OpenWithToken(requestID, r.Result)
		if err != nil {
			return nil, Internal(err)
		}
		var res requestResult
		if err := json.Unmarshal(pt, &res); err != nil {
			return nil, Internal(err)
		}
		v.VerificationToken, v.VerifyURL, v.ShareExpiresAt = res.Token, a.userURL(ctx, r.UserID, VerifyPath(res.Token)), res.ExpiresAt
	}
	return v, nil
}

// Requests lists the principal's requests from third parties, newest
// first.
func (a *ShareService) Requests(ctx context.Context, p *Principal) ([]*RequestView, error) {
	rs, err := a.store.UserRequests(ctx, p.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	out := make([]*RequestView, 0, len(rs))
	for _, r := range rs {
		v, err := a.requestView(r)
		if err != nil {
			return nil, Internal(err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (a *ShareService) pendingRequest(ctx context.Context, p *Principal, id string) (*Request, *RequestView, error) {
	if id == "" || len(id) > 128 {
		return nil, nil, errRequestUnknown
	}
	r, err := a.store.UserRequest(ctx, p.UserID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errRequestUnknown
	}
	if err != nil {
		return nil, nil, Internal(err)
	}
	v, err := a.requestView(r)
	if err != nil {
		return nil, nil, Internal(err)
	}
	switch v.State {
	case RequestPending:
		return r, v, nil
	case RequestExpired:
		return nil, nil, errRequestExpired
	default:
		return nil, nil, errRequestDecided
	}
}

// ApproveRequest shares what the request asks for (as share-create would,
// with its checks) and hands the verification token to the third party.
func (a *ShareService) ApproveRequest(ctx context.Context, p *Principal, id string, expiresIn time.Duration) (*Share, error) {
	r, v, err := a.pendingRequest(ctx, p, id)
	if err != nil {
		return nil, err
	}
	sh, err := a.CreateShare(ctx, p, ShareRequest{ServiceID: v.ServiceID, InfoField: v.InfoField, ExpiresIn: expiresIn})
	if err != nil {
		return nil, err
	}
	res, _ := json.Marshal(requestResult{Token: sh.VerificationToken, ExpiresAt: sh.ExpiresAt})
	sealed, err := crypto.SealToToken(r.BoxKey, res)
	if err == nil {
		err = a.store.DecideRequest(ctx, p.UserID, id, RequestApproved, sealed, a.now())
	}
	if err != nil {
		// Decided elsewhere meanwhile (or failed): the share just made
		// must not outlive the decision.
		if rerr := a.revokeShare(ctx, p, sh.ShareID); rerr != nil {
			a.cfg.Log.Error("revoking a share of a request decided twice", "err", rerr)
		}
		if errors.Is(err, ErrNotFound) {
			return nil, errRequestDecided
		}
		return nil, Internal(err)
	}
	return sh, nil
}

// DenyRequest refuses a request; the third party's poll says so.
func (a *ShareService) DenyRequest(ctx context.Context, p *Principal, id string) error {
	if _, _, err := a.pendingRequest(ctx, p, id); err != nil {
		return err
	}
	err := a.store.DecideRequest(ctx, p.UserID, id, RequestDenied, nil, a.now())
	if errors.Is(err, ErrNotFound) {
		return errRequestDecided
	}
	if err != nil {
		return Internal(err)
	}
	return nil
}

// revokeShare revokes one share of the principal.
func (a *ShareService) revokeShare(ctx context.Context, p *Principal, shareID string) error {
	return a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		return tx.Put(Cell{Entity: EntityShare, ID: shareID, Field: "revoked_at", Clear: timeText(a.now())})
	})
}
