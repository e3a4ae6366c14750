package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// TestProfileSettings: GET and PUT /profile/settings, and every link made
// afterwards starts with the profile's public URL; the listener now
// answers requests that name its host.
func TestProfileSettings(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "settings@example.org")
	r := e.form(t, "GET", "/api/v1/profile/settings", "token", tok)
	want(t, r, 200, "success", "")
	if r.str("public_url_source") != "default" || r.str("reachable") != "this-device" {
		t.Fatalf("before: %s", r.Raw)
	}
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", "gopher://x"), 400, "public_url must be an http or https URL with a host and no user, query or fragment!", "invalid_public_url")
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok), 400, "public_url must exist!", "missing_parameter")
	r = e.json(t, "PUT", "/api/v1/profile/settings", map[string]any{"token": tok, "public_url": "https://profile.example.org/"})
	want(t, r, 200, "success", "")
	if r.str("public_url") != "https://profile.example.org" || r.str("public_url_source") != "profile" || r.str("reachable") != "anyone" {
		t.Fatalf("set: %s", r.Raw)
	}
	s := e.share(t, tok, "acme", "name")
	if !strings.HasPrefix(s.str("verify_url"), "https://profile.example.org/api/v1/verify/") {
		t.Fatalf("verify_url %s", s.str("verify_url"))
	}
	// The reverse proxy in front of the home node sends the public host.
	if h := e.withHost(t, "GET", "/api/v1/healthz", "profile.example.org", nil); h.Code != 200 {
		t.Fatalf("the public URL's host: %d %s", h.Code, h.Raw)
	}
	want(t, e.withHost(t, "GET", "/api/v1/healthz", "elsewhere.example", nil), 421, "unknown host!", "unknown_host")
	r = e.form(t, "POST", "/api/v1/profile/settings", "token", tok, "public_url", "")
	want(t, r, 200, "success", "")
	if r.str("public_url_source") != "default" {
		t.Fatalf("cleared: %s", r.Raw)
	}
}

// TestShareStatus: the status a credential names answers the share's
// state and nothing else.
func TestShareStatus(t *testing.T) {
	e := newEnv(t)
	tok := e.user(t, "status@example.org")
	s := e.share(t, tok, "acme", "name")
	path := "/api/v1/verify-status/" + s.str("share_id")
	r := e.do(t, "GET", path, "", nil)
	want(t, r, 200, "success", "")
	if r.str("state") != "active" || len(r.Body) != 2 {
		t.Fatalf("active: %s", r.Raw)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/revoke-access", "token", tok, "service_id", "acme"), 200, "success", "")
	if r := e.do(t, "GET", path, "", nil); r.str("state") != "revoked" {
		t.Fatalf("revoked: %s", r.Raw)
	}
	want(t, e.do(t, "GET", "/api/v1/verify-status/0190a3c4-0000-7000-8000-000000000009", "", nil), 404, "share does not exist!", "unknown_share")
}

// TestHomeNodeProvesItServesTheProfile: the reachability check of the
// Settings screen against a listener: a node of this profile proves it,
// another installation cannot, and nothing listening says so in words.
func TestHomeNodeProvesItServesTheProfile(t *testing.T) {
	home := newEnv(t)
	tok := home.user(t, "home@example.org")
	ctx := context.Background()
	p, err := home.App.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	// The checking device is the same profile's (here: the same store,
	// as a paired device would hold the same keys), with an HTTP client.
	checker, err := app.New(home.DB, app.Config{Fetch: httpapi.Fetch, KDF: storetest.FastKDF})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checker.SetPublicURL(ctx, p, home.srv.URL); err != nil {
		t.Fatal(err)
	}
	c, err := checker.CheckReachability(ctx, p)
	if err != nil || !c.Answered || !c.Ours || c.Reachable != app.ReachThisDevice {
		t.Fatalf("home node: %+v %v", c, err)
	}
	// Another installation answering at the URL proves nothing.
	other := newEnv(t)
	other.user(t, "someone-else@example.org")
	if _, err := checker.SetPublicURL(ctx, p, other.srv.URL); err != nil {
		t.Fatal(err)
	}
	if c, err := checker.CheckReachability(ctx, p); err != nil || !c.Answered || c.Ours || !strings.Contains(c.Problem, "not a device of this profile") {
		t.Fatalf("another installation: %+v %v", c, err)
	}
	// Nothing there.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, err := checker.SetPublicURL(ctx, p, dead.URL); err != nil {
		t.Fatal(err)
	}
	if c, err := checker.CheckReachability(ctx, p); err != nil || c.Answered || !strings.Contains(c.Problem, "nothing answers") {
		t.Fatalf("nothing listening: %+v %v", c, err)
	}
}

// TestVerifyPageInChromiumWithTheListenerStopped: the verification page
// checks a share code in the browser: a saved copy of the page, with the
// listener that made the code stopped, says genuine for a good code and
// not genuine for a tampered one.
func TestVerifyPageInChromiumWithTheListenerStopped(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	tok := e.user(t, "page@example.org")
	s := e.share(t, tok, "bar.example", "name")
	p, _ := e.App.Authenticate(context.Background(), tok)
	code, err := e.App.ShareCode(context.Background(), p, s.str("share_id"))
	if err != nil {
		t.Fatal(err)
	}
	page := e.do(t, "GET", "/api/v1/verify", "", nil, "Accept", "text/html")
	if page.Code != 200 || !strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'sha256-") {
		t.Fatalf("page: %d %v", page.Code, page.Header)
	}
	e.srv.Close() // the issuer's listener is gone
	saved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"Content-Type", "Content-Security-Policy"} {
			w.Header().Set(h, page.Header.Get(h))
		}
		w.Write(page.Raw)
	}))
	defer saved.Close()
	jws := code[strings.Index(code, "#")+1:]
	read := func(fragment string) (string, string) {
		t.Helper()
		// A new document each time (a changed fragment alone would not
		// load the page again).
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(saved.URL+"/api/v1/verify#"+fragment)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			cls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('result').className`))
			if err != nil {
				t.Fatal(err)
			}
			if cls != "muted" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the page never finished checking")
			}
			time.Sleep(50 * time.Millisecond)
		}
		result, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('result').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		claims, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('claims').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		return result, claims
	}
	result, claims := read(jws)
	if !strings.HasPrefix(result, "Genuine") || !strings.Contains(claims, "Ada Lovelace") || !strings.Contains(claims, "bar.example") {
		t.Fatalf("good code: %q / %q", result, claims)
	}
	parts := strings.Split(jws, ".")
	sig := []byte(parts[2])
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	if result, _ := read(parts[0] + "." + parts[1] + "." + string(sig)); !strings.Contains(result, "NOT genuine") {
		t.Fatalf("tampered code: %q", result)
	}
}
