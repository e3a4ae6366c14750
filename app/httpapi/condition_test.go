package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestEmergencyPageAsksWhichConditionApplies: a setup with conditions
// lets the page's responder in only when they confirm one of them (issue
// 15 §6); "none applies" is refused and logged as such, the log records
// the condition confirmed, and a legacy API grant without one still
// passes.
func TestEmergencyPageAsksWhichConditionApplies(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "cond@example.org").str("token")
	r := e.json(t, "POST", emergencyPath, map[string]any{"token": tok, "emergency_info": "asthma",
		"criteria": map[string]any{"conditions": []string{"unconscious", "cannot speak"}, "responders": "any"}})
	want(t, r, 201, "success", "")
	page := e.pagePath(t, r.str("emergency_url"))
	html := []string{"Accept", "text/html,application/xhtml+xml"}
	formCT := "application/x-www-form-urlencoded"
	post := func(form string) resp { return e.do(t, "POST", page, formCT, strings.NewReader(form), html...) }

	checkPage(t, e.do(t, "GET", page, "", nil, html...), 200, `id="conditions"`, `value="unconscious" required`,
		`<label for="condition-1">cannot speak</label>`, `value="none" required`)
	// A reason alone is no longer enough.
	missing := post("responder_id=EMT-3&reason=anything+at+all")
	checkPage(t, missing, 400, "confirm which of the person", `value="EMT-3"`)
	if strings.Contains(string(missing.Raw), "asthma") {
		t.Fatal("granted without a condition")
	}
	checkPage(t, post("responder_id=EMT-3&reason=x&condition=bored"), 400, "condition is not one of the person")
	none := post("responder_id=EMT-3&reason=x&condition=none")
	checkPage(t, none, 403, "none of the person", "conditions applies, so access is refused", `value="none" required checked`)
	ok := post("responder_id=EMT-3&reason=found+on+the+floor&condition=" + url.QueryEscape("unconscious"))
	checkPage(t, ok, 200, "asthma", "Access granted")

	// The legacy API grant (no condition) still passes.
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-4", "reason", "r", "email", "cond@example.org"), 200, "success", "")
	want(t, e.form(t, "POST", grantPath, "responder_id", "EMT-4", "reason", "r", "email", "cond@example.org", "condition", "none"), 403,
		"none of the person's conditions applies, so access is refused (and logged); call the emergency services if the person needs help!", "condition_not_met")

	var log struct {
		Entries []struct{ Via, Outcome, Condition string } `json:"entries"`
	}
	json.Unmarshal(e.form(t, "GET", logPath, "token", tok).Raw, &log)
	var got []string
	for _, en := range log.Entries {
		got = append(got, en.Via+":"+en.Outcome+":"+en.Condition)
	}
	if s := strings.Join(got, ","); s != "page:condition_not_met:,page:granted:unconscious,api:granted:,api:condition_not_met:" {
		t.Fatalf("log: %s", s)
	}
}

// TestEmergencyPageSaysWhetherContactsWereTold: the page never says the
// trusted contacts were told while the notices wait for a relay (issue 15
// §1).
func TestEmergencyPageSaysWhetherContactsWereTold(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "told@example.org").str("token")
	r := e.json(t, "POST", emergencyPath, map[string]any{"token": tok, "emergency_info": "asthma",
		"trusted_contacts": []string{"kin@example.org", "+16045550100"}, "criteria": map[string]any{"responders": "any"}})
	page := e.pagePath(t, r.str("emergency_url"))
	ok := e.do(t, "POST", page, "application/x-www-form-urlencoded", strings.NewReader("responder_id=EMT-5&reason=collapsed"), "Accept", "text/html")
	checkPage(t, ok, 200, "1 notice by e-mail waiting in the outbox, not sent: this installation has no e-mail relay set up",
		"1 notice by text message waiting in the outbox, not sent")
	if strings.Contains(string(ok.Raw), "have been told") {
		t.Fatalf("the page says the contacts were told:\n%s", ok.Raw)
	}
	startMail(t, e)
	ok = e.do(t, "POST", page, "application/x-www-form-urlencoded", strings.NewReader("responder_id=EMT-5&reason=collapsed"), "Accept", "text/html")
	checkPage(t, ok, 200, "1 notice by e-mail queued and being sent now")
}
