package app_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func registerUser(t *testing.T, env *storetest.Env, name, email string) *app.Principal {
	t.Helper()
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Name: name, Email: email, Password: "a long enough password 1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGrantPublishesAnEvent: a grant reaches the granted user's
// subscribers (and nobody else's); a refused attempt publishes nothing;
// ending a subscription closes its channel.
func TestGrantPublishesAnEvent(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	ada := registerUser(t, env, "Ada Lovelace", "ada@example.org")
	bob := registerUser(t, env, "Bob", "bob@example.org")
	if _, err := env.App.SetupEmergency(ctx, ada, app.EmergencySetup{EmergencyInfo: json.RawMessage(`"allergic to penicillin"`)}); err != nil {
		t.Fatal(err)
	}
	emt, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-7", Name: "Sam Medic", Organization: "City EMS"})
	if err != nil {
		t.Fatal(err)
	}
	adaEvents, stopAda := env.App.Subscribe(ada.UserID)
	bobEvents, stopBob := env.App.Subscribe(bob.UserID)
	defer stopBob()

	// Refused: not a verified responder.
	if _, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "nobody", Reason: "r", Email: "ada@example.org", Client: "192.0.2.1"}); err == nil {
		t.Fatal("unverified responder granted")
	}
	select {
	case e := <-adaEvents:
		t.Fatalf("refused attempt published %+v", e)
	default:
	}

	g, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "EMT-7", Reason: "unconscious", Email: "ada@example.org", Client: "192.0.2.1", ResponderSecret: emt.Secret})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-adaEvents:
		if e.Kind != app.EventEmergencyGrant || e.UserID != ada.UserID || e.LogID != g.LogID || e.ResponderID != "EMT-7" ||
			e.ResponderName != "Sam Medic" || e.ResponderOrganization != "City EMS" || !e.ResponderVerified || e.Via != "api" || !e.At.Equal(g.At) {
			t.Fatalf("event %+v, grant %+v", e, g)
		}
	default:
		t.Fatal("no event for the grant")
	}
	select {
	case e := <-bobEvents:
		t.Fatalf("another user's subscriber got %+v", e)
	default:
	}

	stopAda()
	stopAda() // twice is harmless
	if _, ok := <-adaEvents; ok {
		t.Fatal("channel open after the subscription ended")
	}
	// Publishing with the subscription gone does not block or panic.
	if _, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "EMT-7", Reason: "again", Email: "ada@example.org", Client: "192.0.2.2", ResponderSecret: emt.Secret}); err != nil {
		t.Fatal(err)
	}
}

// TestEmergencyConfigReadsBackTheSetup: what SetupEmergency stored is what
// EmergencyConfig reads, normalised as stored.
func TestEmergencyConfigReadsBackTheSetup(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := registerUser(t, env, "Ada Lovelace", "ada@example.org")
	if _, err := env.App.EmergencyConfig(ctx, p); err == nil {
		t.Fatal("a configuration before any was set up")
	}
	acc, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{
		TrustedContacts: json.RawMessage(`["kin@example.org", "+1 (555) 123-4567"]`),
		EmergencyInfo:   json.RawMessage(`"blood type O-"`),
		Criteria:        json.RawMessage(`{"responders":"any","conditions":["unconscious"]}`),
		InfoField:       json.RawMessage(`["Name","email"]`),
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.App.EmergencyConfig(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	want := &app.EmergencyConfig{
		AccessID: acc.AccessID, URL: acc.URL, InfoField: []string{"name", "email"},
		EmergencyInfo: json.RawMessage(`"blood type O-"`), Responders: app.RespondersAny,
		Conditions: []string{"unconscious"}, TrustedContacts: []string{"kin@example.org", "+15551234567"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}
