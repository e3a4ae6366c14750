package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/callbacktest"
	"github.com/secure-personal-profile/spp/app/webhook"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// requestsNow is the user's requests once no domain check runs.
func requestsNow(t *testing.T, env *storetest.Env, p *app.Principal) []*app.RequestView {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs, err := env.App.Requests(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		running := false
		for _, r := range rs {
			running = running || r.RequesterCheck == app.RequesterCheckRunning
		}
		if !running {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the domain check never finished: %+v", rs[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withCallback is a user (Ada) on a fresh app whose outbox reaches a
// requester's callback answering as answer says, and her events.
func withCallback(t *testing.T, answer callbacktest.Answer) (*storetest.Env, *app.Principal, *callbacktest.Server, <-chan app.Event) {
	env := storetest.New(t, app.Config{})
	ada := registerUser(t, env, "Ada Lovelace", "ada@example.org")
	cb := callbacktest.New(t, answer)
	env.App.StartOutbox(t.Context(), cb.Sender())
	events, stop := env.App.Subscribe(ada.UserID)
	t.Cleanup(stop)
	return env, ada, cb, events
}

func nextEvent(t *testing.T, ch <-chan app.Event) app.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return app.Event{}
}

// TestRequesterProvesItsDomain: a request whose callback on the service
// id's domain (or a subdomain) answers the challenge shows its requester
// verified for the callback's host: in the user's list, in the event
// (sent once the check is over) and in the third party's poll. The
// challenge is one POST of JSON naming the request by its hash only.
func TestRequesterProvesItsDomain(t *testing.T) {
	for _, tc := range []struct{ service, callback, domain string }{
		{"casino.example.com", "https://casino.example.com/spp/challenge", "casino.example.com"},
		{"Example.COM", "https://casino.example.com:443/spp/challenge?x=1", "casino.example.com"}, // a subdomain; case and the default port do not matter
	} {
		t.Run(tc.service, func(t *testing.T) {
			ctx := context.Background()
			env, ada, cb, events := withCallback(t, callbacktest.Right)

			id, _, err := env.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: tc.service, InfoField: "email", ProfileID: ada.ProfileID, CallbackURL: tc.callback})
			if err != nil {
				t.Fatal(err)
			}
			cb.Learn(id)
			ev := nextEvent(t, events)
			if ev.Kind != app.EventRequest || !ev.RequesterVerified || ev.RequesterDomain != tc.domain || ev.ServiceID != tc.service {
				t.Fatalf("event %+v", ev)
			}
			rs := requestsNow(t, env, ada)
			if len(rs) != 1 || !rs[0].RequesterVerified || rs[0].RequesterDomain != tc.domain || rs[0].RequesterCheck != app.RequesterCheckVerified || rs[0].RequesterProblem != "" {
				t.Fatalf("requests %+v", rs[0])
			}
			if v, err := env.App.PollRequest(ctx, id); err != nil || !v.RequesterVerified {
				t.Fatalf("poll %+v %v", v, err)
			}
			if cb.Hits() != 1 {
				t.Fatalf("%d challenges, want one", cb.Hits())
			}
			ch, hdr := cb.Challenge(0)
			if ch["type"] != app.ChallengeType || ch["service_id"] != tc.service || ch["request_id_hash"] != app.RequestIDHash(id) ||
				len(ch["challenge"]) != 43 || len(ch) != 4 || strings.Contains(strings.Join([]string{ch["type"], ch["challenge"]}, ""), id) ||
				hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("challenge %v %v", ch, hdr)
			}
		})
	}
}

