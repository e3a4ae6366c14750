package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// Parallel guesses cannot all pass the login limit: exactly the limit's
// worth are checked, the rest refused.
func TestParallelWrongPasswordsHitTheLimit(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	if _, err := env.App.Register(ctx, app.Registration{Email: "p@example.org", Password: "parallel password"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.App.Login(ctx, "p@example.org", "wrong password")
			var e *app.Error
			errors.As(err, &e)
			mu.Lock()
			counts[e.Code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["invalid_credentials"] != app.LoginFailureLimit || counts["rate_limited"] != 30-app.LoginFailureLimit {
		t.Fatalf("outcomes %v", counts)
	}
	if _, err := env.App.Login(ctx, "p@example.org", "parallel password"); err == nil {
		t.Fatal("the right password passed the limit")
	}
}
