package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// The grant: an unknown e-mail, a user without emergency access and a
// configured user who refuses the responder do the same responder check,
// with the same derivation of the typed secret.
func TestGrantSpendsTheSameDerivationForUnknownEmails(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := emUser(t, env, "configured@example.org")
	if _, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: json.RawMessage(`"asthma"`)}); err != nil {
		t.Fatal(err)
	}
	emUser(t, env, "unconfigured@example.org")
	r, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-1"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ email, code string }{
		{"configured@example.org", "responder_not_verified"},
		{"unconfigured@example.org", "no_emergency_access"},
		{"nobody@example.org", "unknown_email"},
	} {
		cctx, n := app.CountKDF(ctx)
		_, err := env.App.GrantEmergency(cctx, app.GrantRequest{ResponderID: "EMT-1", ResponderSecret: "not " + r.Secret,
			Reason: "collapsed", Email: c.email, Client: fmt.Sprintf("198.51.100.%d", i)})
		if emCode(err) != c.code {
			t.Fatalf("%s: %v, want %s", c.email, err, c.code)
		}
		if n.Load() != 1 {
			t.Errorf("%s: %d derivations, want 1 (as every other e-mail)", c.email, n.Load())
		}
	}
}

// The per-profile limit is reserved before the check: of many parallel
// attempts from as many addresses, only the limit's worth are checked.
func TestParallelGrantsCannotPassTheProfileLimit(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := emUser(t, env, "parallel@example.org")
	if _, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: json.RawMessage(`"x"`)}); err != nil {
		t.Fatal(err)
	}
	const n = 4 * app.GrantProfileLimit
	// Not the derivations' queue bound (tested on its own): on a loaded
	// machine those let through could wait past it (answered busy).
	defer app.SetKDFQueue(time.Minute, 1000)()
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: fmt.Sprintf("guess-%d", i), Reason: "r",
				Email: "parallel@example.org", Client: fmt.Sprintf("192.0.2.%d", i)})
			mu.Lock()
			counts[emCode(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["responder_not_verified"] != app.GrantProfileLimit || counts["rate_limited"] != n-app.GrantProfileLimit {
		t.Fatalf("outcomes of %d parallel attempts: %v; want %d checked", n, counts, app.GrantProfileLimit)
	}
}

// Issue 12 §4: a stranger failing on purpose, from many addresses, fills
// the per-profile and the per-responder-id counts; the real responders
// still get in, with their secret or their badge. The stranger's further
// attempts are refused as rate-limited, and the log takes one entry for
// the run of them.
func TestRealRespondersPassAStrangersFailures(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := rsSetup(t, env, "held@example.org")
	emt, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-1"})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv := rsOrg(t)
	if _, err := env.App.TrustResponderOrg(ctx, "Harbour Ambulance Service", pub); err != nil {
		t.Fatal(err)
	}
	stranger := func(i int, id string) error {
		_, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: id, ResponderSecret: fmt.Sprintf("GUESS-%d", i),
			Reason: "failing on purpose", Email: "held@example.org", Client: fmt.Sprintf("203.0.113.%d", i)})
		return err
	}
	for i := 0; i < max(app.GrantProfileLimit, app.GrantResponderLimit); i++ {
		if err := stranger(i, "EMT-1"); emCode(err) != "responder_not_verified" {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Both counts are full: the per-profile one for another id, the
	// per-id one on another profile.
	if err := stranger(100, "PM-1"); emCode(err) != "rate_limited" {
		t.Fatalf("the profile's count: %v", err)
	}
	rsSetup(t, env, "other@example.org")
	if _, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "EMT-1", ResponderSecret: "GUESS", Reason: "r",
		Email: "other@example.org", Client: "203.0.113.101"}); emCode(err) != "rate_limited" {
		t.Fatalf("the responder id's count: %v", err)
	}
	for i := 102; i < 110; i++ { // a flood
		stranger(i, "EMT-1")
	}

	cctx, derivations := app.CountKDF(ctx)
	g, err := env.App.GrantEmergency(cctx, app.GrantRequest{ResponderID: "EMT-1", ResponderSecret: emt.Secret,
		Reason: "collapsed", Email: "held@example.org", Client: "198.51.100.9"})
	if err != nil || g.Responder == nil || g.Responder.VerifiedBy != "secret" {
		t.Fatalf("the responder's secret: %+v, %v", g, err)
	}
	if derivations.Load() != 1 {
		t.Fatalf("%d derivations, want 1", derivations.Load())
	}
	// The grant cleared the profile's count; fill it again, then a badge.
	for i := 0; i < app.GrantProfileLimit+2; i++ {
		stranger(120+i, "PM-1")
	}
	now := env.Clock.Now()
	if g, err := rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: "held@example.org",
		ResponderCredential: rsBadge(t, priv, "PM-1", now, now.Add(time.Hour))}); err != nil || g.Responder == nil || g.Responder.VerifiedBy != "badge" {
		t.Fatalf("the responder's badge: %+v, %v", g, err)
	}

	l, err := env.App.EmergencyLog(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range l.Entries {
		counts[e.Outcome]++
	}
	if counts[app.OutcomeGranted] != 2 || counts[app.OutcomeRateLimited] != 2 || !l.Verified {
		t.Fatalf("log outcomes %v", counts)
	}
}
