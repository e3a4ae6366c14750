package httpapi_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/secure-personal-profile/spp/app/httpapi"
)

// answers records what every request through an env's server was
// answered, by route pattern and method.
type answers struct {
	mu     sync.Mutex
	mirror *http.ServeMux                  // the server's patterns, to name a request's route
	seen   map[answer]string               // → the first request path that got it
	ok     map[[2]string]bool              // pattern, method → answered with a 2xx
	bodies map[answer]map[string]mediaBody // → each distinct body, by its text
}

// mediaBody is one answer's media type and the first path that got it.
type mediaBody struct {
	mediaType, example string
}

type answer struct {
	pattern, method string
	status          int
}

// recordAnswers puts a recorder in front of e's API server (e.srv is
// replaced, so every helper's request is recorded); one recorder may
// watch several envs.
func recordAnswers(t *testing.T, rec *answers, e *env) *answers {
	t.Helper()
	if rec == nil {
		rec = &answers{mirror: http.NewServeMux(), seen: map[answer]string{}, ok: map[[2]string]bool{}, bodies: map[answer]map[string]mediaBody{}}
		for _, rt := range e.api.Routes() {
			rec.mirror.HandleFunc(rt.Path, func(http.ResponseWriter, *http.Request) {})
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := rec.mirror.Handler(r)
		sw := &codeWriter{ResponseWriter: w}
		e.api.ServeHTTP(sw, r)
		if pattern == "" {
			return // an unknown path: no operation's answer
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		a := answer{pattern, r.Method, sw.code}
		if _, ok := rec.seen[a]; !ok {
			rec.seen[a] = r.URL.Path
		}
		if sw.code >= 200 && sw.code < 300 {
			rec.ok[[2]string{pattern, r.Method}] = true
		}
		if rec.bodies[a] == nil {
			rec.bodies[a] = map[string]mediaBody{}
		}
		mt, _, _ := mime.ParseMediaType(sw.Header().Get("Content-Type"))
		body := sw.body.String()
		if mt != "application/json" {
			body = "" // only the media type matters
		}
		if _, ok := rec.bodies[a][mt+" "+body]; !ok {
			rec.bodies[a][mt+" "+body] = mediaBody{mediaType: mt, example: r.URL.Path}
		}
	}))
	t.Cleanup(srv.Close)
	e.srv = srv
	return rec
}

