package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/webhook"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// service is a webhook receiver that can be down (503) or up.
type service struct {
	mu     sync.Mutex
	up     bool
	tries  int
	bodies [][]byte
	sigs   []string
	hdr    []http.Header
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	if !s.up {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.bodies, s.sigs, s.hdr = append(s.bodies, b), append(s.sigs, r.Header.Get("X-Profile-Signature")), append(s.hdr, r.Header.Clone())
	w.WriteHeader(http.StatusNoContent)
}

func (s *service) state() (tries, delivered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries, len(s.bodies)
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEventReachesAServiceThatWasDownAcrossARestart: the service is down
// (503) when the profile changes; the app stops; a new app on the same
// data directory delivers the event, signed, once the service is back.
func TestEventReachesAServiceThatWasDownAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	env := storetest.Open(t, dir, app.Config{})
	svc := &service{}
	srv := httptest.NewServer(svc)
	defer srv.Close()

	auth, err := env.App.Register(ctx, app.Registration{Email: "hook@example.org", Password: "webhook password 1"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	secret, err := env.App.RegisterService(ctx, p, "acme", "Acme", srv.URL+"/events")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "phone"}); err != nil {
		t.Fatal(err)
	}

	ctx1, stop1 := context.WithCancel(ctx)
	env.App.StartOutbox(ctx1, webhook.New(nil, true))
	res, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15551230000"}`))
	if err != nil || res.Notified != 1 {
		t.Fatalf("update: %+v %v", res, err)
	}
	waitFor(t, "a first attempt", func() bool {
		ms, _ := env.App.Outbox(ctx, p)
		return len(ms) == 1 && ms[0].Attempts >= 1
	})
	ms, _ := env.App.Outbox(ctx, p)
	if !ms[0].DeliveredAt.IsZero() || ms[0].LastError != "webhook: service answered 503" || ms[0].Kind != app.KindWebhook {
		t.Fatalf("after the 503: %+v", ms[0])
	}
	if strings.Contains(ms[0].LastError, srv.URL) {
		t.Fatal("the URL is in the outbox's error")
	}
	if d := ms[0].NextAt.Sub(env.Clock.Now()); d < time.Second || d > 3*time.Second {
		t.Fatalf("backoff %v", d)
	}

	// The app stops and starts again on the same directory; the service
	// is back up.
	stop1()
	env.DB.Close()
	env2 := storetest.Open(t, dir, app.Config{Now: env.Clock.Now})
	svc.mu.Lock()
	svc.up = true
	svc.mu.Unlock()
	o := env2.App.StartOutbox(ctx, webhook.New(nil, true))
	p2, err := env2.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	o.Flush(ctx)
	if _, delivered := svc.state(); delivered != 0 {
		t.Fatal("delivered before its backoff ran out")
	}
	env.Clock.Advance(4 * time.Second)
	o.Flush(ctx)
	waitFor(t, "the delivery", func() bool { _, d := svc.state(); return d == 1 })
	ms, _ = env2.App.Outbox(ctx, p2)
	if ms[0].DeliveredAt.IsZero() {
		t.Fatalf("not marked delivered: %+v", ms[0])
	}

	svc.mu.Lock()
	body, sig, hdr := svc.bodies[0], svc.sigs[0], svc.hdr[0]
	svc.mu.Unlock()
	if sig != sign(secret, body) {
		t.Fatalf("signature %q does not match the body under the secret", sig)
	}
	if sign("whsec_wrong", body) == sig {
		t.Fatal("signature ignores the secret")
	}
	if hdr.Get("Content-Type") != "application/json" || hdr.Get("X-Profile-Event") != "profile.updated" || hdr.Get("X-Profile-Delivery") != ms[0].ID {
		t.Fatalf("headers %v", hdr)
	}
	var ev struct {
		Event      string         `json:"event"`
		ServiceID  string         `json:"service_id"`
		OccurredAt time.Time      `json:"occurred_at"`
		Data       map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "profile.updated" || ev.ServiceID != "acme" || ev.OccurredAt.IsZero() || ev.Data["updated"].(map[string]any)["phone"] != "+15551230000" {
		t.Fatalf("event %s", body)
	}

	// Delivered once: later flushes send nothing more.
	env.Clock.Advance(time.Hour)
	o.Flush(ctx)
	if _, d := svc.state(); d != 1 {
		t.Fatalf("delivered %d times", d)
	}

	// Revocation reaches the webhook too.
	if n, err := env2.App.RevokeAccess(ctx, p2, "acme"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	o.Flush(ctx)
	waitFor(t, "access.revoked", func() bool { _, d := svc.state(); return d == 2 })
	svc.mu.Lock()
	body, sig = svc.bodies[1], svc.sigs[1]
	svc.mu.Unlock()
	if sig != sign(secret, body) || !strings.Contains(string(body), `"event":"access.revoked"`) {
		t.Fatalf("revocation event %s (%s)", body, sig)
	}
	// After revocation, changes reach the service no more.
	if res, err := env2.App.UpdateInfo(ctx, p2, json.RawMessage(`{"phone":"+15559999999","name":"Changed"}`)); err != nil || res.Notified != 0 {
		t.Fatalf("update after revocation: %+v %v", res, err)
	}
}

// TestSendRefusesRedirectsAndNon2xx: only a 2xx answer from the URL itself
// is a delivery.
func TestSendRefusesRedirectsAndNon2xx(t *testing.T) {
	hit := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit++ }))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) }))
	defer fail.Close()
	s := webhook.New(nil, true)
	msg := func(u string) *app.Message {
		b, _ := json.Marshal(app.WebhookDelivery{URL: u, Event: "profile.updated", Body: `{}`, Signature: "sha256=00"})
		return &app.Message{ID: "m1", Kind: app.KindWebhook, Payload: b}
	}
	if err := s.Send(context.Background(), msg(redirect.URL)); err == nil || hit != 0 {
		t.Fatalf("redirect: %v, target hit %d", err, hit)
	}
	if err := s.Send(context.Background(), msg(fail.URL)); err == nil || err.Error() != "webhook: service answered 400" {
		t.Fatalf("400: %v", err)
	}
	if err := s.Send(context.Background(), msg(target.URL)); err != nil || hit != 1 {
		t.Fatalf("200: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	u := closed.URL
	closed.Close()
	if err := s.Send(context.Background(), msg(u)); err == nil || strings.Contains(err.Error(), strings.TrimPrefix(u, "http://")) {
		t.Fatalf("down: %v", err)
	}
	if err := s.Send(context.Background(), &app.Message{Payload: []byte("garbage")}); err == nil || !app.IsPermanent(err) {
		t.Fatalf("garbage payload: %v", err)
	}
	// What no retry can mend fails for good; what may mend, not.
	for _, u := range []string{"ftp://example.org/x", "example.org/events", "http:///events", "::"} {
		if err := s.Send(context.Background(), msg(u)); !errors.Is(err, webhook.ErrBadURL) || !app.IsPermanent(err) {
			t.Errorf("%q: %v", u, err)
		}
	}
	if err := s.Send(context.Background(), msg(fail.URL)); app.IsPermanent(err) {
		t.Fatalf("a 400 is not for good: %v", err)
	}
	if err := s.Send(context.Background(), msg(u)); app.IsPermanent(err) {
		t.Fatalf("a service down is not for good: %v", err)
	}
	if s.Kind() != "webhook" {
		t.Fatal(s.Kind())
	}
}

// By default a webhook reaches only public addresses: loopback, private
// and link-local ones are refused when dialling, and nothing is sent.
func TestSendRefusesPrivateAddressesByDefault(t *testing.T) {
	hit := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit++ }))
	defer srv.Close()
	s := webhook.New(nil, false)
	for _, u := range []string{srv.URL, "http://localhost:" + srv.URL[strings.LastIndex(srv.URL, ":")+1:], "http://10.0.0.1:9/", "http://169.254.169.254/latest", "http://[::1]:9/", "http://0.0.0.0:9/"} {
		b, _ := json.Marshal(app.WebhookDelivery{URL: u, Event: "profile.updated", Body: `{}`, Signature: "sha256=00"})
		err := s.Send(context.Background(), &app.Message{ID: "m", Kind: app.KindWebhook, Payload: b})
		if !errors.Is(err, webhook.ErrAddressNotAllowed) || !app.IsPermanent(err) || err.Error() != "webhook: address not allowed" {
			t.Errorf("%s: %v", u, err)
		}
	}
	if hit != 0 {
		t.Fatalf("a refused address was reached %d times", hit)
	}
}
