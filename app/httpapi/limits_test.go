package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// Registration is limited per client address (issue 10 §6): known and
// unknown e-mails alike count, then 429 with Retry-After.
func TestRegistrationIsRateLimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	const reg = "/api/v1/users/register"
	for i := 0; i < app.RegisterLimit; i++ {
		email := fmt.Sprintf("r%d@example.org", i)
		if i%4 == 3 {
			email = "r0@example.org" // a known one counts too
		}
		if r := e.form(t, "POST", reg, "email", email, "password", pw); r.Code != 201 && r.Code != 409 {
			t.Fatalf("#%d: %d %s", i, r.Code, r.Raw)
		}
	}
	r := e.form(t, "POST", reg, "email", "late@example.org", "password", pw)
	want(t, r, 429, "too many attempts, try again later!", "rate_limited")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// Malformed requests keep their legacy answers (they reach no e-mail).
	want(t, e.form(t, "POST", reg, "email", "late@example.org"), 400, "email and password must exist!", "missing_parameter")
}
