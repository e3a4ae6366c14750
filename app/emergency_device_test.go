package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// The lock screen's grant: the device lists who has emergency access
// here by name (no one signed in), grants by that profile with the same
// proof, criteria and log as the API (via "device", client "this
// device"), and tells the trusted contacts.
func TestGrantOnDevice(t *testing.T) {
	ctx := context.Background()
	env := storetest.New(t, app.Config{})
	if ps, err := env.App.EmergencyProfiles(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("no one set up: %v %v", ps, err)
	}
	p := emUser(t, env, "grace@example.org")
	q := emUser(t, env, "ada@example.org") // no emergency access
	setup := func(p *app.Principal, responders string) {
		t.Helper()
		crit, _ := json.Marshal(map[string]any{"responders": responders})
		_, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{
			TrustedContacts: json.RawMessage(`["kin@example.org","+15551234567"]`),
			EmergencyInfo:   json.RawMessage(`"Allergic to penicillin"`),
			Criteria:        crit,
			InfoField:       json.RawMessage(`["name"]`),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setup(p, app.RespondersVerified)
	env.App.Logout(ctx, p)
	env.App.Logout(ctx, q)

	ps, err := env.App.EmergencyProfiles(ctx)
	if err != nil || len(ps) != 1 || ps[0].UserID != p.UserID || ps[0].Name != "Grace Hopper" {
		t.Fatalf("profiles: %+v %v", ps, err)
	}
	// Only a listed profile: not another account, not a made-up id.
	for _, id := range []string{q.UserID, "nobody", ""} {
		if _, err := env.App.GrantOnDevice(ctx, id, app.GrantRequest{ResponderID: "EMT-1", Reason: "r"}); emCode(err) != "no_emergency_access" {
			t.Fatalf("grant for %q: %v", id, err)
		}
	}
	// A wrong secret is refused and logged.
	emt, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-7", Name: "Sam Medic", Organization: "City EMS"})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := env.App.GrantOnDevice(ctx, p.UserID, app.GrantRequest{ResponderID: "EMT-7", Reason: "found unconscious", ResponderSecret: "wrong", Email: "ada@example.org", Client: "192.0.2.1"}); g != nil || emCode(err) != "responder_not_verified" {
		t.Fatalf("wrong secret: %+v %v", g, err)
	}
	g, err := env.App.GrantOnDevice(ctx, p.UserID, app.GrantRequest{ResponderID: "EMT-7", Reason: "found unconscious", ResponderSecret: emt.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "Grace Hopper" || string(g.EmergencyInfo) != `"Allergic to penicillin"` || len(g.Fields) != 1 || g.Fields[0].Text() != "Grace Hopper" ||
		g.Emails != 1 || g.Texts != 1 || g.Responder == nil || g.Responder.Name != "Sam Medic" {
		t.Fatalf("grant: %+v", g)
	}

	// The log, read when the person next signs in.
	auth, err := env.App.Login(ctx, "grace@example.org", "emergency test password")
	if err != nil {
		t.Fatal(err)
	}
	p, _ = env.App.Authenticate(ctx, auth.Token)
	l, err := env.App.EmergencyLog(ctx, p)
	if err != nil || !l.Verified || len(l.Entries) != 2 {
		t.Fatalf("log: %+v %v", l, err)
	}
	for i, want := range []string{app.OutcomeNotVerified, app.OutcomeGranted} {
		e := l.Entries[i]
		if e.Outcome != want || e.Via != "device" || e.Client != app.ClientThisDevice || e.ResponderID != "EMT-7" || e.Reason != "found unconscious" {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	out, err := env.App.OutboxEntries(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	told := map[string]bool{}
	for _, m := range out {
		told[m.To] = true
	}
	if !told["kin@example.org"] || !told["+15551234567"] {
		t.Fatalf("contacts not told: %+v", out)
	}

	// With "responders":"any" a reason is enough.
	setup(p, app.RespondersAny)
	if _, err := env.App.GrantOnDevice(ctx, p.UserID, app.GrantRequest{ResponderID: "passer-by", Reason: "collapsed in the street"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.GrantOnDevice(ctx, p.UserID, app.GrantRequest{ResponderID: "passer-by"}); emCode(err) != "missing_parameter" {
		t.Fatalf("no reason: %v", err)
	}
}
