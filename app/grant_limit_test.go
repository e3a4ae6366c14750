package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

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
