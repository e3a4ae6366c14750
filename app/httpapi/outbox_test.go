package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app/webhook"
)

// TestRefusedWebhookFailsForGood: a service's webhook on 127.0.0.1, on a
// device that refuses private addresses (no --webhook-allow-private). Its
// first attempt is refused ("address not allowed", a permanent refusal):
// the event is failed for good, GET /profile/outbox says so, and however
// much time passes and however often the outbox runs, it is never
// attempted again (nor is the service ever reached).
func TestRefusedWebhookFailsForGood(t *testing.T) {
	e := newEnv(t)
	var hits atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer svc.Close()
	tok := e.user(t, "hook-refused@example.org")
	want(t, e.form(t, "POST", "/api/v1/profile/services", "token", tok, "service_id", "acme", "webhook_url", svc.URL+"/events"), 201, "success", "")
	e.share(t, tok, "acme", "phone")
	o := e.App.StartOutbox(t.Context(), webhook.New(nil, false))
	r := e.setFields(t, tok, map[string]any{"phone": "+15551230000"})
	if r.Body["notified"] != 1.0 {
		t.Fatalf("update-info: %s", r.Raw)
	}
	outbox := func() map[string]any {
		t.Helper()
		r := e.form(t, "GET", "/api/v1/profile/outbox", "token", tok)
		want(t, r, 200, "success", "")
		ms := r.Body["messages"].([]any)
		if len(ms) != 1 {
			t.Fatalf("outbox: %s", r.Raw)
		}
		return ms[0].(map[string]any)
	}
	deadline := time.Now().Add(10 * time.Second)
	for outbox()["attempts"] != 1.0 {
		if time.Now().After(deadline) {
			t.Fatalf("never attempted: %v", outbox())
		}
		time.Sleep(5 * time.Millisecond)
	}
	m := outbox()
	if m["status"] != "failed" || m["last_error"] != "webhook: address not allowed" || m["kind"] != "webhook" ||
		m["failed_at"] == nil || m["next_attempt_at"] != nil || m["delivered_at"] != nil {
		t.Fatalf("after the refusal: %v", m)
	}
	for range 5 {
		e.Clock.Advance(3 * time.Hour) // past any backoff
		o.Kick()
		o.Flush(t.Context())
	}
	if m := outbox(); m["attempts"] != 1.0 || m["status"] != "failed" {
		t.Fatalf("attempted again: %v", m)
	}
	if hits.Load() != 0 {
		t.Fatalf("the refused address was reached %d times", hits.Load())
	}
}
