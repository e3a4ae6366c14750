package app

import "sync"

// caches are what the app keeps in memory between requests to spare a
// store round trip or a key unwrap. None holds anything that can change
// under it: a share's revocation, expiry and value are read live on every
// request; what is cached is keys (which never change for a given token)
// and, within one second, a credential for the same value (issuer.go).
type caches struct {
	issuers issuers
	caps    capabilities
	creds   credentials
}

// capability is what a capability token (a share's verification token,
// the public link) opens: the record it names and the data key copy it
// unwraps, so the next request with the same token skips the lookup and
// the unwrap. Entries are keyed by the token's SHA-256, so only a holder of
// the token reaches one.
type capability struct {
	UserID    string
	ID        string
	ProfileID string
	DEK       []byte
}

type capabilities struct {
	mu sync.Mutex
	m  map[string]*capability
}

const capabilityCacheMax = 8192

func (c *capabilities) get(hash []byte) *capability {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[string(hash)]
}

func (c *capabilities) put(hash []byte, cp *capability) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= capabilityCacheMax {
		c.m = map[string]*capability{}
	}
	c.m[string(hash)] = cp
}

func (c *capabilities) drop(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, string(hash))
}
