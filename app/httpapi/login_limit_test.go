package httpapi_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// loginFrom posts a password login as a client at addr.
func (e *env) loginFrom(t *testing.T, addr, email, password string) *httptest.ResponseRecorder {
	t.Helper()
	v := url.Values{"email": {email}, "password": {password}}
	req := httptest.NewRequest("POST", "/api/v1/users/login", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "127.0.0.1"
	req.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, req)
	return w
}

func wantStatus(t *testing.T, what string, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("%s: %d %s, want %d", what, w.Code, w.Body, code)
	}
	if code == 429 {
		if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 15*60 {
			t.Fatalf("%s: Retry-After %q", what, w.Header().Get("Retry-After"))
		}
	}
}

// Issue 12 §3, §4 over HTTP: the handler passes the client's address, so
// a stranger's failures lock out the stranger's address only, and fresh
// e-mails from one address meet its limit.
func TestLoginLimitsArePerClientAddress(t *testing.T) {
	e := newEnv(t)
	e.register(t, "ada@example.org")
	const stranger, owner = "198.51.100.66", "203.0.113.5"
	for i := 0; i < app.LoginFailureLimit; i++ {
		wantStatus(t, "a stranger's guess", e.loginFrom(t, stranger, "ada@example.org", "guess "+strconv.Itoa(i)), 401)
	}
	wantStatus(t, "the stranger, right password", e.loginFrom(t, stranger, "ada@example.org", pw), 429)
	wantStatus(t, "the owner's address", e.loginFrom(t, owner, "ada@example.org", pw), 200)

	const scanner = "192.0.2.50"
	for i := 0; i < app.LoginAddressLimit; i++ {
		wantStatus(t, "a fresh e-mail", e.loginFrom(t, scanner, fmt.Sprintf("fresh%d@example.org", i), "a password"), 401)
	}
	wantStatus(t, "past the address's limit", e.loginFrom(t, scanner, "fresh@example.org", "a password"), 429)
	wantStatus(t, "another address", e.loginFrom(t, "192.0.2.51", "fresh@example.org", "a password"), 401)
}