type codeWriter struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (w *codeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// driveEveryRoute drives every route, with every method it answers, to
// success, then through the errors every operation can meet (no token, a
// foreign Host, a cross-site write, a malformed, mistyped, too large or
// too deep body, unknown ids) and a battery of odd values for each
// parameter. It returns what was answered, the routes and the OpenAPI
// document the server served.
func driveEveryRoute(t *testing.T) (*answers, []httpapi.Route, map[string]any) {
	e := newEnv(t)
	rec := recordAnswers(t, nil, e)
	withSync(t, e)
	auth := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	// Accounts.
	reg := e.register(t, "documented@example.org", "handle", "documented")
	tok, profileID := reg.str("token"), reg.str("profile_id")
	want(t, e.form(t, "POST", "/api/v1/users/login", "email", "documented@example.org", "password", pw), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/users/challenge", "email", "documented@example.org"), 200, "success", "")
	spare := e.form(t, "POST", "/api/v1/users/login", "email", "documented@example.org", "password", pw).str("token")
	want(t, e.form(t, "POST", "/api/v1/users/logout", "token", spare), 200, "success", "")
	want(t, e.do(t, "GET", "/api/v1/healthz", "", nil), 200, "success", "")
	want(t, e.do(t, "GET", "/api/v1/profile", "", nil, auth(tok)...), 200, "success", "")
	if r := e.do(t, "GET", "/api/v1/openapi.json", "", nil); r.Code != 200 {
		t.Fatalf("openapi.json: %d", r.Code)
	}

	// Fields, shares, rings, services, the public profile, export.
	want(t, e.json(t, "PUT", "/api/v1/profile/update-info", map[string]any{"updated_fields": map[string]any{"phone": "+15550001111"}}, auth(tok)...), 200, "success", "")
	want(t, e.json(t, "POST", "/api/v1/profile/update-info", map[string]any{"updated_fields": map[string]any{"city": "Basel"}}, auth(tok)...), 200, "success", "")
	docShare := e.share(t, tok, "svc-doc", "city")
	vt := docShare.str("verification_token")
	want(t, e.do(t, "GET", "/api/v1/verify-status/"+docShare.str("share_id"), "", nil), 200, "success", "")
	want(t, e.do(t, "GET", "/api/v1/profile/settings", "", nil, auth(tok)...), 200, "success", "")
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", ""), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/profile/settings", "token", tok, "public_url", ""), 200, "success", "")
	// The SD-JWT VC issuer metadata answers for a profile's public URL host.
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", e.srv.URL), 200, "success", "")
	if r := e.do(t, "GET", "/.well-known/jwt-vc-issuer", "", nil); r.Code != 200 {
		t.Fatalf("jwt-vc-issuer: %d %s", r.Code, r.Raw)
	}
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", ""), 200, "success", "")
	if r := e.do(t, "GET", "/api/v1/verify", "", nil, "Accept", "text/html"); r.Code != 200 {
		t.Fatalf("verify page: %d", r.Code)
	}
	want(t, e.form(t, "GET", "/api/v1/profile/get-share", "token", tok, "service_id", "svc-doc", "verification_token", vt), 200, "success", "")
	want(t, e.verify(t, vt), 200, "success", "")
	if r := e.do(t, "GET", "/api/v1/profile/qr?kind=share&id="+url.QueryEscape(vt), "", nil, auth(tok)...); r.Code != 200 {
		t.Fatalf("qr: %d %s", r.Code, r.Raw)
	}
	e.ring(t, tok, "public", []string{"city"})
	want(t, e.do(t, "GET", "/api/v1/profile/rings", "", nil, auth(tok)...), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/profile/services", "token", tok, "service_id", "svc-doc", "webhook_url", "https://svc.example/hook"), 201, "success", "")
	want(t, e.do(t, "GET", "/api/v1/profile/access", "", nil, auth(tok)...), 200, "success", "")
	revoked := e.share(t, tok, "svc-other", "city").str("verification_token")
	want(t, e.form(t, "POST", "/api/v1/profile/revoke-access", "token", tok, "service_id", "svc-other"), 200, "success", "")
	want(t, e.verify(t, revoked), 410, "verification_token has been revoked!", "")
	want(t, e.form(t, "POST", "/api/v1/profile/share-create", "token", tok, "service_id", "svc-age", "info_field", "age"), 422, "no confirmed date of birth!", "")
	for i := 0; ; i++ { // /users/challenge is limited per client address
		if r := e.form(t, "POST", "/api/v1/users/challenge", "email", "documented@example.org"); r.Code == http.StatusTooManyRequests {
			break
		} else if r.Code != 200 || i > 100 {
			t.Fatalf("challenge %d: %d %s", i, r.Code, r.Raw)
		}
	}
	want(t, e.form(t, "DELETE", "/api/v1/profile/revoke-access", "token", tok, "service_id", "svc-gone"), 200, "success", "")
	pub := e.form(t, "POST", "/api/v1/profile/public", "token", tok, "public_info", "hello", "visibility", "true")
	want(t, pub, 200, "success", "")
	pubPath := e.pagePath(t, pub.str("public_profile_link"))
	want(t, e.do(t, "GET", pubPath, "", nil), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/profile/export", "token", tok), 200, "success", "")
	want(t, e.form(t, "GET", "/api/v1/profile/export", "token", tok), 200, "success", "")
	want(t, e.do(t, "GET", "/api/v1/profile/outbox", "", nil, auth(tok)...), 200, "success", "")

	// Third parties' requests.
	ask := func(field string) string {
		r := e.form(t, "POST", "/api/v1/requests", "service_id", "svc-ask", "info_field", field, "profile_id", profileID)
		want(t, r, 201, "success", "")
		return r.str("request_id")
	}
	rid := ask("city")
	ask("phone")
	want(t, e.do(t, "GET", "/api/v1/requests/"+rid, "", nil), 200, "success", "")
	list := e.do(t, "GET", "/api/v1/profile/requests", "", nil, auth(tok)...)
	want(t, list, 200, "success", "")
	reqIDs := map[string]string{}
	for _, x := range list.Body["requests"].([]any) {
		m := x.(map[string]any)
		reqIDs[m["info_field"].(string)] = m["id"].(string)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/requests/"+reqIDs["city"]+"/approve", "token", tok), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/profile/requests/"+reqIDs["phone"]+"/deny", "token", tok), 200, "success", "")

	// Credentials.
	img := plainPNG(t, 64, 64)
	cred := e.upload(t, tok, "passport", img)
	want(t, cred, 201, "success", "")
	credID := cred.str("credential_id")
	if r := e.do(t, "GET", "/api/v1/profile/credentials/"+credID+"/image", "", nil, auth(tok)...); r.Code != 200 {
		t.Fatalf("image: %d", r.Code)
	}
	want(t, e.do(t, "GET", "/api/v1/profile/credentials", "", nil, auth(tok)...), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+credID+"/confirm", "token", tok), 200, "success", "")
	other := e.upload(t, tok, "passport", img).str("credential_id")
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+other+"/reject", "token", tok), 200, "success", "")

	// Emergency access: created (201), updated (200), granted, by API
	// and page, logged; turned off at the end.
	setup := func(code int) resp {
		r := e.json(t, "POST", emergencyPath, map[string]any{"emergency_info": "diabetic", "criteria": map[string]any{"responders": "any"}}, auth(tok)...)
		want(t, r, code, "success", "")
		return r
	}
	setup(201)
	page := e.pagePath(t, setup(200).str("emergency_url"))
	want(t, e.form(t, "POST", "/api/v1/profile/emergency-access/grant", "responder_id", "EMT-1", "reason", "collapsed", "email", "documented@example.org"), 200, "success", "")
	want(t, e.do(t, "GET", page, "", nil, jsonAccept...), 200, "success", "")
	want(t, e.do(t, "POST", page, "application/x-www-form-urlencoded", strings.NewReader("responder_id=EMT-1&reason=collapsed"), jsonAccept...), 200, "success", "")
	want(t, e.do(t, "GET", "/api/v1/profile/emergency-access/log", "", nil, auth(tok)...), 200, "success", "")

	// Health records (created 201, replaced 200), links, the doctor's page.
	rec1 := e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "peanuts")
	want(t, rec1, 201, "success", "")
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_id", rec1.str("record_id"), "record_type", "allergies", "record_data", "tree nuts"), 200, "success", "")
	rec2 := e.form(t, "POST", recordsPath, "token", tok, "record_type", "immunizations", "record_data", "MMR").str("record_id")
	want(t, e.form(t, "GET", recordsPath, "token", tok), 200, "success", "")
	want(t, e.form(t, "DELETE", recordsPath, "token", tok, "record_id", rec2), 200, "success", "")
	link := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "page", "doctor_email", "dr@example.org")
	want(t, link, 201, "success", "")
	linkPage := e.pagePath(t, link.str("access_link"))
	want(t, e.do(t, "GET", linkPage, "", nil, jsonAccept...), 200, "success", "")
	want(t, e.do(t, "POST", linkPage, "application/x-www-form-urlencoded", strings.NewReader(""), jsonAccept...), 200, "success", "")
	want(t, e.do(t, "GET", "/api/v1/profile/health-links", "", nil, auth(tok)...), 200, "success", "")
	shl := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "doctor_email", "dr@example.org", "passcode", "shl-pass")
	shlP := decodeSHLink(t, shl.str("shlink"))
	want(t, e.manifest(t, shlP, map[string]any{"recipient": "Dr. Doc", "passcode": "wrong"}), 401, "passcode is wrong!", "wrong_passcode")
	shlFiles := e.manifest(t, shlP, map[string]any{"recipient": "Dr. Doc", "passcode": "shl-pass", "embeddedLengthMax": 0})
	want(t, shlFiles, 200, "success", "")
	shlTicket := strings.TrimPrefix(e.pagePath(t, files(t, shlFiles)[0].Location), "/api/v1/shl-file/")
	if r := e.do(t, "GET", "/api/v1/shl-file/"+shlTicket, "", nil); r.Code != 200 {
		t.Fatalf("shl file: %d", r.Code)
	}

	// Devices: a code, a second device joins, is listed and removed.
	b := newEnv(t)
	recordAnswers(t, rec, b)
	withSync(t, b)
	code := e.form(t, "POST", "/api/v1/devices/pair-code", "token", tok)
	want(t, code, 201, "success", "")
	joined := b.form(t, "POST", "/api/v1/devices/join", "code", code.str("code"), "password", pw)
	want(t, joined, 201, "success", "")
	want(t, e.do(t, "GET", "/api/v1/devices", "", nil, auth(tok)...), 200, "success", "")
	want(t, e.form(t, "DELETE", "/api/v1/devices/"+joined.str("device_id"), "token", tok), 200, "success", "")

	// What the path parameters are, for the errors below.
	real := map[string]string{
		"credential_id": credID, "device_id": e.DB.DeviceID(), "token": strings.TrimPrefix(page, "/api/v1/emergency/"),
		"link_id": link.str("link_id"), "id": reqIDs["phone"], "request_id": rid,
		"public_token": strings.TrimPrefix(pubPath, "/api/v1/public/"), "verification_token": vt, "share_id": docShare.str("share_id"),
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	fill := func(path string, v func(name string) string) string {
		return param.ReplaceAllStringFunc(path, func(m string) string { return v(m[1 : len(m)-1]) })
	}
	routes := e.api.Routes()
	main := tok
	for _, rt := range routes {
		tok := main
		if rt.Path == "/api/v1/users/logout" {
			// Logging out is the route's success: a token of its own.
			tok = e.form(t, "POST", "/api/v1/users/login", "email", "documented@example.org", "password", pw).str("token")
		}
		path := fill(rt.Path, func(n string) string {
			if rt.Path == "/api/v1/health-link/{token}" {
				return strings.TrimPrefix(linkPage, "/api/v1/health-link/")
			}
			if rt.Path == "/api/v1/shl/{token}" {
				return strings.TrimPrefix(e.pagePath(t, shlP.URL), "/api/v1/shl/")
			}
			if rt.Path == "/api/v1/shl-file/{ticket}" {
				return shlTicket
			}
			return real[n]
		})
		for _, m := range rt.Methods {
			body := m != http.MethodGet
			if rt.Doc.Auth {
				e.do(t, m, path, "", nil) // no token
				e.do(t, m, path, "", nil, "Authorization", "Bearer not-a-token")
			}
			e.withHost(t, m, path, "evil.example", nil, auth(tok)...)
			if body {
				e.do(t, m, path, "application/json", strings.NewReader(`{}`), append(auth(tok), "Origin", "https://evil.example")...)
				e.do(t, m, path, "application/json", strings.NewReader(`{"a":`), auth(tok)...)
				e.do(t, m, path, "text/plain", strings.NewReader(`a`), auth(tok)...)
				e.do(t, m, path, "application/json", bytes.NewReader(append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), 1<<20)...)), auth(tok)...)
				e.do(t, m, path, "application/json", strings.NewReader(`{"x":`+nested(65)+`}`), auth(tok)...)
			} else {
				e.do(t, m, path+"?x="+url.QueryEscape(nested(65)), "", nil, auth(tok)...)
			}
			if param.MatchString(rt.Path) {
				e.do(t, m, fill(rt.Path, func(string) string { return "nope" }), "", nil, auth(tok)...)
			}
			if rt.Doc.Page != "" { // a browser: the page, or an error page
				e.do(t, m, path, "", nil, "Accept", "text/html")
				e.do(t, m, fill(rt.Path, func(string) string { return "nope" }), "", nil, "Accept", "text/html")
			}
			// Odd values for every documented parameter, all at once.
			for _, v := range []any{"", "x", 0, -1, true, []any{}, map[string]any{}, "nope", strings.Repeat("z", 5000)} {
				obj := map[string]any{}
				for _, n := range rt.Doc.Params {
					obj[strings.TrimSuffix(n, "!")] = v
				}
				if body {
					b, _ := json.Marshal(obj)
					e.do(t, m, path, "application/json", bytes.NewReader(b), auth(tok)...)
					continue
				}
				q := url.Values{}
				for k := range obj {
					s, _ := json.Marshal(v)
					q.Set(k, strings.Trim(string(s), `"`))
				}
				e.do(t, m, path+"?"+q.Encode(), "", nil, auth(tok)...)
			}
		}
		// A method it does not answer.
		e.do(t, "PATCH", path, "", nil, auth(tok)...)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/health-links/"+link.str("link_id")+"/revoke", "token", tok), 200, "success", "")
	want(t, e.form(t, "DELETE", emergencyPath, "token", tok), 200, "success", "")

	var doc map[string]any
	if err := json.Unmarshal(e.do(t, "GET", "/api/v1/openapi.json", "", nil).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	return rec, routes, doc
}

