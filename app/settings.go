package app

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"sync"
)

// The profile's settings: where outsiders reach the profile (API.md Part
// 4 "Where outsiders reach the profile"). The public URL is a setting of
// the profile, synced to all its devices, so that a link made on the phone
// points at the home node that serves it, not at the phone.
//
//	settings/profile: public_url (clear: no secret, it is printed in
//	    every code the person shows, and a device must read it with no
//	    one signed in, to accept requests that name its host)
const (
	EntitySettings = "settings"
	settingsID     = "profile"
)

// Where a device's links come from (public_url_source).
const (
	URLFromProfile = "profile" // the profile's setting
	URLFromFlag    = "flag"    // this device's --public-url
	URLFromDefault = "default" // this device's listen address
)

// Who can open the links (reachable).
const (
	ReachAnyone       = "anyone"        // a public host name or address
	ReachLocalNetwork = "local-network" // a private address or a local name
	ReachThisDevice   = "this-device"   // loopback
)

var errPublicURL = E(KindInvalid, "invalid_public_url", "public_url must be an http or https URL with a host and no user, query or fragment!")

// Settings are the profile's settings as a device sees them.
type Settings struct {
	PublicURL string // the base of every link this device makes for the profile
	Source    string // URLFromProfile, URLFromFlag or URLFromDefault
	Reachable string // ReachAnyone, ReachLocalNetwork or ReachThisDevice
}

// NormalisePublicURL checks a public URL as a user gives it and returns it
// without a trailing slash; "" stays "" (no setting).
func NormalisePublicURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || len(s) > 2048 {
		return "", errPublicURL
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String(), nil
}

// Reachability says who can open links under a URL, from its host alone:
// a loopback host only this device, a private address or a local name
// (single label, .local, .lan, .home.arpa, .internal) only devices on the
// same network, anything else anyone.
func Reachability(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ReachThisDevice
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return ReachThisDevice
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		switch {
		case ip.IsLoopback() || ip.IsUnspecified():
			return ReachThisDevice
		case ip.IsPrivate() || ip.IsLinkLocalUnicast() || netip.MustParsePrefix("100.64.0.0/10").Contains(ip):
			return ReachLocalNetwork
		}
		return ReachAnyone
	}
	if !strings.Contains(host, ".") {
		return ReachLocalNetwork
	}
	for _, suffix := range []string{".local", ".lan", ".home", ".home.arpa", ".internal", ".intranet", ".corp"} {
		if strings.HasSuffix(host, suffix) {
			return ReachLocalNetwork
		}
	}
	return ReachAnyone
}

// Settings returns the profile's settings as this device applies them.
func (a *ProfileService) Settings(ctx context.Context, p *Principal) (*Settings, error) {
	u, source, err := a.publicURL(ctx, p.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	return &Settings{PublicURL: u, Source: source, Reachable: Reachability(u)}, nil
}

// SetPublicURL sets (or, with "", clears) the profile's public URL, for
// every device of the profile.
func (a *ProfileService) SetPublicURL(ctx context.Context, p *Principal, publicURL string) (*Settings, error) {
	u, err := NormalisePublicURL(publicURL)
	if err != nil {
		return nil, err
	}
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		if u == "" {
			return tx.Delete(EntitySettings, settingsID)
		}
		return tx.Put(Cell{Entity: EntitySettings, ID: settingsID, Field: "public_url", Clear: []byte(u)})
	})
	if err != nil {
		return nil, Internal(err)
	}
	a.cfg.Log.Info("public URL set", "user_id", p.UserID, "set", u != "")
	return a.Settings(ctx, p)
}

// PublicURLs lists the public URLs of every profile of this installation:
// the hosts a request may name (the listener's Host check).
func (a *core) PublicURLs(ctx context.Context) ([]string, error) {
	accts, err := a.store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, acct := range accts {
		u, source, err := a.publicURL(ctx, acct.UserID)
		if err != nil {
			return nil, err
		}
		if source == URLFromProfile {
			out = append(out, u)
		}
	}
	return out, nil
}

// publicURL is the base of the user's links on this device: the profile's
// setting, else this device's --public-url, else its listen address.
func (a *core) publicURL(ctx context.Context, userID string) (string, string, error) {
	u, gen, ok := a.caches.urls.get(userID)
	if ok {
		return a.withSource(u)
	}
	err := a.store.View(ctx, userID, nil, func(tx Tx) error {
		c, ok, err := tx.Get(EntitySettings, settingsID, "public_url")
		if ok {
			u = string(c.Clear)
		}
		return err
	})
	if err != nil {
		return "", "", err
	}
	a.caches.urls.put(userID, u, gen)
	return a.withSource(u)
}

func (a *core) withSource(profileURL string) (string, string, error) {
	switch {
	case profileURL != "":
		return profileURL, URLFromProfile, nil
	case a.cfg.PublicURLFromFlag:
		return strings.TrimRight(a.cfg.PublicURL, "/"), URLFromFlag, nil
	}
	return strings.TrimRight(a.cfg.PublicURL, "/"), URLFromDefault, nil
}

// userURL is the link to an API path for one of the user's capabilities:
// under the profile's public URL, wherever it was made.
func (a *core) userURL(ctx context.Context, userID, path string) string {
	u, _, err := a.publicURL(ctx, userID)
	if err != nil {
		// The store failed to read one clear cell: the device's own
		// base is still a working link here.
		a.cfg.Log.Warn("reading the profile's public URL", "err", err)
		u = strings.TrimRight(a.cfg.PublicURL, "/")
	}
	return u + path
}

// urlCache keeps each user's public URL setting between requests; a
// write of the setting (locally or by sync) drops it, in its transaction
// (deriveViews) and after its commit. A read that began before a drop does not put its (maybe
// older) value back: each drop moves the user's generation on.
type urlCache struct {
	mu      sync.Mutex
	m       map[string]string
	gen     map[string]uint64
	pending map[string]bool // changed in a transaction not yet committed
}

// changing drops a user's entry from inside the transaction that writes
// the setting; committed drops it again once that has committed (a read
// between the two saw the old value).
func (c *urlCache) changing(userID string) {
	c.drop(userID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[string]bool{}
	}
	c.pending[userID] = true
}

// committed is the store's commit hook.
func (c *urlCache) committed(userID string) {
	c.mu.Lock()
	p := c.pending[userID]
	delete(c.pending, userID)
	c.mu.Unlock()
	if p {
		c.drop(userID)
	}
}

func (c *urlCache) get(userID string) (string, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[userID]
	return u, c.gen[userID], ok
}

func (c *urlCache) put(userID, u string, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[userID] != gen {
		return
	}
	if c.m == nil || len(c.m) > 4096 {
		c.m = map[string]string{}
	}
	c.m[userID] = u
}

func (c *urlCache) drop(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, userID)
	if c.gen == nil {
		c.gen = map[string]uint64{}
	}
	c.gen[userID]++
}
