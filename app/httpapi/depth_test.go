package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// nested is a JSON value nesting n levels: arrays and objects in turn,
// with a string holding brackets at the bottom (they must not count).
func nested(n int) string {
	var open, close strings.Builder
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			open.WriteString(`[`)
			close.WriteString(`]`)
		} else {
			open.WriteString(`{"k":`)
			close.WriteString(`}`)
		}
	}
	c := []byte(close.String())
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	return open.String() + `"[[{{\"]]"` + string(c)
}

func tooDeep(name string) string {
	return name + " is nested too deeply (at most 64 levels)!"
}

// TestEveryJSONParameterIsDepthCapped sends, for every operation of the
// OpenAPI document, each documented parameter nested 65 levels deep (as
// a JSON body member, as a JSON string in a form field, and in the query
// string): 400 too_deep, naming the parameter. Nested 64 levels, the
// same parameter is never refused for its depth.
func TestEveryJSONParameterIsDepthCapped(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "deep@example.org").str("token")
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
	deep, ok := nested(65), nested(64)
	pathParam := regexp.MustCompile(`\{[a-z_]+\}`)
	auth := []string{"Authorization", "Bearer " + tok}
	n := 0
	for path, ops := range doc.Paths {
		u := "/api/v1" + pathParam.ReplaceAllString(path, "x")
		for method, op := range ops {
			method = strings.ToUpper(method)
			var body, query []string
			for name := range op.RequestBody.Content["application/json"].Schema.Properties {
				body = append(body, name)
			}
			for _, p := range op.Parameters {
				if p.In == "query" {
					query = append(query, p.Name)
				}
			}
			refused := func(what, name string, r resp) {
				t.Helper()
				n++
				if r.Code != 400 || r.str("code") != "too_deep" || r.str("status") != tooDeep(name) {
					t.Errorf("%s %s, %s %s nested 65 deep: %d %.200s", method, path, what, name, r.Code, r.Raw)
				}
			}
			accepted := func(what, name string, r resp) {
				t.Helper()
				if r.Code >= 500 || r.str("code") == "too_deep" {
					t.Errorf("%s %s, %s %s nested 64 deep: %d %.200s", method, path, what, name, r.Code, r.Raw)
				}
			}
			for _, name := range body {
				obj := func(v string) *bytes.Reader {
					b, _ := json.Marshal(map[string]json.RawMessage{name: json.RawMessage(v)})
					return bytes.NewReader(b)
				}
				refused("JSON body", name, e.do(t, method, u, "application/json", obj(deep), auth...))
				accepted("JSON body", name, e.do(t, method, u, "application/json", obj(ok), auth...))
				form := func(v string) *strings.Reader { return strings.NewReader(url.Values{name: {v}}.Encode()) }
				refused("form", name, e.do(t, method, u, "application/x-www-form-urlencoded", form(deep), auth...))
				accepted("form", name, e.do(t, method, u, "application/x-www-form-urlencoded", form(ok), auth...))
			}
			for _, name := range query {
				q := func(v string) string { return u + "?" + url.Values{name: {v}}.Encode() }
				refused("query", name, e.do(t, method, q(deep), "", nil, auth...))
				accepted("query", name, e.do(t, method, q(ok), "", nil, auth...))
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d parameters tried", n)
	}
}

// TestTenThousandLevelsAreRefusedWithoutACrash sends values far deeper
// than any parser allows, over HTTP and straight to the app (the GUI's
// path): each is refused as too deep, and nothing is stored.
func TestTenThousandLevelsAreRefusedWithoutACrash(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "deeper@example.org").str("token")
	// Past encoding/json's own limit (10,000), up to the 1 MiB body cap.
	for _, levels := range []int{9_998, 10_000, 200_000} {
		deep := nested(levels)
		r := e.do(t, "POST", "/api/v1/profile/update-info", "application/json",
			strings.NewReader(`{"updated_fields":{"notes":`+deep+`}}`), "Authorization", "Bearer "+tok)
		name := "updated_fields"
		if levels+2 > 10_000 {
			name = "a parameter" // a body no JSON parser reads
		}
		want(t, r, 400, tooDeep(name), "too_deep")
		if levels > 10_000 {
			continue // too large for a url-encoded form
		}
		r = e.form(t, "POST", "/api/v1/profile/update-info", "token", tok, "updated_fields", `{"notes":`+deep+`}`)
		want(t, r, 400, tooDeep("updated_fields"), "too_deep")
		r = e.form(t, "POST", "/api/v1/profile/emergency-access", "token", tok, "emergency_info", deep)
		want(t, r, 400, tooDeep("emergency_info"), "too_deep")
	}

	ctx := context.Background()
	p, err := e.App.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	deep, over := json.RawMessage(nested(10_000)), json.RawMessage(nested(65))
	for what, err := range map[string]error{
		"update-info 10,000":    second(e.App.UpdateInfo(ctx, p, json.RawMessage(`{"notes":`+string(deep)+`}`))),
		"update-info 65":        second(e.App.UpdateInfo(ctx, p, json.RawMessage(`{"notes":`+string(over)+`}`))),
		"emergency_info 10,000": second(e.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: deep})),
		"emergency criteria":    second(e.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: json.RawMessage(`"x"`), Criteria: over})),
		"health record":         third(e.App.PutHealthRecord(ctx, p, "", "allergies", over)),
		"public_info":           second(e.App.SetPublic(ctx, p, over, "true")),
		"public_info 10,000":    second(e.App.SetPublic(ctx, p, deep, "true")),
		"health record 10,000":  third(e.App.PutHealthRecord(ctx, p, "", "allergies", deep)),
		"emergency_info":        second(e.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: over})),
	} {
		if e := app.AsError(err); err == nil || e.Code != "too_deep" || e.Kind != app.KindInvalid {
			t.Errorf("%s: %v", what, err)
		}
	}
	r := e.do(t, "GET", "/api/v1/profile", "", nil, "Authorization", "Bearer "+tok)
	want(t, r, 200, "success", "")
	if _, ok := r.Body["fields"].(map[string]any)["notes"]; ok {
		t.Fatalf("a refused value was stored: %.300s", r.Raw)
	}
}

