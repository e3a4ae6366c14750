package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/mail"
	"github.com/secure-personal-profile/spp/app/mail/mailtest"
	"github.com/secure-personal-profile/spp/app/qr"
)

const (
	emergencyPath = "/api/v1/profile/emergency-access"
	grantPath     = "/api/v1/profile/emergency-access/grant"
	logPath       = "/api/v1/profile/emergency-access/log"
	outboxPath    = "/api/v1/profile/outbox"
)

// field writes a profile field straight through the store, as the user
// (with the token's data key) would.
func (e *env) field(t testing.TB, token, name string, value any) {
	t.Helper()
	ctx := context.Background()
	p, err := e.App.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(value)
	err = e.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityField, ID: name, Field: "value", Value: b})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// responder registers a responder, as `spp responders add` does, and
// returns the responder's secret.
func (e *env) responder(t testing.TB, id, name, org string) string {
	t.Helper()
	r, err := e.App.AddResponder(context.Background(), app.Responder{ID: id, Name: name, Organization: org})
	if err != nil {
		t.Fatal(err)
	}
	return r.Secret
}

// pagePath is the path of a full URL under the test server.
func (e *env) pagePath(t testing.TB, full string) string {
	t.Helper()
	u, err := url.Parse(full)
	if err != nil || u.Path == "" {
		t.Fatalf("not a URL: %q", full)
	}
	return u.Path
}

