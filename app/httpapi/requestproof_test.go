package httpapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app/callbacktest"
)

// TestRequesterVerifiedInTheAPI: POST /requests takes callback_url; one
// on another domain is 400 invalid_callback_url; one that answers the
// challenge makes requester_verified true in the user's list (with the
// domain and the check's state) and in the third party's poll. A request
// without a callback answers as before, plus requester_verified false.
func TestRequesterVerifiedInTheAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "asked@example.org", "handle", "asked")

	// The requester's callback: it finds its request_id by the hash the
	// challenge carries and proves it.
	cb := callbacktest.New(t, callbacktest.Right)
	e.App.StartOutbox(t.Context(), cb.Sender())

	r := e.form(t, "POST", "/api/v1/requests", "service_id", "casino.example.com", "info_field", "email", "handle", "asked", "callback_url", "https://casino.example.org/cb")
	want(t, r, 400, "callback_url must be an https URL on service_id's domain or a subdomain of it (port 443, no user or fragment)!", "invalid_callback_url")
	want(t, e.form(t, "POST", "/api/v1/requests", "service_id", "My Casino", "info_field", "email", "handle", "asked", "callback_url", "https://casino.example.com/cb"),
		400, "callback_url needs a service_id that is a domain name!", "invalid_callback_url")

	r = e.json(t, "POST", "/api/v1/requests", map[string]any{"service_id": "casino.example.com", "info_field": "email", "handle": "asked", "callback_url": "https://casino.example.com/cb"})
	want(t, r, 201, "success", "")
	if keys := mapKeys(r.Body); !slices.Equal(keys, []string{"expires_at", "poll_url", "request_id", "status"}) {
		t.Fatalf("created: %s", r.Raw)
	}
	verified := r.str("request_id")
	cb.Learn(verified)
	plain := e.form(t, "POST", "/api/v1/requests", "service_id", "bar", "info_field", "email", "handle", "asked").str("request_id")

	// The user's list, once the check is over.
	var byService map[string]map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := e.form(t, "GET", "/api/v1/profile/requests", "token", tok)
		want(t, list, 200, "success", "")
		byService = map[string]map[string]any{}
		for _, x := range list.Body["requests"].([]any) {
			m := x.(map[string]any)
			byService[m["service_id"].(string)] = m
		}
		if byService["casino.example.com"]["requester_check"] != "checking" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the check never finished: %s", list.Raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m := byService["casino.example.com"]; m["requester_verified"] != true || m["requester_domain"] != "casino.example.com" || m["requester_check"] != "verified" || m["requester_problem"] != nil {
		t.Fatalf("verified request: %v", m)
	}
	m := byService["bar"]
	if keys := mapKeys(m); m["requester_verified"] != false ||
		!slices.Equal(keys, []string{"created_at", "expires_at", "id", "info_field", "request_status", "requester_verified", "service_id"}) {
		t.Fatalf("plain request: %v", m)
	}

	// The third party's poll.
	p := e.do(t, "GET", "/api/v1/requests/"+verified, "", nil)
	want(t, p, 200, "success", "")
	if p.Body["requester_verified"] != true || p.Body["requester_domain"] != nil {
		t.Fatalf("poll: %s", p.Raw)
	}
	p = e.do(t, "GET", "/api/v1/requests/"+plain, "", nil)
	if keys := mapKeys(p.Body); p.Body["requester_verified"] != false ||
		!slices.Equal(keys, []string{"created_at", "expires_at", "info_field", "request_status", "requester_verified", "service_id", "status"}) {
		t.Fatalf("poll: %s", p.Raw)
	}
	if strings.Contains(string(p.Raw), "requester_problem") {
		t.Fatal("the poll tells the third party why")
	}
}

func mapKeys(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
