package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Requesters who prove a domain (issue 15 §9). Anyone may send POST
// /requests under any service id, so a request is shown as unverified
// unless it gives a callback_url on the service id's domain (or a
// subdomain of it) that answers a challenge for this very request:
//
//  1. At request time the callback URL is checked (https, port 443, no
//     user or fragment, its host service_id or a subdomain of it, a
//     domain name and not an address): anything else is 400
//     invalid_callback_url, and no request is recorded.
//  2. Afterwards, in the background and once per request, this device
//     POSTs {"type":"spp.request.challenge","service_id",
//     "request_id_hash","challenge"} to the callback, with the webhook
//     sender's client (app/webhook: no redirects, public addresses only
//     unless --webhook-allow-private), within challengeTimeout, reading at
//     most challengeAnswerLimit bytes of the answer.
//  3. The answer must be 200 with {"challenge": the same challenge,
//     "proof": base64url(HMAC-SHA256(key: request_id, message:
//     challenge))}. Echoing alone is not enough: the real domain's
//     callback, named by someone else's request, echoes too, but only
//     the requester holds the request_id, so the proof binds the domain
//     to this request and not to whoever named its callback.
//
// What the check found is kept with the request (device-local, sealed
// under the installation key like the payload), and the user's
// subscribers hear of the request once it is over.

// The states of a requester's check (RequestView.RequesterCheck).
const (
	RequesterCheckRunning  = "checking"
	RequesterCheckVerified = "verified"
	RequesterCheckFailed   = "failed"
)

// ChallengeType is the type member of a challenge's body.
const ChallengeType = "spp.request.challenge"

// Bounds of a challenge: requests come from anyone, so each gets one try,
// a short one, and only so many run at once.
const (
	challengeTimeout     = 10 * time.Second // the callback's answer, connecting included
	challengeWait        = 30 * time.Second // for a free slot
	challengeAnswerLimit = 4 << 10          // bytes of the answer read
	// challengeStale is how long after a request a check still running
	// must have died with its device (stopped meanwhile).
	challengeStale = challengeWait + challengeTimeout + 30*time.Second
)

var (
	challengeSlots = make(chan struct{}, 8)
	// challengeTimeoutForTest, when set, replaces challengeTimeout.
	challengeTimeoutForTest atomic.Int64
)

func challengeDeadline() time.Duration {
	if d := challengeTimeoutForTest.Load(); d > 0 {
		return time.Duration(d)
	}
	return challengeTimeout
}

// Challenger posts one JSON body to a URL and returns the answer's status
// and body, of which at most limit bytes are read (a longer answer is
// ErrAnswerTooLarge). app/webhook's Sender is one: the outbox's webhook
// sender posts challenges with its own client and address guard. Errors
// never carry the URL: ErrAddressRefused for an address it refuses,
// context.DeadlineExceeded for no answer in time, any other for no
// connection.
type Challenger interface {
	Challenge(ctx context.Context, url string, body []byte, limit int64) (status int, answer []byte, err error)
}

// Errors of a Challenger.
var (
	ErrAddressRefused = errors.New("address not allowed")
	ErrAnswerTooLarge = errors.New("answer too large")
)

var (
	errCallbackURL = E(KindInvalid, "invalid_callback_url",
		"callback_url must be an https URL on service_id's domain or a subdomain of it (port 443, no user or fragment)!")
	errCallbackService = E(KindInvalid, "invalid_callback_url", "callback_url needs a service_id that is a domain name!")
)

// requestProof is what checking a requester's domain found (Request.Proof).
type requestProof struct {
	State   string    `json:"state"`  // RequesterCheck*
	Domain  string    `json:"domain"` // the callback's host
	Problem string    `json:"problem,omitempty"`
	At      time.Time `json:"at"`
}

// challengeBody is what a callback is sent.
type challengeBody struct {
	Type          string `json:"type"`
	ServiceID     string `json:"service_id"`
	RequestIDHash string `json:"request_id_hash"` // base64url SHA-256 of the request_id
	Challenge     string `json:"challenge"`
}

// challengeAnswer is what a callback must answer.
type challengeAnswer struct {
	Challenge string `json:"challenge"`
	Proof     string `json:"proof"`
}