func second[A, B any](_ A, b B) B        { return b }
func third[A, B, C any](_ A, _ B, c C) C { return c }

// TestDepth64ReadsBackEverywhere stores values 64 levels deep (the cap)
// through the app, as the GUI does, and one through update-info (its
// parameter nests one more level): GET /profile, export, get-share and
// /verify all answer, with the value as stored.
func TestDepth64ReadsBackEverywhere(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "deep-read@example.org").str("token")
	ctx := context.Background()
	p, err := e.App.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.UpdateInfo(ctx, p, json.RawMessage(`{"notes":`+nested(64)+`}`)); err != nil {
		t.Fatal(err)
	}
	e.setFields(t, tok, map[string]any{"more_notes": json.RawMessage(nested(63))})
	if _, err := e.App.SetPublic(ctx, p, json.RawMessage(nested(64)), "true"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(nested(64))); err != nil {
		t.Fatal(err)
	}
	var want64, want63 any
	json.Unmarshal([]byte(nested(64)), &want64)
	json.Unmarshal([]byte(nested(63)), &want63)
	same := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the value does not read back", what)
		}
	}
	auth := []string{"Authorization", "Bearer " + tok}

	r := e.do(t, "GET", "/api/v1/profile", "", nil, auth...)
	want(t, r, 200, "success", "")
	fields := r.Body["fields"].(map[string]any)
	same("GET /profile", fields["notes"].(map[string]any)["value"], want64)
	same("GET /profile", fields["more_notes"].(map[string]any)["value"], want63)

	r = e.do(t, "POST", "/api/v1/profile/export", "", nil, auth...)
	want(t, r, 200, "success", "")
	fields = r.Body["exported_data"].(map[string]any)["fields"].(map[string]any)
	same("export", fields["notes"].(map[string]any)["value"], want64)

	vt := e.share(t, tok, "svc-deep", "notes").str("verification_token")
	r = e.form(t, "GET", "/api/v1/profile/get-share", "token", tok, "service_id", "svc-deep", "verification_token", vt)
	want(t, r, 200, "success", "")
	same("get-share", r.Body["user_data"].(map[string]any)["notes"], want64)

	r = e.verify(t, vt)
	want(t, r, 200, "success", "")
	same("/verify", claims(r)["notes"], want64)
}