func TestEmergencyAccessContract(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "grace@example.org").str("token")
	other := e.register(t, "other@example.org").str("token")

	// Set up: the checks in API.md's order, with their legacy strings.
	want(t, e.form(t, "POST", emergencyPath), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", emergencyPath, "token", tok), 400, "emergency_info must exist!", "missing_parameter")
	want(t, e.form(t, "POST", emergencyPath, "token", tok, "emergency_info", "x", "trusted_contacts", "t"), 400,
		"trusted_contacts must be e-mail addresses or phone numbers!", "invalid_contact")
	want(t, e.form(t, "POST", emergencyPath, "token", tok, "emergency_info", "x", "criteria", `{"responders":"everyone"}`), 400,
		"criteria responders must be verified or any!", "invalid_criteria")
	want(t, e.form(t, "POST", emergencyPath, "token", tok, "info_field", "Bad-Name"), 400, "info_field is not shareable!", "invalid_field")
	want(t, e.form(t, "GET", emergencyPath, "token", tok), 405, "post required", "method_not_allowed")

	r := e.form(t, "POST", emergencyPath, "token", tok,
		"emergency_info", "{HOME:Burnaby 4024}",
		"trusted_contacts", `["kin@example.org", "+1 604 555 0100"]`,
		"criteria", `{"conditions":["unconsciousness"],"responders":"verified"}`,
		"info_field", "blood_type, name")
	want(t, r, 201, "success", "")
	accessID, pageURL := r.str("access_id"), r.str("emergency_url")
	if accessID == "" || !strings.HasPrefix(pageURL, "http://127.0.0.1:8000/api/v1/emergency/") || len(pageURL) < 80 {
		t.Fatalf("setup: %s", r.Raw)
	}

	// Grant: missing, unknown, not configured, not verified.
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r"), 400, "responder_id,reason,email must exist!", "missing_parameter")
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r", "email", "nobody@example.org"), 404, "email must exist!", "unknown_email")
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r", "email", "other@example.org"), 404,
		"this user hasn\u2019t set emergency access!", "no_emergency_access")
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r", "email", "grace@example.org"), 403,
		"responder is not verified!", "responder_not_verified")
	want(t, e.form(t, "GET", grantPath), 405, "post required", "method_not_allowed")

	secret := e.responder(t, "EMT-1", "Ana Ruiz", "City EMS")
	// Registered, the id alone or with a wrong secret is still refused.
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r", "email", "grace@example.org"), 403,
		"responder is not verified!", "responder_not_verified")
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r", "email", "grace@example.org", "responder_secret", "AAAA-BBBB"), 403,
		"responder is not verified!", "responder_not_verified")
	g := e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "found unconscious", "email", "grace@example.org", "responder_secret", secret)
	want(t, g, 200, "success", "")
	if s, ok := g.Body["emergency_info"].(string); !ok || s != "{HOME:Burnaby 4024}" || g.str("log_id") == "" {
		t.Fatalf("a string must stay a string: %s", g.Raw)
	}
	pf, _ := g.Body["profile_fields"].(map[string]any)
	if len(pf) != 2 || pf["name"] != "Ada Lovelace" || pf["blood_type"] != nil {
		t.Fatalf("profile_fields: %s", g.Raw)
	}

	// A second call updates the configuration and keeps access_id and the
	// page's address; the fields are read live at each grant.
	r = e.json(t, "POST", emergencyPath, map[string]any{
		"token": tok, "emergency_info": map[string]any{"allergies": []string{"penicillin"}, "doctor": "Dr. Okafor"},
		"info_field": []string{"blood_type"}, "criteria": map[string]any{"responders": "any"},
	})
	want(t, r, 200, "success", "")
	if r.str("access_id") != accessID || r.str("emergency_url") != pageURL {
		t.Fatalf("second call changed the ids: %s", r.Raw)
	}
	e.field(t, tok, "blood_type", "O negative")
	g = e.json(t, "POST", grantPath, map[string]any{"responder_id": "volunteer-77", "reason": "bystander CPR", "email": "grace@example.org"})
	want(t, g, 200, "success", "")
	var body struct {
		Info   map[string]any    `json:"emergency_info"`
		Fields map[string]string `json:"profile_fields"`
	}
	json.Unmarshal(g.Raw, &body)
	if body.Info["doctor"] != "Dr. Okafor" || body.Fields["blood_type"] != "O negative" || len(body.Fields) != 1 {
		t.Fatalf("after the update: %s", g.Raw)
	}
	e.field(t, tok, "blood_type", "AB positive")
	g = e.json(t, "POST", grantPath, map[string]any{"responder_id": "volunteer-77", "reason": "again", "email": "grace@example.org"})
	if !strings.Contains(string(g.Raw), `"blood_type":"AB positive"`) {
		t.Fatalf("not live: %s", g.Raw)
	}

	// The log: every attempt on this user, chained.
	want(t, e.form(t, "GET", logPath), 401, "token must exist!", "token_missing")
	l := e.form(t, "GET", logPath, "token", tok)
	want(t, l, 200, "success", "")
	var log struct {
		Entries []struct {
			Seq      int64  `json:"seq"`
			Outcome  string `json:"outcome"`
			PrevHash string `json:"prev_hash"`
			HashHex  string `json:"hash"`
			Client   string `json:"client"`
		} `json:"entries"`
		Verified bool             `json:"verified"`
		Grants   []map[string]any `json:"grants"`
	}
	if err := json.Unmarshal(l.Raw, &log); err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for i, en := range log.Entries {
		outcomes = append(outcomes, en.Outcome)
		if len(en.HashHex) != 64 || (i > 0 && en.PrevHash != log.Entries[i-1].HashHex) || en.Client != "127.0.0.1" {
			t.Fatalf("entry %d: %+v", i, en)
		}
	}
	if got := strings.Join(outcomes, ","); got != "not_verified,not_verified,not_verified,granted,granted,granted" || !log.Verified || len(log.Grants) != 3 {
		t.Fatalf("log: %s", l.Raw)
	}
	// The other user's log holds the attempt on them (no configuration).
	ol := e.form(t, "GET", logPath, "token", other)
	if !strings.Contains(string(ol.Raw), `"outcome":"not_configured"`) || strings.Contains(string(ol.Raw), "found unconscious") {
		t.Fatalf("other user's log: %s", ol.Raw)
	}

	// Turning it off: grants stop, the page is gone, the log stays.
	want(t, e.form(t, "DELETE", emergencyPath, "token", tok), 200, "success", "")
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "r", "email", "grace@example.org"), 404,
		"this user hasn\u2019t set emergency access!", "no_emergency_access")
	want(t, e.do(t, "GET", e.pagePath(t, pageURL), "", nil), 404, "emergency_url does not exist!", "unknown_emergency_token")
	if l := e.form(t, "GET", logPath, "token", tok); len(l.Body["entries"].([]any)) != 7 {
		t.Fatalf("log after delete: %s", l.Raw)
	}
}