// ChallengeProof is the proof a callback answers to challenge for the
// request whose request_id it holds: base64url (no padding) of
// HMAC-SHA256 keyed with the request_id over the challenge.
func ChallengeProof(requestID, challenge string) string {
	m := hmac.New(sha256.New, []byte(requestID))
	m.Write([]byte(challenge))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// RequestIDHash is the request_id_hash a challenge carries: how the
// callback finds which of its requests is meant without being sent the
// request_id.
func RequestIDHash(requestID string) string {
	return base64.RawURLEncoding.EncodeToString(crypto.HashToken(requestID))
}

// callbackDomain checks a request's callback URL against its service id
// and returns the callback's host: the domain a passed check verifies.
func callbackDomain(serviceID, raw string) (string, error) {
	sid := strings.ToLower(strings.TrimSuffix(serviceID, "."))
	if !domainName(sid) {
		return "", errCallbackService
	}
	if len(raw) > 2048 {
		return "", errCallbackURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", errCallbackURL
	}
	if p := u.Port(); p != "" && p != "443" {
		return "", errCallbackURL
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if !domainName(host) || (host != sid && !strings.HasSuffix(host, "."+sid)) {
		return "", errCallbackURL
	}
	return host, nil
}

// domainName reports whether s is a DNS name of at least two labels
// (letters, digits and inner hyphens, ASCII: IDNs in their xn-- form)
// whose last label is not all digits, so no IP address is one.
func domainName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// challenger is the device's webhook sender, when it can post challenges.
func (a *core) challenger() Challenger {
	o := a.outbox.Load()
	if o == nil {
		return nil
	}
	s, ok := o.sender(KindWebhook)
	if !ok {
		return nil
	}
	c, _ := s.(Challenger)
	return c
}

// checkRequester challenges a new request's callback (its own goroutine:
// never the request's handler), keeps what it found with the request and
// then tells the user's subscribers of the request.
func (a *ShareService) checkRequester(r *Request, requestID, callback, domain, serviceID, claim string) {
	p := a.challenge(requestID, callback, serviceID)
	p.Domain, p.At = domain, a.now()
	b, _ := json.Marshal(p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.store.SetRequestProof(ctx, r.ID, b); err != nil {
		a.cfg.Log.Error("keeping a request's domain check", "request", r.ID, "err", err)
	}
	a.cfg.Log.Info("third-party request's domain checked", "user_id", r.UserID, "request", r.ID, "verified", p.State == RequesterCheckVerified)
	a.publishRequest(r, serviceID, claim, &p)
}

// challenge sends the challenge and judges the answer.
func (a *core) challenge(requestID, callback, serviceID string) requestProof {
	failed := func(problem string) requestProof { return requestProof{State: RequesterCheckFailed, Problem: problem} }
	c := a.challenger()
	if c == nil {
		return failed("this device cannot make the check (no webhook sender)")
	}
	wait := time.NewTimer(challengeWait)
	defer wait.Stop()
	select {
	case challengeSlots <- struct{}{}:
		defer func() { <-challengeSlots }()
	case <-wait.C:
		return failed("this device had too many checks at once")
	}
	nonce, err := crypto.NewToken()
	if err != nil {
		return failed("this device could not make a challenge")
	}
	body, _ := json.Marshal(challengeBody{Type: ChallengeType, ServiceID: serviceID, RequestIDHash: RequestIDHash(requestID), Challenge: nonce})
	ctx, cancel := context.WithTimeout(context.Background(), challengeDeadline())
	defer cancel()
	status, answer, err := c.Challenge(ctx, callback, body, challengeAnswerLimit)
	switch {
	case errors.Is(err, ErrAddressRefused):
		return failed("the callback's address is not a public one (refused)")
	case errors.Is(err, ErrAnswerTooLarge):
		return failed("the callback's answer was too large")
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil):
		return failed("the callback did not answer in time")
	case err != nil:
		return failed("could not connect to the callback")
	case status >= 300 && status < 400:
		return failed(fmt.Sprintf("the callback answered a redirect (HTTP %d), which is not followed", status))
	case status != 200:
		return failed(fmt.Sprintf("the callback answered HTTP %d", status))
	}
	var ans challengeAnswer
	if json.Unmarshal(answer, &ans) != nil {
		return failed("the callback's answer is not the JSON of an answer")
	}
	if !hmac.Equal([]byte(ans.Challenge), []byte(nonce)) {
		return failed("the callback's answer did not echo the challenge")
	}
	if !hmac.Equal([]byte(ans.Proof), []byte(ChallengeProof(requestID, nonce))) {
		return failed("the callback's answer did not prove it made this request (wrong proof)")
	}
	return requestProof{State: RequesterCheckVerified}
}

// requesterOf fills in what checking r's requester found.
func (a *ShareService) requesterOf(r *Request, v *RequestView) error {
	if r.Proof == nil {
		return nil
	}
	var p requestProof
	if err := json.Unmarshal(r.Proof, &p); err != nil {
		return err
	}
	if p.State == RequesterCheckRunning && a.now().Sub(r.CreatedAt) > challengeStale {
		p.State, p.Problem = RequesterCheckFailed, "the check did not finish (this device stopped meanwhile)"
	}
	v.RequesterVerified = p.State == RequesterCheckVerified
	v.RequesterDomain, v.RequesterCheck, v.RequesterProblem = p.Domain, p.State, p.Problem
	return nil
}
