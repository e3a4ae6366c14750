package httpapi_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestOddPathsNeverRedirect sends every route, with every method it
// answers, under paths that net/http's ServeMux would clean and answer
// with a redirect and an HTML body: dot segments (also spelt %2e), empty
// segments, trailing slashes. Each answer is JSON and none is a 3xx.
func TestOddPathsNeverRedirect(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "paths@example.org").str("token")
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	variants := func(p string) []string {
		i := strings.LastIndex(p, "/")
		dir, last := p[:i], p[i+1:]
		rest := strings.TrimPrefix(p, "/api/v1/")
		return []string{
			p + "/", p + "//", p + "/.", p + "/..", p + "/./", p + "/../",
			p + "/%2e", p + "/%2e%2e", p + "/%2E%2E/", p + "/%2e/",
			dir + "/./" + last, dir + "/x/../" + last, dir + "//" + last,
			dir + "/%2e/" + last, dir + "/x/%2e%2e/" + last,
			"/api/v1//" + rest, "//api/v1/" + rest, "/api/./v1/" + rest, "/api/v1/../v1/" + rest,
			dir + "/.", dir + "/%2e", dir + "/..",
		}
	}
	n := 0
	for _, rt := range e.api.Routes() {
		base := param.ReplaceAllString(rt.Path, "x")
		paths := variants(base)
		if param.MatchString(rt.Path) {
			// A path parameter that is itself a dot segment.
			for _, seg := range []string{".", "..", "%2e", "%2e%2e"} {
				paths = append(paths, param.ReplaceAllString(rt.Path, seg))
			}
		}
		for _, m := range rt.Methods {
			for _, p := range paths {
				req, err := http.NewRequest(m, e.srv.URL+p, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				n++
				if res.StatusCode >= 300 && res.StatusCode < 400 {
					t.Errorf("%s %s: %d (Location %q)", m, p, res.StatusCode, res.Header.Get("Location"))
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("%s %s: %d %s %.80q", m, p, res.StatusCode, ct, body)
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d requests", n)
	}
	// The issue's own examples.
	for _, p := range []string{"/api/v1/requests/.", "/api/v1/profile/x/../rings"} {
		r := e.do(t, "GET", p, "", nil, "Authorization", "Bearer "+tok)
		want(t, r, http.StatusNotFound, "not found!", "not_found")
	}
}