func TestEmergencyGrantRateLimitOverHTTP(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "rl@example.org").str("token")
	want(t, e.form(t, "POST", emergencyPath, "token", tok, "emergency_info", "asthma"), 201, "success", "")
	for i := 0; i < app.GrantProfileLimit; i++ {
		want(t, e.form(t, "POST", grantPath, "responder_id", fmt.Sprint("guess-", i), "reason", "r", "email", "rl@example.org"), 403, "responder is not verified!", "")
	}
	r := e.form(t, "POST", grantPath, "responder_id", "guess-x", "reason", "r", "email", "rl@example.org")
	want(t, r, 429, "too many attempts, try again later!", "rate_limited")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
}

// startMail runs a real SMTP server with STARTTLS and the app's outbox
// delivering e-mail to it until the test ends.
func startMail(t *testing.T, e *env) *mailtest.Server {
	t.Helper()
	srv := mailtest.Start(t, mailtest.Options{TLS: true, User: "spp", Password: "relay password"})
	s, err := mail.New(mail.Config{Addr: srv.Addr, From: "profile@example.org", User: "spp", Password: "relay password", RootCAs: srv.Pool})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.App.StartOutbox(ctx, s)
	return srv
}

func TestGrantMailsEveryTrustedContact(t *testing.T) {
	e := newEnv(t)
	srv := startMail(t, e)
	tok := e.register(t, "grace@example.org").str("token")
	want(t, e.json(t, "POST", emergencyPath, map[string]any{
		"token": tok, "emergency_info": "SECRET-MEDICAL-NOTE-31", "info_field": "name",
		"trusted_contacts": []string{"kin@example.org", "friend@example.org", "+16045550100"},
	}), 201, "success", "")
	secret := e.responder(t, "EMT-9", "Lee Park", "Harbour Ambulance")
	g := e.form(t, "POST", grantPath, "responder_id", "EMT-9", "reason", "car accident, unresponsive", "email", "grace@example.org", "responder_secret", secret)
	want(t, g, 200, "success", "")

	ms := srv.Wait(t, 2, 10*time.Second)
	got := map[string]mailtest.Message{}
	for _, m := range ms {
		got[m.To[0]] = m
	}
	for _, to := range []string{"kin@example.org", "friend@example.org"} {
		m, ok := got[to]
		if !ok || !m.TLS || m.AuthUser != "spp" || m.From != "profile@example.org" {
			t.Fatalf("mail to %s: %+v", to, m)
		}
		txt := m.Text()
		for _, s := range []string{"Ada Lovelace", "EMT-9 (Lee Park, Harbour Ambulance)", "car accident, unresponsive", g.str("log_id"), "127.0.0.1"} {
			if !strings.Contains(txt, s) {
				t.Fatalf("mail to %s lacks %q:\n%s", to, s, txt)
			}
		}
		if strings.Contains(txt, "SECRET-MEDICAL-NOTE-31") || strings.Contains(txt, secret) || !strings.Contains(m.Header("Subject"), "Emergency access") {
			t.Fatalf("mail to %s: subject %q, body %s", to, m.Header("Subject"), txt)
		}
	}

	// The user sees the outbox: the e-mails delivered, the text message
	// waiting (no SMS delivery is configured), and no message body.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.form(t, "GET", outboxPath, "token", tok)
		want(t, r, 200, "success", "")
		var ob struct {
			Messages []app.OutboxEntry `json:"messages"`
		}
		json.Unmarshal(r.Raw, &ob)
		byTo := map[string]app.OutboxEntry{}
		for _, m := range ob.Messages {
			byTo[m.To] = m
		}
		sms := byTo["+16045550100"]
		if len(ob.Messages) == 3 && byTo["kin@example.org"].Status == "delivered" && sms.Kind == "sms" && sms.Status == "waiting" && sms.LastError != "" {
			if strings.Contains(string(r.Raw), "car accident") || strings.Contains(string(r.Raw), "Lee Park") {
				t.Fatalf("outbox shows a body: %s", r.Raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	want(t, e.form(t, "GET", outboxPath), 401, "token must exist!", "token_missing")
	// The information, contacts, responder and reason: sealed at rest
	// (configuration, log, outbox, synced grant).
	noneInDir(t, e.Dir, "SECRET-MEDICAL-NOTE-31", "kin@example.org", "+16045550100", "car accident", "Lee Park", "EMT-9", secret)
}

func TestMailWaitsInTheOutboxWithoutSMTP(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.App.StartOutbox(ctx) // no sender: nothing configured
	tok := e.register(t, "nosmtp@example.org").str("token")
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "peanuts"), 201, "success", "")
	want(t, e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "doctor_email", "dr@example.org"), 201, "success", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.form(t, "GET", outboxPath, "token", tok)
		ms, _ := r.Body["messages"].([]any)
		if len(ms) == 1 {
			m := ms[0].(map[string]any)
			if m["to"] == "dr@example.org" && m["kind"] == "email" && m["status"] == "waiting" && m["last_error"] == "no email delivery configured" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox: %s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEmergencyAndLinkQRCodes(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "qr@example.org").str("token")
	want(t, e.form(t, "GET", "/api/v1/profile/qr", "token", tok, "kind", "emergency"), 404, "this user hasn\u2019t set emergency access!", "no_emergency_access")
	r := e.form(t, "POST", emergencyPath, "token", tok, "emergency_info", "diabetic")
	decode := func(kv ...string) string {
		t.Helper()
		res := e.form(t, "GET", "/api/v1/profile/qr", append([]string{"token", tok}, kv...)...)
		if res.Code != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr %v: %d %s", kv, res.Code, res.Raw)
		}
		s, err := qr.Decode(res.Raw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := decode("kind", "emergency"); got != r.str("emergency_url") {
		t.Fatalf("emergency QR carries %q, want %q", got, r.str("emergency_url"))
	}
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "latex")
	l := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "doctor_email", "dr@example.org")
	if got := decode("kind", "link", "id", l.str("link_id")); got != l.str("access_link") {
		t.Fatalf("link QR carries %q, want %q", got, l.str("access_link"))
	}
	want(t, e.form(t, "GET", "/api/v1/profile/qr", "token", tok, "kind", "link", "id", "no-such-link"), 404, "link_id does not exist!", "unknown_link")
}

var (
	srcHrefRE = regexp.MustCompile(`(?i)\b(src|href|action)\s*=`)
	inputIDRE = regexp.MustCompile(`<(?:input|textarea)[^>]*\bid="([^"]+)"`)
)

// checkPage asserts what every HTML page must be: the strict CSP, noindex,
// no script and no external resource, every form field labelled.
func checkPage(t *testing.T, r resp, code int, contains ...string) {
	t.Helper()
	if r.Code != code || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s\n%s", r.Code, r.Header.Get("Content-Type"), r.Raw)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Fatalf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP allows scripts: %q", csp)
	}
	page := string(r.Raw)
	if !strings.Contains(r.Header.Get("X-Robots-Tag"), "noindex") || !strings.Contains(page, `<meta name="robots" content="noindex`) {
		t.Fatal("page is indexable")
	}
	if strings.Contains(strings.ToLower(page), "<script") || srcHrefRE.MatchString(page) {
		t.Fatalf("page loads or links something:\n%s", page)
	}
	for _, m := range inputIDRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `<label for="`+m[1]+`"`) {
			t.Fatalf("field %s has no label:\n%s", m[1], page)
		}
	}
	for _, s := range contains {
		if !strings.Contains(page, s) {
			t.Fatalf("page lacks %q:\n%s", s, page)
		}
	}
}

