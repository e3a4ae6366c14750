package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// benchEnv is like newEnv but with the production password KDF.
func benchEnv(b *testing.B) *env {
	e := &env{Env: storetest.New(b, app.Config{KDF: crypto.DefaultKDF})}
	e.api = httpapi.New(e.App, nil)
	e.srv = httptest.NewServer(e.api)
	b.Cleanup(e.srv.Close)
	return e
}

// post sends a form over the benchmark's keep-alive client and drains it.
func post(b *testing.B, c *http.Client, u string, v url.Values, wantCode int) {
	res, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	drain(b, u, res, err, wantCode)
}

// get sends a GET over the benchmark's keep-alive client and drains it.
func get(b *testing.B, c *http.Client, u string, wantCode int) {
	res, err := c.Get(u)
	drain(b, u, res, err, wantCode)
}

// drain reads an answer to its end, which must have the status wanted.
func drain(b *testing.B, u string, res *http.Response, err error, wantCode int) {
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != wantCode {
		b.Fatalf("%s: %d", u, res.StatusCode)
	}
}

// BenchmarkBareHandler is the ceiling: a bare net/http handler writing a
// small JSON object, over the same kind of loopback connection.
func BenchmarkBareHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success"}` + "\n"))
	}))
	defer srv.Close()
	c := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post(b, c, srv.URL+"/api/v1/users/logout", url.Values{"token": {"x"}}, 200)
	}
}

// BenchmarkTokenChecked is a token-checked request through the whole stack:
// parameter parsing, token lookup, data-key unwrap, a profile read.
func BenchmarkTokenChecked(b *testing.B) {
	e := benchEnv(b)
	r := e.form(b, "POST", "/api/v1/users/register", "email", "bench@example.org", "password", pw, "name", "Bench")
	c := e.srv.Client()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/profile", nil)
	req.Header.Set("Authorization", "Bearer "+r.str("token"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("profile: %d", res.StatusCode)
		}
	}
}

// BenchmarkRegister is a registration with the production Argon2id cost.
func BenchmarkRegister(b *testing.B) {
	e := benchEnv(b)
	c := e.srv.Client()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		email := fmt.Sprintf("u%d@example.org", n.Add(1))
		e.Clock.Advance(app.RegisterWindow) // one address registers at most app.RegisterLimit an hour
		post(b, c, e.srv.URL+"/api/v1/users/register", url.Values{"email": {email}, "password": {pw}}, 201)
	}
}

// BenchmarkLogin is a password login with the production Argon2id cost.
func BenchmarkLogin(b *testing.B) {
	e := benchEnv(b)
	e.form(b, "POST", "/api/v1/users/register", "email", "bench@example.org", "password", pw)
	c := e.srv.Client()
	v := url.Values{"email": {"bench@example.org"}, "password": {pw}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post(b, c, e.srv.URL+"/api/v1/users/login", v, 200)
	}
}
