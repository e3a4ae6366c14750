// Package webhook delivers webhook events from the outbox: an HTTP POST of
// the event's JSON body with the X-Profile-Signature header computed when
// the event was queued. A 2xx answer is a delivery; anything else (or no
// answer) leaves the event in the outbox for a retry with backoff, except
// what no retry can mend (an address the sender refuses, a URL that is not
// one, a payload it cannot read): that fails the event for good.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Sender posts webhook events. It implements app.Sender for kind
// app.KindWebhook.
type Sender struct {
	client *http.Client
}

// ErrAddressNotAllowed is the failure of a delivery to an address the
// sender refuses: loopback, private, link-local, multicast or unspecified.
// Send returns it as an app.Permanent error (errors.Is still finds it).
var ErrAddressNotAllowed = errors.New("webhook: address not allowed")

// ErrBadURL is the failure of a delivery to something that is not an
// http(s) URL with a host; permanent too.
var ErrBadURL = errors.New("webhook: bad URL")

// New returns a Sender. Redirects are not followed: a service answers its
// own URL. Unless allowPrivate is set, a webhook may reach only public
// addresses — checked when dialling, so neither a URL nor its DNS answer
// can point the server at itself or its network. client (nil: one of its
// own, 20 s timeout, no proxy from the environment) is copied, and its
// transport given the check.
func New(client *http.Client, allowPrivate bool) *Sender {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		c.Timeout = 20 * time.Second
	}
	if !allowPrivate {
		base, _ := c.Transport.(*http.Transport)
		if base == nil {
			base = &http.Transport{TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 2}
		}
		t := base.Clone()
		t.Proxy = nil // a proxy would dial for us, unchecked
		d := &net.Dialer{Timeout: 10 * time.Second, Control: refusePrivate}
		t.DialContext = d.DialContext
		c.Transport = t
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Sender{client: &c}
}

// refusePrivate is a net.Dialer Control: it refuses addresses that are
// not public unicast ones.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return ErrAddressNotAllowed
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ErrAddressNotAllowed
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip) {
		return ErrAddressNotAllowed
	}
	return nil
}

// sharedAddressSpace is RFC 6598's carrier-grade NAT range.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// Kind is app.KindWebhook.
func (s *Sender) Kind() string { return app.KindWebhook }

// Send posts one event. Errors name what failed (status or network
// error kind) but never the URL or the body.
func (s *Sender) Send(ctx context.Context, m *app.Message) error {
	var d app.WebhookDelivery
	if err := json.Unmarshal(m.Payload, &d); err != nil {
		return app.Permanent(fmt.Errorf("webhook: undecodable outbox message: %w", err))
	}
	if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return app.Permanent(ErrBadURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return app.Permanent(ErrBadURL)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "secure-personal-profile-webhook/1")
	req.Header.Set("X-Profile-Signature", d.Signature)
	req.Header.Set("X-Profile-Event", d.Event)
	req.Header.Set("X-Profile-Delivery", m.ID)
	res, err := s.client.Do(req)
	if err != nil {
		// Say what kind of failure, not where: the URL and the address
		// are the user's business, not the log's.
		if errors.Is(err, ErrAddressNotAllowed) {
			return app.Permanent(ErrAddressNotAllowed)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return errors.New("webhook: no answer in time")
		}
		return errors.New("webhook: could not connect")
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook: service answered %d", res.StatusCode)
	}
	return nil
}
