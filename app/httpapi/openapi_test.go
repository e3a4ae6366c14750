package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversEveryRoute checks the served document against the
// routes the server answers: every route and method is there, with a
// summary and its responses, and every documented operation answers.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/v1/openapi.json", "", nil)
	if r.Code != 200 {
		t.Fatalf("openapi: %d", r.Code)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("not an OpenAPI 3.1 document: %v %q", err, doc.OpenAPI)
	}
	routes := e.api.Routes()
	if len(routes) < 7 {
		t.Fatalf("only %d routes", len(routes))
	}
	ops := 0
	for _, rt := range routes {
		p := strings.TrimPrefix(rt.Path, "/api/v1")
		for _, m := range rt.Methods {
			op := doc.Paths[p][strings.ToLower(m)]
			if op == nil {
				t.Errorf("%s %s is served but not documented", m, rt.Path)
				continue
			}
			ops++
			if s, _ := op["summary"].(string); len(s) < 8 {
				t.Errorf("%s %s: no summary", m, rt.Path)
			}
			if _, ok := op["responses"].(map[string]any)["405"]; !ok {
				t.Errorf("%s %s: 405 not documented", m, rt.Path)
			}
		}
	}
	// Nothing documented that is not served.
	n := 0
	for p, item := range doc.Paths {
		for m := range item {
			n++
			path := regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(p, "x")
			if !strings.HasPrefix(p, "/.well-known/") {
				path = "/api/v1" + path
			}
			if res := e.do(t, strings.ToUpper(m), path, "", nil); res.Code == http.StatusNotFound && res.str("code") == "not_found" {
				t.Errorf("%s %s documented but not served", m, p)
			}
		}
	}
	if n != ops {
		t.Fatalf("document has %d operations, server %d", n, ops)
	}
}
