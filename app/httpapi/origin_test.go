package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// originEnv is an env whose app has a public URL of its own, as a home
// node behind a reverse proxy would.
func originEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: storetest.New(t, app.Config{PublicURL: "https://profile.example.org/"})}
	e.api = httpapi.New(e.App, nil)
	if err := e.api.AllowHosts("home.lan:8000", "[fd00::7]"); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	return e
}

// withHost sends a form request naming host in its Host header.
func (e *env) withHost(t *testing.T, method, path, host string, form url.Values, hdr ...string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Code: res.StatusCode, Header: res.Header, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return r
}

func regForm(email string) url.Values {
	return url.Values{"email": {email}, "password": {pw}, "name": {"Mallory"}}
}

// noUser fails the test if an account exists for email: signing in with
// the password the attack used must fail.
func noUser(t *testing.T, e *env, email string) {
	t.Helper()
	if r := e.form(t, "POST", "/api/v1/users/login", "email", email, "password", pw); r.Code != 401 {
		t.Fatalf("an account for %s was created: %d %s", email, r.Code, r.Raw)
	}
}

// A request naming a host the listener is not reached by (DNS
// rebinding: the attacker's name re-pointed at 127.0.0.1) is 421, read or
// write, known path or not; the loopback names, the public URL's host and
// the allowed hosts are answered.
func TestUnknownHostIs421(t *testing.T) {
	e := originEnv(t)
	for _, host := range []string{"attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", "localhost.attacker.example",
		"profile.example.org.attacker.example", "192.0.2.10", "[fd00::8]:8000"} {
		for _, c := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/api/v1/healthz", nil},
			{"GET", "/api/v1/openapi.json", nil},
			{"GET", "/api/v1/no-such-thing", nil},
			{"POST", "/api/v1/users/register", regForm("rebind@example.org")},
		} {
			r := e.withHost(t, c.method, c.path, host, c.form)
			want(t, r, http.StatusMisdirectedRequest, "unknown host!", "unknown_host")
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("421 without the security headers: %v", r.Header)
			}
		}
	}
	noUser(t, e, "rebind@example.org")

	for _, host := range []string{"localhost", "localhost:8000", "LOCALHOST:1", "localhost.", "127.0.0.1", "127.0.0.1:8000",
		"127.0.0.2:9", "[::1]", "[::1]:8000", "profile.example.org", "Profile.Example.Org:443", "home.lan", "home.lan:9999",
		"home.lan.", "[fd00::7]:8000", e.srv.Listener.Addr().String()} {
		want(t, e.withHost(t, "GET", "/api/v1/healthz", host, nil), 200, "success", "")
	}
	if r := e.withHost(t, "POST", "/api/v1/users/register", "profile.example.org", regForm("proxied@example.org")); r.Code != 201 {
		t.Fatalf("register through the public URL's host: %d %s", r.Code, r.Raw)
	}
	if err := e.api.AllowHosts("https://x.example/"); err == nil {
		t.Fatal("a URL accepted as an allowed host")
	}
}