// TestEveryAnswerIsDocumented: every status any request of the drive
// (driveEveryRoute) answered must be one the OpenAPI document lists for
// that path and method.
func TestEveryAnswerIsDocumented(t *testing.T) {
	rec, routes, raw := driveEveryRoute(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	methods := map[string][]string{}
	for _, rt := range routes {
		methods[rt.Path] = rt.Methods
	}
	statuses := map[int]bool{}
	for a, example := range rec.seen {
		statuses[a.status] = true
		if !slices.Contains(methods[a.pattern], a.method) {
			if a.status != http.StatusMethodNotAllowed && a.status != http.StatusMisdirectedRequest {
				t.Errorf("%s %s (%s): %d to a method it does not answer", a.method, a.pattern, example, a.status)
			}
			continue
		}
		op, ok := doc.Paths[strings.TrimPrefix(a.pattern, "/api/v1")][strings.ToLower(a.method)]
		if !ok {
			t.Errorf("%s %s is not in the document", a.method, a.pattern)
			continue
		}
		if _, ok := op.Responses[strconv.Itoa(a.status)]; !ok {
			var listed []string
			for s := range op.Responses {
				listed = append(listed, s)
			}
			slices.Sort(listed)
			t.Errorf("%s %s answered %d (e.g. %s); the document lists %v", a.method, a.pattern, a.status, example, listed)
		}
	}
	for _, rt := range routes {
		for _, m := range rt.Methods {
			if !rec.ok[[2]string{rt.Path, m}] {
				t.Errorf("%s %s was never driven to success", m, rt.Path)
			}
		}
	}
	// The errors meant to be met were met (the drive is not vacuous).
	for _, s := range []int{400, 401, 403, 404, 405, 409, 410, 413, 415, 421, 422, 429} {
		if !statuses[s] {
			t.Errorf("no route answered %d", s)
		}
	}
}

// TestDocumentedSuccessIsPerMethod pins what the document once got wrong:
// a route's methods each list their own success (GET and DELETE of
// health records and DELETE of emergency access answer 200, not the
// POST's 201), and /users/challenge lists its 429.
func TestDocumentedSuccessIsPerMethod(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.do(t, "GET", "/api/v1/openapi.json", "", nil).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, method string
		has, hasNot  []string
	}{
		{"/profile/health-records", "get", []string{"200"}, []string{"201"}},
		{"/profile/health-records", "delete", []string{"200"}, []string{"201"}},
		{"/profile/health-records", "post", []string{"201", "200"}, nil},
		{"/profile/emergency-access", "delete", []string{"200"}, []string{"201"}},
		{"/profile/emergency-access", "post", []string{"201", "200"}, nil},
		{"/users/challenge", "post", []string{"200", "429"}, nil},
		{"/profile", "get", []string{"200", "400", "401", "405", "421"}, []string{"403", "413", "415"}},
		{"/profile/update-info", "put", []string{"200", "400", "401", "403", "413", "415"}, nil},
	} {
		op := doc.Paths[c.path][c.method].Responses
		for _, s := range c.has {
			if op[s] == nil {
				t.Errorf("%s %s does not list %s", c.method, c.path, s)
			}
		}
		for _, s := range c.hasNot {
			if op[s] != nil {
				t.Errorf("%s %s lists %s", c.method, c.path, s)
			}
		}
	}
}
