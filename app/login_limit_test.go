package app_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// Issue 12 §3, §4: login limits per client address, per e-mail and
// address (the lock-out), per e-mail (the ceiling), the app's own window
// under none of them, and the queue bound of the derivations. Not timed:
// derivations are counted (app.CountKDF); durations only bound "did not
// hang".

const ownerPassword = "the owner's own password"

func loginUser(t *testing.T, env *storetest.Env, email string) {
	t.Helper()
	if _, err := env.App.Register(context.Background(), app.Registration{Email: email, Password: ownerPassword}); err != nil {
		t.Fatal(err)
	}
}

// wantLimited fails unless err is a 429 with a Retry-After within window.
func wantLimited(t *testing.T, what string, err error, window time.Duration) {
	t.Helper()
	var e *app.Error
	if !errors.As(err, &e) || e.Kind != app.KindRateLimited || e.RetryAfter <= 0 || e.RetryAfter > window {
		t.Fatalf("%s: %v, want 429 with Retry-After", what, err)
	}
}

// Fresh e-mails from one address: past the per-address limit they are
// refused before any derivation runs.
func TestLoginIsLimitedPerAddress(t *testing.T) {
	env := storetest.New(t, app.Config{})
	// The derivations' queue bound is not what this test is about: on a
	// loaded machine the 20 derivations let through would wait past it
	// (answered busy).
	defer app.SetKDFQueue(time.Minute, 1000)()
	ctx, derivations := app.CountKDF(context.Background())
	const addr, n = "203.0.113.16", 2 * app.LoginAddressLimit
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	var limited error
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.App.LoginFrom(ctx, addr, fmt.Sprintf("fresh%d@example.org", i), "some password")
			mu.Lock()
			defer mu.Unlock()
			if codes[emCode(err)]++; emCode(err) == "rate_limited" {
				limited = err
			}
		}()
	}
	wg.Wait()
	if codes["invalid_credentials"] != app.LoginAddressLimit || codes["rate_limited"] != n-app.LoginAddressLimit {
		t.Fatalf("outcomes %v, want %d checked and the rest refused", codes, app.LoginAddressLimit)
	}
	wantLimited(t, "over the address's limit", limited, app.LoginFailureWindow)
	if derivations.Load() != app.LoginAddressLimit {
		t.Fatalf("%d derivations for %d attempts, want %d", derivations.Load(), n, app.LoginAddressLimit)
	}
	// An IPv6 address counts under its /64: a fresh address from the
	// same /64 is no fresh client.
	for i := 0; i < app.LoginAddressLimit; i++ {
		env.App.LoginFrom(ctx, fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("v6-%d@example.org", i), "some password")
	}
	if _, err := env.App.LoginFrom(ctx, "2001:db8:1:2:ffff::1", "v6@example.org", "some password"); emCode(err) != "rate_limited" {
		t.Fatalf("another address of the same /64: %v", err)
	}
	// Another address is not held off, and successes do not count.
	loginUser(t, env, "owner@example.org")
	const other = "198.51.100.7"
	for i := 0; i < app.LoginAddressLimit-1; i++ {
		env.App.LoginFrom(ctx, other, fmt.Sprintf("other%d@example.org", i), "some password")
	}
	for i := 0; i < 3; i++ {
		if _, err := env.App.LoginFrom(ctx, other, "owner@example.org", ownerPassword); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
	}
	if _, err := env.App.LoginFrom(ctx, other, "last@example.org", "some password"); emCode(err) != "invalid_credentials" {
		t.Fatalf("the limit's last failure: %v", err)
	}
	if _, err := env.App.LoginFrom(ctx, other, "owner@example.org", ownerPassword); emCode(err) != "rate_limited" {
		t.Fatalf("over the limit: %v", err)
	}
	env.Clock.Advance(app.LoginFailureWindow + time.Second)
	if _, err := env.App.LoginFrom(ctx, addr, "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// A stranger's wrong passwords lock out the stranger's address, not the
// owner's; the owner's own wrong passwords lock the owner's address.
func TestLoginLockOutIsPerEmailAndAddress(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	loginUser(t, env, "owner@example.org")
	const stranger, owner = "198.51.100.66", "203.0.113.5"
	for i := 0; i < app.LoginFailureLimit; i++ {
		if _, err := env.App.LoginFrom(ctx, stranger, "Owner@Example.org", "a guess"); emCode(err) != "invalid_credentials" {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, err := env.App.LoginFrom(ctx, stranger, "owner@example.org", ownerPassword)
	wantLimited(t, "the stranger's address, right password", err, app.LoginFailureWindow)
	if _, err := env.App.LoginFrom(ctx, owner, "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("the owner's address: %v", err)
	}
	// The lock-out still holds for the stranger after the owner's success.
	if _, err := env.App.LoginFrom(ctx, stranger, "owner@example.org", "a guess"); emCode(err) != "rate_limited" {
		t.Fatalf("the stranger after the owner's success: %v", err)
	}

	for i := 0; i < app.LoginFailureLimit; i++ {
		if _, err := env.App.LoginFrom(ctx, owner, "owner@example.org", "a typo"); emCode(err) != "invalid_credentials" {
			t.Fatalf("typo %d: %v", i, err)
		}
	}
	_, err = env.App.LoginFrom(ctx, owner, "owner@example.org", ownerPassword)
	wantLimited(t, "the owner's address after its own failures", err, app.LoginFailureWindow)
	env.Clock.Advance(app.LoginFailureWindow + time.Second)
	if _, err := env.App.LoginFrom(ctx, owner, "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// Many addresses, each under the lock-out, meet the per-e-mail ceiling;
// the owner's successes do not reset it; the app's own window (Unlock)
// signs the owner in all the same.
func TestLoginCeilingPerEmailAndTheDevicesUnlock(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	loginUser(t, env, "owner@example.org")
	addr := func(i int) string { return fmt.Sprintf("192.0.%d.%d", i/200, i%200+1) }
	for i := 0; i < app.LoginEmailLimit-1; i++ {
		if _, err := env.App.LoginFrom(ctx, addr(i), "owner@example.org", "a guess"); emCode(err) != "invalid_credentials" {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := env.App.LoginFrom(ctx, "203.0.113.5", "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("under the ceiling: %v", err)
	}
	if _, err := env.App.LoginFrom(ctx, addr(1000), "owner@example.org", "a guess"); emCode(err) != "invalid_credentials" {
		t.Fatalf("the ceiling's last failure: %v", err)
	}
	_, err := env.App.LoginFrom(ctx, "203.0.113.5", "owner@example.org", ownerPassword)
	wantLimited(t, "over the ceiling", err, app.LoginFailureWindow)
	if _, err := env.App.Login(ctx, "owner@example.org", ownerPassword); emCode(err) != "rate_limited" {
		t.Fatalf("no address, over the ceiling: %v", err)
	}
	// The device's owner, from the app's own window: no limit applies,
	// and a wrong password there is the usual answer.
	if _, err := env.App.Unlock(ctx, "owner@example.org", "a typo"); emCode(err) != "invalid_credentials" {
		t.Fatalf("unlock, wrong password: %v", err)
	}
	if _, err := env.App.Unlock(ctx, "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("unlock while the e-mail is locked for the API: %v", err)
	}
	env.Clock.Advance(app.LoginFailureWindow + time.Second)
	if _, err := env.App.LoginFrom(ctx, "203.0.113.5", "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// With every derivation slot held, a login waits a bounded time and is
// refused 429 with Retry-After; past the waiters' cap, at once. Refused
// attempts do not count against the limits. The app's own window waits.
func TestLoginIsRefusedWhenTheDerivationsAreFull(t *testing.T) {
	env := storetest.New(t, app.Config{})
	loginUser(t, env, "owner@example.org")
	const owner = "203.0.113.5"
	// within runs f, failing if it does not return in a generous time.
	within := func(what string, f func() error) error {
		t.Helper()
		ch := make(chan error, 1)
		go func() { ch <- f() }()
		select {
		case err := <-ch:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: still waiting", what)
			return nil
		}
	}
	wantBusy := func(what string, err error) {
		t.Helper()
		wantLimited(t, what, err, 2*time.Hour)
		if emCode(err) != "busy" {
			t.Fatalf("%s: %v, want busy", what, err)
		}
	}

	restore := app.SetKDFQueue(20*time.Millisecond, 100)
	release := app.HoldKDFSlots()
	t.Cleanup(release) // once only: a failure must not leave them held
	t.Cleanup(restore)
	for i := 0; i < app.LoginFailureLimit+1; i++ {
		err := within("login", func() error {
			_, err := env.App.LoginFrom(context.Background(), owner, "owner@example.org", ownerPassword)
			return err
		})
		wantBusy("login, slots full", err)
	}
	wantBusy("unknown e-mail, slots full", within("unknown", func() error {
		_, err := env.App.LoginFrom(context.Background(), owner, "nobody@example.org", "a password")
		return err
	}))
	wantBusy("register, slots full", within("register", func() error {
		_, err := env.App.Register(context.Background(), app.Registration{Email: "new@example.org", Password: "a new password", Client: owner})
		return err
	}))
	wantBusy("register a known e-mail, slots full", within("register", func() error {
		_, err := env.App.Register(context.Background(), app.Registration{Email: "owner@example.org", Password: "a new password", Client: owner})
		return err
	}))

	// Past the waiters' cap: at once, even with a long wait allowed.
	app.SetKDFQueue(time.Hour, 1)
	waiting := make(chan error, 1)
	go func() {
		_, err := env.App.LoginFrom(context.Background(), "198.51.100.1", "owner@example.org", ownerPassword)
		waiting <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); app.KDFWaiters() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first login never waited")
		}
	}
	wantBusy("past the waiters' cap", within("login past the cap", func() error {
		_, err := env.App.LoginFrom(context.Background(), "198.51.100.2", "owner@example.org", ownerPassword)
		return err
	}))
	// The device's owner waits for a slot instead.
	unlocked := make(chan error, 1)
	go func() {
		_, err := env.App.Unlock(context.Background(), "owner@example.org", ownerPassword)
		unlocked <- err
	}()
	select {
	case err := <-unlocked:
		t.Fatalf("unlock returned with every slot held: %v", err)
	default:
	}
	release()
	restore()
	if err := within("unlock", func() error { return <-unlocked }); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if err := within("the waiting login", func() error { return <-waiting }); err != nil {
		t.Fatalf("the waiting login: %v", err)
	}
	// Six refusals from the owner's address did not lock it out.
	if _, err := env.App.LoginFrom(context.Background(), owner, "owner@example.org", ownerPassword); err != nil {
		t.Fatalf("after the refusals: %v", err)
	}
	if _, err := env.App.Register(context.Background(), app.Registration{Email: "new@example.org", Password: "a new password", Client: owner}); err != nil {
		t.Fatalf("register after the refusals: %v", err)
	}
}
