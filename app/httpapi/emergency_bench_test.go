package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkEmergencyGrant is a responder's grant through the whole stack:
// parameters, user lookup, rate limits, the chained log entry, the
// emergency key unwrapped, the live fields read, the grant synced and two
// e-mails queued. Run it beside BenchmarkBareHandler (the ceiling).
func BenchmarkEmergencyGrant(b *testing.B) {
	e := benchEnv(b)
	tok := e.register(b, "bench-em@example.org").str("token")
	e.field(b, tok, "blood_type", "O negative")
	want(b, e.json(b, "POST", emergencyPath, map[string]any{
		"token": tok, "emergency_info": map[string]any{"allergies": "penicillin", "conditions": []string{"asthma"}},
		"info_field": []string{"name", "blood_type"}, "trusted_contacts": []string{"kin@example.org", "friend@example.org"},
	}), 201, "success", "")
	secret := e.responder(b, "EMT-1", "Bench Medic", "City EMS")
	c := e.srv.Client()
	v := url.Values{"responder_id": {"EMT-1"}, "reason": {"unconscious"}, "email": {"bench-em@example.org"}, "responder_secret": {secret}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// One grant a minute keeps the per-address limit out of the way.
		e.Clock.Advance(time.Minute)
		post(b, c, e.srv.URL+grantPath, v, 200)
	}
}

func benchLink(b *testing.B, passcode string) {
	e := benchEnv(b)
	tok := e.register(b, "bench-link@example.org").str("token")
	for _, d := range []string{"MMR 1990", "Tetanus 2024", "Influenza 2025"} {
		e.form(b, "POST", recordsPath, "token", tok, "record_type", "immunizations", "record_data", d)
	}
	e.form(b, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", `{"substance":"penicillin","reaction":"rash"}`)
	r := e.form(b, "POST", linkPath, "token", tok, "health_records_info", "immunizations,allergies", "link_format", "page", "doctor_email", "dr@example.org", "passcode", passcode)
	want(b, r, 201, "success", "")
	u := e.srv.URL + e.pagePath(b, r.str("access_link"))
	c := e.srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", u, strings.NewReader(url.Values{"passcode": {passcode}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("open: %d", res.StatusCode)
		}
	}
}

// BenchmarkHealthLinkOpen is a doctor opening a link through the whole
// stack: token lookup, data-key unwrap, four records resolved live, the
// opening logged.
func BenchmarkHealthLinkOpen(b *testing.B) { benchLink(b, "") }

// BenchmarkHealthLinkOpenPasscode adds the passcode check (Argon2id at the
// production cost).
func BenchmarkHealthLinkOpenPasscode(b *testing.B) { benchLink(b, "river-stone-42") }