func TestEmergencyPage(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "page@example.org").str("token")
	r := e.form(t, "POST", emergencyPath, "token", tok, "emergency_info", `{"allergies":"<b>penicillin</b>"}`, "info_field", "name")
	page := e.pagePath(t, r.str("emergency_url"))
	html := []string{"Accept", "text/html,application/xhtml+xml"}
	formCT := "application/x-www-form-urlencoded"

	checkPage(t, e.do(t, "GET", page, "", nil, html...), 200, `<label for="responder_id">`, `<label for="reason">`, `method="post"`)
	if strings.Contains(string(e.do(t, "GET", page, "", nil, html...).Raw), "penicillin") {
		t.Fatal("the form shows the information before a grant")
	}
	checkPage(t, e.do(t, "GET", "/api/v1/emergency/not-a-token", "", nil, html...), 404, "emergency_url does not exist!")
	checkPage(t, e.do(t, "POST", page, formCT, strings.NewReader("responder_id=EMT-2"), html...), 400, "responder_id,reason must exist!")
	refused := e.do(t, "POST", page, formCT, strings.NewReader("responder_id=EMT-2&reason=collapsed"), html...)
	checkPage(t, refused, 403, "responder is not verified!", `value="EMT-2"`, ">collapsed</textarea>")
	if strings.Contains(string(refused.Raw), "penicillin") {
		t.Fatal("a refused responder saw the information")
	}

	secret := e.responder(t, "EMT-2", "", "")
	wrong := e.do(t, "POST", page, formCT, strings.NewReader("responder_id=EMT-2&reason=collapsed&responder_secret=WRONG-SECRET-1234"), html...)
	checkPage(t, wrong, 403, "responder is not verified!", `value="EMT-2"`)
	if strings.Contains(string(wrong.Raw), "WRONG-SECRET-1234") {
		t.Fatal("the form shows the typed secret again")
	}
	ok := e.do(t, "POST", page, formCT, strings.NewReader("responder_id=EMT-2&reason=collapsed&responder_secret="+url.QueryEscape(secret)), html...)
	// The value is escaped: shown as text, never as markup.
	checkPage(t, ok, 200, "&lt;b&gt;penicillin&lt;/b&gt;", "<dt>name</dt><dd>Ada Lovelace</dd>", "Access granted and logged")
	// JSON clients get the grant's JSON from the same address.
	j := e.json(t, "POST", page, map[string]any{"responder_id": "EMT-2", "reason": "collapsed", "responder_secret": secret})
	want(t, j, 200, "success", "")
	if j.str("log_id") == "" || j.Body["profile_fields"].(map[string]any)["name"] != "Ada Lovelace" {
		t.Fatalf("JSON: %s", j.Raw)
	}
	l := e.form(t, "GET", logPath, "token", tok)
	var entries struct {
		Entries []struct{ Via, Outcome string } `json:"entries"`
	}
	json.Unmarshal(l.Raw, &entries)
	if n := len(entries.Entries); n != 4 || entries.Entries[0].Via != "page" || entries.Entries[0].Outcome != "not_verified" ||
		entries.Entries[1].Outcome != "not_verified" || entries.Entries[3].Via != "page" || entries.Entries[3].Outcome != "granted" {
		t.Fatalf("%d page attempts logged: %s", n, l.Raw)
	}
	want(t, e.do(t, "PUT", page, "", nil), 405, "get required", "method_not_allowed")
}