// TestRequesterThatDoesNotProveStaysUnverified: every answer but the
// right one leaves the requester unverified, with the reason. A callback
// that only echoes (as the real domain's would for a request someone else
// made naming it) proves nothing: the proof needs the request_id.
func TestRequesterThatDoesNotProveStaysUnverified(t *testing.T) {
	// Long enough for every other answer on a loaded machine; the slow
	// one never comes.
	defer app.SetChallengeTimeoutForTest(3 * time.Second)()
	for _, tc := range []struct {
		name    string
		answer  callbacktest.Answer
		problem string
	}{
		{"wrong echo", func(w http.ResponseWriter, _ *http.Request, ch map[string]string, id string) {
			json.NewEncoder(w).Encode(map[string]string{"challenge": "not it", "proof": app.ChallengeProof(id, ch["challenge"])})
		}, "did not echo the challenge"},
		{"echo without proof", callbacktest.Echo, "did not prove it made this request"},
		{"proof under another request_id", func(w http.ResponseWriter, _ *http.Request, ch map[string]string, _ string) {
			json.NewEncoder(w).Encode(map[string]string{"challenge": ch["challenge"], "proof": app.ChallengeProof("someone else's", ch["challenge"])})
		}, "did not prove it made this request"},
		{"plain echo", func(w http.ResponseWriter, _ *http.Request, ch map[string]string, _ string) {
			io.WriteString(w, ch["challenge"])
		}, "not the JSON of an answer"},
		{"error", func(w http.ResponseWriter, _ *http.Request, _ map[string]string, _ string) {
			w.WriteHeader(http.StatusInternalServerError)
		}, "answered HTTP 500"},
		{"redirect", func(w http.ResponseWriter, _ *http.Request, ch map[string]string, _ string) {
			w.Header().Set("Location", "https://casino.example.com/elsewhere")
			w.WriteHeader(http.StatusFound)
		}, "redirect (HTTP 302), which is not followed"},
		{"too large", func(w http.ResponseWriter, _ *http.Request, ch map[string]string, id string) {
			json.NewEncoder(w).Encode(map[string]string{"challenge": ch["challenge"], "proof": app.ChallengeProof(id, ch["challenge"]), "pad": strings.Repeat("x", 8<<10)})
		}, "answer was too large"},
		{"too slow", func(w http.ResponseWriter, r *http.Request, ch map[string]string, id string) {
			select {
			case <-r.Context().Done(): // the app gave up and hung up
			case <-time.After(30 * time.Second):
				callbacktest.Right(w, nil, ch, id)
			}
		}, "did not answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env, ada, cb, events := withCallback(t, tc.answer)
			id, _, err := env.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: "casino.example.com", InfoField: "email", ProfileID: ada.ProfileID, CallbackURL: "https://casino.example.com/cb"})
			if err != nil {
				t.Fatal(err)
			}
			cb.Learn(id)
			if ev := nextEvent(t, events); ev.RequesterVerified || ev.RequesterDomain != "" {
				t.Fatalf("event %+v", ev)
			}
			rs := requestsNow(t, env, ada)
			r := rs[0]
			if r.RequesterVerified || r.RequesterCheck != app.RequesterCheckFailed || r.RequesterDomain != "casino.example.com" || !strings.Contains(r.RequesterProblem, tc.problem) {
				t.Fatalf("request %+v, want problem %q", r, tc.problem)
			}
			if v, err := env.App.PollRequest(ctx, id); err != nil || v.RequesterVerified {
				t.Fatalf("poll %+v %v", v, err)
			}
			if cb.Hits() != 1 {
				t.Fatalf("%d challenges, want one", cb.Hits())
			}
		})
	}
}

// TestCallbackOnAnotherDomainIsRefused: a callback must be https on the
// service id's domain or a subdomain of it, at port 443, by name: anything
// else is 400 invalid_callback_url at once, with no request recorded and
// nothing contacted.
func TestCallbackOnAnotherDomainIsRefused(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	ada := registerUser(t, env, "Ada Lovelace", "ada@example.org")
	cb := callbacktest.New(t, callbacktest.Right)
	env.App.StartOutbox(t.Context(), cb.Sender())
	for _, tc := range []struct{ service, callback string }{
		{"casino.example.com", "https://evil.example.org/cb"},
		{"casino.example.com", "https://notcasino.example.com/cb"},
		{"casino.example.com", "https://casino.example.com.evil.example.org/cb"},
		{"casino.example.com", "https://example.com/cb"}, // the parent is not the service's
		{"casino.example.com", "http://casino.example.com/cb"},
		{"casino.example.com", "https://casino.example.com:8443/cb"},
		{"casino.example.com", "https://user:pw@casino.example.com/cb"},
		{"casino.example.com", "https://casino.example.com/cb#frag"},
		{"casino.example.com", "casino.example.com/cb"},
		{"casino.example.com", "https://[::1]/cb"},
		{"127.0.0.1", "https://127.0.0.1/cb"},       // addresses are not domains
		{"10.0.0.1", "https://10.0.0.1/cb"},         //
		{"My Casino", "https://casino.example.com"}, // no domain to prove
		{"localhost", "https://localhost/cb"},
		{"casino.example.com", "https://casino.example.com/" + strings.Repeat("x", 3000)},
	} {
		_, _, err := env.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: tc.service, InfoField: "email", ProfileID: ada.ProfileID, CallbackURL: tc.callback})
		var e *app.Error
		if !isCode(err, "invalid_callback_url") || !errors.As(err, &e) || e.Kind != app.KindInvalid || !strings.Contains(e.Message, "callback_url") {
			t.Errorf("%s %s: %v", tc.service, tc.callback, err)
		}
	}
	if rs, err := env.App.Requests(ctx, ada); err != nil || len(rs) != 0 {
		t.Fatalf("recorded %d requests, %v", len(rs), err)
	}
	time.Sleep(50 * time.Millisecond)
	if cb.Hits() != 0 {
		t.Fatalf("%d challenges sent", cb.Hits())
	}
	// A request without a callback is unchecked and unverified, at once.
	events, stop := env.App.Subscribe(ada.UserID)
	defer stop()
	if _, _, err := env.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: "My Casino", InfoField: "email", ProfileID: ada.ProfileID}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.RequesterVerified {
		t.Fatalf("event %+v", ev)
	}
	if rs, _ := env.App.Requests(ctx, ada); len(rs) != 1 || rs[0].RequesterVerified || rs[0].RequesterCheck != "" || rs[0].RequesterDomain != "" {
		t.Fatalf("requests %+v", rs)
	}
}

