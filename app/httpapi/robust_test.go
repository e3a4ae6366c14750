package httpapi_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestNoRouteAnswers500 sends every route, with every method it answers,
// a battery of odd requests — no body, broken JSON, wrong types for every
// documented parameter, oversized values, odd path values — with a valid
// token and without. None may get a 500, and every JSON answer keeps the
// contract (status, and code on errors).
func TestNoRouteAnswers500(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "odd@example.org", "name", "Odd Requests").str("token")
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]any `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do(t, "GET", "/api/v1/openapi.json", "", nil).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	pathParam := regexp.MustCompile(`\{[a-z_]+\}`)
	odd := []any{nil, 0, -1, 1e300, true, "", " ", "\x00", strings.Repeat("x", 70000), []any{1, "a"}, map[string]any{"a": map[string]any{"b": nil}}, "null", "{", "[]", "../../etc/passwd", "'; DROP TABLE cells;--"}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			method = strings.ToUpper(method)
			var names []string
			for _, c := range op.RequestBody.Content {
				for name := range c.Schema.Properties {
					names = append(names, name)
				}
				break
			}
			for _, p := range op.Parameters {
				if p.In == "query" {
					names = append(names, p.Name)
				}
			}
			for _, pv := range []string{"x", "%00", strings.Repeat("z", 300), "..%2F..%2Fetc"} {
				url := "/api/v1" + pathParam.ReplaceAllString(path, pv)
				for _, auth := range []string{"", tok} {
					hdr := []string{}
					if auth != "" {
						hdr = []string{"Authorization", "Bearer " + auth}
					}
					check := func(what string, r resp) {
						t.Helper()
						n++
						if r.Code >= 500 {
							t.Errorf("%s %s (%s): %d %s", method, url, what, r.Code, r.Raw)
						}
					}
					check("no body", e.do(t, method, url, "", nil, hdr...))
					check("broken JSON", e.do(t, method, url, "application/json", strings.NewReader(`{"a":`), hdr...))
					for _, v := range odd {
						obj := map[string]any{}
						for _, name := range names {
							if name != "token" {
								obj[name] = v
							}
						}
						b, _ := json.Marshal(obj)
						check("odd values", e.do(t, method, url, "application/json", bytes.NewReader(b), hdr...))
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d requests sent", n)
	}
}
