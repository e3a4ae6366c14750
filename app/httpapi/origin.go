package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Requests from a browser that is not ours (API.md Part 4). Two checks run
// before any route:
//
//   - Host: the listener answers only the names it is reached by on
//     purpose: a loopback name or address, the address the connection
//     arrived at, the host of the public URL, and the hosts given with
//     AllowHosts (--allowed-host and --addr). Anything else is 421
//     "unknown host!". A page whose name an attacker re-points at this
//     machine (DNS rebinding) sends its own name as Host and is refused,
//     so it can neither read answers nor post.
//   - Origin: a POST, PUT or DELETE from a browser page of another origin
//     is 403 "cross-site request refused!". The check is the standard
//     library's [http.CrossOriginProtection]: Sec-Fetch-Site where the
//     browser sends it, else Origin compared with Host, the public URL's
//     origin trusted besides. A request with neither header (every
//     legacy client, curl, a service) passes; "Origin: null" (a sandboxed
//     frame, a file:// page) does not. The app's own pages post to their
//     own origin and pass.
//
// The refusals are errUnknownHost and errCrossSite (respond.go).

// guard holds what the two checks accept.
type guard struct {
	mu      sync.RWMutex
	hosts   map[string]bool // host names without port, lower case
	csrf    *http.CrossOriginProtection
	learned time.Time // when the profiles' public URLs were last read
}

func newGuard() *guard {
	return &guard{hosts: map[string]bool{"localhost": true}, csrf: http.NewCrossOriginProtection()}
}

// AllowHosts adds host names (or addresses), each with or without a port,
// that requests may name in Host besides the loopback names, the address
// a connection arrived at and the public URL's host. Ports are not
// compared: the check is about names.
func (s *Server) AllowHosts(hosts ...string) error {
	for _, h := range hosts {
		name, err := hostName(h)
		if err != nil {
			return err
		}
		if name == "" { // --addr :8000 names no host
			continue
		}
		s.guard.mu.Lock()
		s.guard.hosts[name] = true
		s.guard.mu.Unlock()
	}
	return nil
}

// AllowPublicURL accepts requests that name the URL's host and trusts
// posts from its origin: the public URL is where outsiders, and the
// app's own pages behind a reverse proxy, reach the listener.
func (s *Server) AllowPublicURL(publicURL string) error {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("public URL must be an http(s) URL with a host")
	}
	if err := s.AllowHosts(u.Host); err != nil {
		return err
	}
	return s.guard.csrf.AddTrustedOrigin(webOrigin(u.Scheme, u.Host))
}

// webOrigin is the serialised origin a browser sends for scheme and host:
// lower case, without the scheme's default port.
func webOrigin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return scheme + "://" + host
}

// hostName is the host of a Host header or flag value without port or
// brackets, in lower case, without a final dot.
func hostName(hostport string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(hostport))
	if strings.ContainsAny(h, "/?#@ \t") {
		return "", errors.New("allowed host " + hostport + " must be a host name or address, with or without port (not a URL)")
	}
	if name, _, err := net.SplitHostPort(h); err == nil {
		h = name
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return strings.TrimSuffix(h, "."), nil
}

// allowed reports whether the request's Host is one the listener answers.
func (g *guard) allowed(r *http.Request) bool {
	name, err := hostName(r.Host)
	if err != nil || name == "" {
		return false
	}
	g.mu.RLock()
	ok := g.hosts[name]
	g.mu.RUnlock()
	if ok {
		return true
	}
	// An address (never a name an attacker can re-point): loopback, or
	// the very address this connection arrived at (a listener bound to
	// 0.0.0.0 answers each of its addresses).
	ip, err := netip.ParseAddr(name)
	if err != nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	if ip.IsLoopback() {
		return true
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil && ap.Addr().Unmap().WithZone("") == ip {
			return true
		}
	}
	return false
}

// refuse returns why the guard refuses a request (errUnknownHost,
// errCrossSite), or nil.
func (g *guard) refuse(r *http.Request) error {
	if !g.allowed(r) {
		return errUnknownHost
	}
	if g.csrf.Check(r) != nil {
		return errCrossSite
	}
	return nil
}

// learnPublicURLs allows the profiles' public URLs as they are now (one
// may have been set on another device and arrived by sync since the
// listener started), at most once a second; it reports whether it looked.
func (s *Server) learnPublicURLs(ctx context.Context) bool {
	now := time.Now()
	s.guard.mu.Lock()
	if now.Sub(s.guard.learned) < time.Second {
		s.guard.mu.Unlock()
		return false
	}
	s.guard.learned = now
	s.guard.mu.Unlock()
	urls, err := s.app.PublicURLs(ctx)
	if err != nil {
		s.log.Warn("reading the profiles' public URLs", "err", err)
		return false
	}
	for _, u := range urls {
		s.AllowPublicURL(u)
	}
	return true
}