// rebinding is a webhook sender as DNS would make it for a domain whose
// name answers a loopback address: every callback URL is sent to the
// callback server's own address, by the sender's guarded dialer.
type rebinding struct {
	*webhook.Sender
	addr string
}

func (r rebinding) Challenge(ctx context.Context, u string, body []byte, limit int64) (int, []byte, error) {
	p, err := url.Parse(u)
	if err != nil {
		return 0, nil, err
	}
	p.Host = r.addr
	return r.Sender.Challenge(ctx, p.String(), body, limit)
}

// TestChallengeNeverReachesPrivateAddresses: a requester cannot make the
// device post to its own or its network's addresses. The callback's
// domain resolves to loopback (the server the test runs): the device's
// webhook sender, which by default reaches public addresses only, refuses
// to dial it, the server is never hit, and the requester stays
// unverified, saying why.
func TestChallengeNeverReachesPrivateAddresses(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	ada := registerUser(t, env, "Ada Lovelace", "ada@example.org")
	cb := callbacktest.New(t, callbacktest.Right)
	env.App.StartOutbox(t.Context(), rebinding{webhook.New(cb.Client(), false), cb.Listener.Addr().String()})
	id, _, err := env.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: "casino.example.com", InfoField: "email", ProfileID: ada.ProfileID, CallbackURL: "https://casino.example.com/cb"})
	if err != nil {
		t.Fatal(err)
	}
	cb.Learn(id)
	r := requestsNow(t, env, ada)[0]
	if r.RequesterVerified || r.RequesterCheck != app.RequesterCheckFailed || !strings.Contains(r.RequesterProblem, "not a public one") {
		t.Fatalf("request %+v", r)
	}
	if cb.Hits() != 0 {
		t.Fatalf("the private address was reached %d times", cb.Hits())
	}
	// The sender itself refuses loopback callbacks given as addresses.
	if _, _, err := webhook.New(nil, false).Challenge(ctx, cb.URL+"/cb", []byte(`{}`), 1024); err != app.ErrAddressRefused {
		t.Fatalf("challenge to %s: %v", cb.URL, err)
	}
	if cb.Hits() != 0 {
		t.Fatal("reached")
	}
}

// TestChallengeIsNotInTheRequestsHandler: POST /requests answers before
// the callback does; meanwhile the request shows its check running, and
// the user hears of it once the check is over. A device that cannot make
// the check (no webhook sender) says so.
func TestChallengeIsNotInTheRequestsHandler(t *testing.T) {
	ctx := context.Background()
	env, ada, cb, events := withCallback(t, callbacktest.Right)
	release := cb.Hold()
	id, _, err := env.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: "casino.example.com", InfoField: "email", ProfileID: ada.ProfileID, CallbackURL: "https://casino.example.com/cb"})
	if err != nil {
		t.Fatal(err)
	}
	cb.Learn(id)
	rs, err := env.App.Requests(ctx, ada)
	if err != nil || len(rs) != 1 || rs[0].RequesterVerified || rs[0].RequesterCheck != app.RequesterCheckRunning || rs[0].RequesterDomain != "casino.example.com" {
		t.Fatalf("while checking: %+v %v", rs, err)
	}
	select {
	case ev := <-events:
		t.Fatalf("published before the check: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if ev := nextEvent(t, events); !ev.RequesterVerified {
		t.Fatalf("event %+v", ev)
	}
	if r := requestsNow(t, env, ada)[0]; !r.RequesterVerified {
		t.Fatalf("request %+v", r)
	}

	// No outbox, no webhook sender: no check.
	env2 := storetest.New(t, app.Config{})
	bob := registerUser(t, env2, "Bob", "bob@example.org")
	if _, _, err := env2.App.NewRequestWith(ctx, "192.0.2.1", app.RequestParams{ServiceID: "casino.example.com", InfoField: "email", ProfileID: bob.ProfileID, CallbackURL: "https://casino.example.com/cb"}); err != nil {
		t.Fatal(err)
	}
	if r := requestsNow(t, env2, bob)[0]; r.RequesterVerified || !strings.Contains(r.RequesterProblem, "cannot make the check") {
		t.Fatalf("request %+v", r)
	}
}
