package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/secure-personal-profile/spp/crypto"
)

// Reachability on request (issue 14 "Honest codes"): the Settings screen
// fetches {public_url}/api/v1/healthz with a fresh nonce and the
// profile's did:key, and the node there proves it serves this profile by
// signing the nonce with the profile's key (which every device of the
// profile holds, and nothing else does).

// healthProofLabel is what a host proof signs before the nonce.
const healthProofLabel = "spp/healthz/v1\x00"

// HostProof is this node's proof that it serves the profile of did: the
// profile key's signature of the nonce; "" when it holds no such profile.
func (a *core) HostProof(ctx context.Context, did, nonce string) (string, error) {
	if did == "" || nonce == "" || len(nonce) > 128 {
		return "", nil
	}
	accts, err := a.store.Accounts(ctx)
	if err != nil {
		return "", Internal(err)
	}
	for _, acct := range accts {
		is, err := a.issuerOf(ctx, acct.UserID)
		if errors.Is(err, ErrNotFound) {
			continue // no signing key on this device yet
		}
		if err != nil {
			return "", Internal(err)
		}
		if is.did == did {
			return base64.RawURLEncoding.EncodeToString(ed25519.Sign(is.priv, []byte(healthProofLabel+nonce))), nil
		}
	}
	return "", nil
}

// Fetcher gets a URL's body (main.go gives an HTTP client with a short
// timeout): how the domain asks a node whether it answers.
type Fetcher func(ctx context.Context, url string) (status int, body []byte, err error)

// ReachCheck is what checking the public URL found.
type ReachCheck struct {
	URL       string // what was asked
	Reachable string // who can open links under the URL (Reachability)
	Answered  bool   // something answered the health check
	Ours      bool   // and it proved it serves this profile
	Problem   string // in words, when not Ours
}

// CheckReachability asks the profile's public URL whether a device of this
// profile answers there.
func (a *ProfileService) CheckReachability(ctx context.Context, p *Principal) (*ReachCheck, error) {
	s, err := a.Settings(ctx, p)
	if err != nil {
		return nil, err
	}
	c := &ReachCheck{URL: s.PublicURL, Reachable: s.Reachable}
	if a.cfg.Fetch == nil {
		c.Problem = "this device cannot make the check (no HTTP client)"
		return c, nil
	}
	var did string
	if err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		is, err := a.issuerFor(tx, p.ProfileID)
		if err == nil {
			did = is.did
		}
		return err
	}); err != nil {
		return nil, Internal(err)
	}
	nonce, err := crypto.NewToken()
	if err != nil {
		return nil, Internal(err)
	}
	u := s.PublicURL + "/api/v1/healthz?" + url.Values{"nonce": {nonce}, "profile": {did}}.Encode()
	status, body, err := a.cfg.Fetch(ctx, u)
	if err != nil {
		c.Problem = "nothing answers at " + s.PublicURL + ": " + fetchProblem(err)
		return c, nil
	}
	c.Answered = true
	var h struct {
		Status string `json:"status"`
		Proof  string `json:"proof"`
	}
	if status != 200 || json.Unmarshal(body, &h) != nil || h.Status != "success" {
		c.Problem = fmt.Sprintf("something answers at %s, but not this app (HTTP %d)", s.PublicURL, status)
		return c, nil
	}
	sig, err := base64.RawURLEncoding.DecodeString(h.Proof)
	pub, perr := DIDKeyPublic(did)
	if h.Proof == "" || err != nil || perr != nil || !ed25519.Verify(pub, []byte(healthProofLabel+nonce), sig) {
		c.Problem = "an instance of this app answers at " + s.PublicURL + ", but it is not a device of this profile (pair the home node first)"
		return c, nil
	}
	c.Ours = true
	return c, nil
}

// fetchProblem says in words why a fetch failed, without the URL again.
func fetchProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no such host"):
		return "the name does not resolve"
	case strings.Contains(msg, "connection refused"):
		return "the connection was refused"
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline"):
		return "no answer in time"
	case strings.Contains(msg, "certificate"):
		return "its TLS certificate is not valid"
	}
	return "the connection failed"
}
