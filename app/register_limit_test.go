package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// Issue 10 §6: a known and an unknown e-mail cost the same. Not timed (no
// timed unit tests): each path's Argon2id derivations are counted
// (app.CountKDF), the work that dominates the time of the answer.

func TestRegisterWithAKnownEmailSpendsTheSameDerivation(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	if _, err := env.App.Register(ctx, app.Registration{Email: "known@example.org", Password: "registration password"}); err != nil {
		t.Fatal(err)
	}
	known, nKnown := app.CountKDF(ctx)
	_, err := env.App.Register(known, app.Registration{Email: "Known@Example.org", Password: "another password", Client: "192.0.2.1"})
	if emCode(err) != "email_exists" || app.AsError(err).Message != "the email exists!" {
		t.Fatalf("known e-mail: %v", err)
	}
	unknown, nUnknown := app.CountKDF(ctx)
	if _, err := env.App.Register(unknown, app.Registration{Email: "new@example.org", Password: "another password", Client: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if nKnown.Load() != 1 || nUnknown.Load() != 1 {
		t.Fatalf("derivations: known e-mail %d, unknown %d; want 1 and 1", nKnown.Load(), nUnknown.Load())
	}
}

func TestRegistrationIsLimitedPerAddress(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	reg := func(client, email string) error {
		_, err := env.App.Register(ctx, app.Registration{Email: email, Password: "registration password", Client: client})
		return err
	}
	const addr = "203.0.113.7"
	// Known and unknown e-mails count alike: one address cannot try
	// e-mails without end.
	for i := 0; i < app.RegisterLimit; i++ {
		email := fmt.Sprintf("u%d@example.org", i)
		if i%2 == 1 {
			email = "u0@example.org"
		}
		if err := reg(addr, email); err != nil && emCode(err) != "email_exists" {
			t.Fatalf("#%d: %v", i, err)
		}
	}
	err := reg(addr, "one-more@example.org")
	var e *app.Error
	if !errors.As(err, &e) || e.Kind != app.KindRateLimited || e.RetryAfter <= 0 || e.RetryAfter > app.RegisterWindow {
		t.Fatalf("over the limit: %v", err)
	}
	// A malformed request is answered as before (it reaches no e-mail).
	if _, err := env.App.Register(ctx, app.Registration{Email: "x@example.org", Password: "short", Client: addr}); emCode(err) != "weak_password" {
		t.Fatalf("weak password over the limit: %v", err)
	}
	if err := reg("203.0.113.8", "other-address@example.org"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if err := reg("", "the-window@example.org"); err != nil { // the app's own window
		t.Fatalf("no address: %v", err)
	}
	env.Clock.Advance(app.RegisterWindow + time.Second)
	if err := reg(addr, "one-more@example.org"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}
