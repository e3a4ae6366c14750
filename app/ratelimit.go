package app

import (
	"context"
	_ "embed"
	"net/netip"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Rate limits: attempts counted under keyed hashes (never the e-mail or
// the address itself), in the store, before the work they limit.

// reservation is one attempt counted under a key (ReserveAttempt).
type reservation struct {
	key []byte
	at  time.Time
}

// reserve is ReserveAttempt, returning the count to give back (release).
func (a *core) reserve(ctx context.Context, key []byte, limit int, window time.Duration) (*reservation, error) {
	now := a.now()
	ok, oldest, err := a.store.ReserveAttempt(ctx, key, now, now.Add(-window), limit)
	if err != nil {
		return nil, Internal(err)
	}
	if !ok {
		return nil, rateLimited(oldest, window, now)
	}
	return &reservation{key: key, at: now}, nil
}

// release gives back counted attempts (nil ones are skipped). It fails
// only to the log: at worst an attempt stays counted.
func (a *core) release(ctx context.Context, rs ...*reservation) {
	for _, r := range rs {
		if r == nil {
			continue
		}
		if err := a.store.ReleaseAttempt(ctx, r.key, r.at); err != nil {
			a.cfg.Log.Error("giving back a rate-limit count", "err", err)
		}
	}
}

// addressSubject is what a per-address limit counts under: the address,
// or for IPv6 its /64 (one host, or one home, usually holds a whole /64,
// so a fresh address from it is no fresh client).
func addressSubject(client string) string {
	ip, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	if ip = ip.Unmap().WithZone(""); ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// RateLimit refuses (429, with Retry-After) while key has limit or more
// failures recorded (AddFailure) within window. Keys are keyed hashes,
// never the e-mail or address itself.
func (a *core) RateLimit(ctx context.Context, key []byte, limit int, window time.Duration) error {
	now := a.now()
	n, oldest, err := a.store.Failures(ctx, key, now.Add(-window))
	if err != nil {
		return Internal(err)
	}
	if n >= limit {
		return rateLimited(oldest, window, now)
	}
	return nil
}

// ReserveAttempt counts one attempt under key, atomically refusing it
// (429, with Retry-After) when limit attempts are already counted within
// window: where every attempt counts, this is the check and the count in
// one step.
func (a *core) ReserveAttempt(ctx context.Context, key []byte, limit int, window time.Duration) error {
	_, err := a.reserve(ctx, key, limit, window)
	return err
}

func rateLimited(oldest time.Time, window time.Duration, now time.Time) error {
	e := E(KindRateLimited, "rate_limited", "too many attempts, try again later!")
	e.RetryAfter = max(oldest.Add(window).Sub(now), time.Second)
	return e
}

// LimitKey is the rate-limit key for a purpose and a subject (an e-mail,
// an address): a keyed hash under the installation key.
func (a *core) LimitKey(purpose, subject string) []byte {
	return crypto.KeyedHash(a.store.InstallationKey(), "limit:"+purpose+":"+subject)
}
