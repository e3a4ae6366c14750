package app

import (
	"sync"
	"sync/atomic"
)

// caches are what the app keeps in memory between requests to spare a
// store round trip or a key unwrap: each profile's parsed signing key,
// within one second a credential for the same value (issuer.go), each
// user's public URL (settings.go), and the capability records of shares
// and public links (below). What can change under an entry is dropped by
// the commit that changes it.
type caches struct {
	caps     capCache
	sessions sessionCache
	issuers  issuers
	creds    credentials
	urls     urlCache // each user's public URL setting (settings.go)
	// inboxKeys: each user's inbox public key as last seen (userID →
	// []byte), to seal a record before its write (sealAhead); the write
	// checks it against the stored one, so it needs no invalidation.
	inboxKeys sync.Map
}

// capCache keeps the capability records of share tokens and public links
// (the read path of /verify and the public page) between requests, and
// once a request has opened an entry's view with its token, the view as
// opened (openCached): an entry is found only by the token's hash, so
// only a holder of the token reaches either, as with sessions. An entry
// is valid only while no commit has happened since it was read: every
// commit, local or by sync, moves the generation on. A view's expiry is
// checked on every read all the same (capabilityByToken). Links are not
// cached: their passcode counters change outside commits.
type capCache struct {
	gen atomic.Uint64
	mu  sync.Mutex
	m   map[string]capEntry
}

type capEntry struct {
	c      Capability
	gen    uint64
	opened any // the view, opened; nil until a request opens it
}

const capCacheMax = 16384

// generation is the generation a read begins in.
func (c *capCache) generation() uint64 { return c.gen.Load() }

func (c *capCache) get(hash []byte) (Capability, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(hash)]
	if !ok || e.gen != c.gen.Load() {
		return Capability{}, false
	}
	return e.c, true
}

// put keeps a record read in generation gen, unless a commit came since.
func (c *capCache) put(cp *Capability, gen uint64) {
	if cp.Kind != CapShare && cp.Kind != CapPublic {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() {
		return
	}
	if c.m == nil || len(c.m) >= capCacheMax {
		c.m = map[string]capEntry{}
	}
	c.m[string(cp.TokenHash)] = capEntry{c: *cp, gen: gen}
}

// opened returns the view opened before from the record c, if c is the
// entry's record, still current.
func (c *capCache) opened(cp *Capability) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entryOf(cp)
	if !ok {
		return nil
	}
	return e.opened
}

// keepOpened keeps v, the view opened from the record cp, beside the
// entry of that record (if it is still the current one).
func (c *capCache) keepOpened(cp *Capability, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entryOf(cp); ok {
		e.opened = v
		c.m[string(cp.TokenHash)] = e
	}
}

// entryOf is the current entry whose record cp is a copy of (c.mu held):
// same token, no commit since, the same sealed view in memory.
func (c *capCache) entryOf(cp *Capability) (capEntry, bool) {
	e, ok := c.m[string(cp.TokenHash)]
	if !ok || e.gen != c.gen.Load() || !sameView(e.c.View, cp.View) {
		return capEntry{}, false
	}
	return e, true
}

// sameView reports whether two sealed views are the same bytes in memory
// (copies of one cached record).
func sameView(a, b []byte) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// committed is the store's commit hook: every entry is now stale.
func (c *capCache) committed(string) { c.gen.Add(1) }

// sessionCache keeps the principal a session token unwrapped (its data
// key) between requests, keyed by the token's hash, so that only a holder
// of the token reaches an entry; expiry is checked on every request, and
// logging out drops it. Only this process holds it, as it holds a
// signed-in user's key anyway.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]Principal
}

const sessionCacheMax = 8192

func (c *sessionCache) get(hash []byte) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[string(hash)]
	return p, ok
}

func (c *sessionCache) put(p *Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = map[string]Principal{}
	}
	c.m[string(p.TokenHash)] = *p
}

func (c *sessionCache) drop(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, string(hash))
}