// TestGrantNeverLeaksOnBadInput: odd input is a clear 4xx, never a 500.
func TestGrantNeverLeaksOnBadInput(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		`{"responder_id": {"a":1}, "reason": [1,2], "email": 5}`,
		`{"responder_id": "` + strings.Repeat("x", 500) + `", "reason": "r", "email": "a@b.org"}`,
		`{"responder_id": "a\u0000b", "reason": "r", "email": "a@b.org"}`,
		`{"responder_id": "a", "reason": "` + strings.Repeat("r", 2000) + `", "email": "a@b.org"}`,
	} {
		r := e.do(t, "POST", grantPath, "application/json", strings.NewReader(body))
		if r.Code != http.StatusBadRequest && r.Code != http.StatusNotFound {
			t.Fatalf("%s: %d %s", body[:30], r.Code, r.Raw)
		}
	}
}

// A JSON body's string stays a string even when its text is JSON.
func TestEmergencyInfoStringInJSONBodyStaysAString(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "grace@example.org").str("token")
	want(t, e.json(t, "POST", emergencyPath, map[string]any{"token": tok, "emergency_info": "911"}), 201, "success", "")
	secret := e.responder(t, "EMT-1", "Ana Ruiz", "City EMS")
	g := e.form(t, "POST", grantPath, "responder_id", "EMT-1", "reason", "found unconscious", "email", "grace@example.org", "responder_secret", secret)
	want(t, g, 200, "success", "")
	if s, ok := g.Body["emergency_info"].(string); !ok || s != "911" {
		t.Fatalf("emergency_info: %s", g.Raw)
	}
}