// A POST, PUT or DELETE from a page of another origin is 403 and does
// nothing; requests without Origin (legacy clients), from the listener's
// own origin or from the public URL's origin pass, and reads are not
// refused for their Origin.
func TestCrossSiteWritesAre403(t *testing.T) {
	e := originEnv(t)
	own := e.srv.URL // http://127.0.0.1:PORT
	for _, hdr := range [][]string{
		{"Origin", "http://attacker.example"},
		{"Origin", "null"}, // a sandboxed frame or a file:// page
		{"Origin", "http://127.0.0.1:1"},
		{"Origin", "http://localhost" + own[len("http://127.0.0.1"):]}, // another name of this machine is another site
		{"Origin", "http://profile.example.org"},                       // the public URL is https
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:1"},
		{"Sec-Fetch-Site", "cross-site", "Origin", own}, // the browser's word wins
	} {
		r := e.withHost(t, "POST", "/api/v1/users/register", "", regForm("csrf@example.org"), hdr...)
		want(t, r, http.StatusForbidden, "cross-site request refused!", "cross_site")
	}
	noUser(t, e, "csrf@example.org")

	tok := e.register(t, "victim@example.org").str("token")
	evil := []string{"Origin", "http://attacker.example", "Authorization", "Bearer " + tok}
	for _, m := range []string{"PUT", "DELETE", "POST"} {
		r := e.withHost(t, m, "/api/v1/profile/update-info", "", url.Values{"updated_fields": {`{"name":"Pwned"}`}}, evil...)
		want(t, r, http.StatusForbidden, "cross-site request refused!", "cross_site")
	}
	want(t, e.withHost(t, "POST", "/api/v1/users/logout", "", url.Values{}, evil...), 403, "cross-site request refused!", "cross_site")
	// Reads are not state-changing: an Origin does not refuse them (a
	// rebinding page is stopped by the Host check instead).
	p := e.withHost(t, "GET", "/api/v1/profile", "", nil, evil...)
	want(t, p, 200, "success", "")
	if p.Body["fields"].(map[string]any)["name"].(map[string]any)["value"] != "Ada Lovelace" {
		t.Fatalf("a cross-site write changed the profile: %s", p.Raw)
	}

	ok := [][]string{
		nil, // legacy clients send no Origin
		{"Origin", own},
		{"Origin", own, "Sec-Fetch-Site", "same-origin"},
		{"Sec-Fetch-Site", "none"}, // the user's own navigation
		{"Origin", "https://profile.example.org"},
		{"Origin", "https://profile.example.org", "Sec-Fetch-Site", "cross-site"},
	}
	for i, hdr := range ok {
		r := e.withHost(t, "POST", "/api/v1/users/register", "", regForm("ok"+string(rune('a'+i))+"@example.org"), hdr...)
		if r.Code != 201 {
			t.Fatalf("%q: %d %s", hdr, r.Code, r.Raw)
		}
	}
	// The allowed host's own origin is same-origin when reached by it.
	r := e.withHost(t, "POST", "/api/v1/users/register", "home.lan:8000", regForm("lan@example.org"), "Origin", "http://home.lan:8000")
	if r.Code != 201 {
		t.Fatalf("allowed host's own origin: %d %s", r.Code, r.Raw)
	}
}

// The app's own HTML forms (the responder's emergency page, the doctor's
// passcode form) post to their own origin and keep working, as a browser
// sends them; the same forms posted from another origin are refused and
// count nothing.
func TestOwnFormsPassTheOriginCheck(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "forms@example.org").str("token")
	r := e.form(t, "POST", emergencyPath, "token", tok, "emergency_info", "asthma", "criteria", `{"responders":"any"}`)
	want(t, r, 201, "success", "")
	page := e.pagePath(t, r.str("emergency_url"))
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "bee stings")
	l := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "page", "doctor_email", "dr@example.org", "passcode", "4711-blue")
	want(t, l, 201, "success", "")
	link := e.pagePath(t, l.str("access_link"))

	browserSame := []string{"Accept", "text/html", "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"}
	browserOld := []string{"Accept", "text/html", "Origin", e.srv.URL} // no Sec-Fetch-Site
	browserEvil := []string{"Accept", "text/html", "Origin", "http://attacker.example", "Sec-Fetch-Site", "cross-site"}
	grant := url.Values{"responder_id": {"EMT-9"}, "reason": {"collapsed"}}

	want(t, e.withHost(t, "POST", page, "", grant, browserEvil...), 403, "cross-site request refused!", "cross_site")
	want(t, e.withHost(t, "POST", link, "", url.Values{"passcode": {"4711-blue"}}, browserEvil...), 403, "cross-site request refused!", "cross_site")

	for _, hdr := range [][]string{browserSame, browserOld} {
		checkPage(t, e.withHost(t, "POST", page, "", grant, hdr...), 200, "asthma", "Access granted and logged")
		checkPage(t, e.withHost(t, "POST", link, "", url.Values{"passcode": {"4711-blue"}}, hdr...), 200, "bee stings")
	}
	// Only the two same-origin grants are on the record: the refused post
	// never reached the grant.
	lg := e.form(t, "GET", logPath, "token", tok)
	if n := len(lg.Body["entries"].([]any)); n != 2 {
		t.Fatalf("log has %d entries: %s", n, lg.Raw)
	}
}

// The OpenAPI document declares the 421 of every operation and the 403 of
// every write.
func TestOpenAPIDeclaresHostAndOriginRefusals(t *testing.T) {
	e := newEnv(t)
	doc := e.api.OpenAPI()
	for p, item := range doc["paths"].(map[string]any) {
		for m, op := range item.(map[string]any) {
			res := op.(map[string]any)["responses"].(map[string]any)
			if _, ok := res["421"]; !ok {
				t.Errorf("%s %s: 421 not declared", m, p)
			}
			if _, ok := res["403"]; !ok && m != "get" {
				t.Errorf("%s %s: 403 not declared", m, p)
			}
		}
	}
}
