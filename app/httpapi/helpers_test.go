package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// env is a real store in a temp dir, the app over it, and a started
// httptest server over the API.
type env struct {
	*storetest.Env
	srv *httptest.Server
	api *httpapi.Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{Env: storetest.New(t, app.Config{})}
	e.api = httpapi.New(e.App, nil)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	return e
}

// resp is a decoded JSON response.
type resp struct {
	Code   int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (r resp) str(k string) string { s, _ := r.Body[k].(string); return s }

func (e *env) do(t testing.TB, method, path, contentType string, body io.Reader, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Code: res.StatusCode, Header: res.Header, Raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
		_, isDoc := r.Body["openapi"] // the OpenAPI document is the one exception
		if _, ok := r.Body["status"]; !ok && !isDoc {
			t.Fatalf("%s %s: no status member in %s", method, path, raw)
		}
		if r.Code >= 400 {
			if r.str("code") == "" {
				t.Fatalf("%s %s: error without code: %s", method, path, raw)
			}
		}
	}
	return r
}

// form sends url-encoded parameters.
func (e *env) form(t testing.TB, method, path string, kv ...string) resp {
	t.Helper()
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	if method == http.MethodGet {
		return e.do(t, method, path+"?"+v.Encode(), "", nil)
	}
	return e.do(t, method, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

// json sends a JSON object.
func (e *env) json(t testing.TB, method, path string, obj map[string]any, hdr ...string) resp {
	t.Helper()
	if obj == nil {
		obj = map[string]any{}
	}
	b, _ := json.Marshal(obj)
	return e.do(t, method, path, "application/json", bytes.NewReader(b), hdr...)
}

// multipart sends a multipart form.
func (e *env) multipart(t testing.TB, method, path string, kv ...string) resp {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		w.WriteField(kv[i], kv[i+1])
	}
	w.Close()
	return e.do(t, method, path, w.FormDataContentType(), &buf)
}

func want(t testing.TB, r resp, code int, status, errCode string) {
	t.Helper()
	if r.Code != code || r.str("status") != status || (errCode != "" && r.str("code") != errCode) {
		t.Fatalf("got %d %s, want %d status=%q code=%q", r.Code, r.Raw, code, status, errCode)
	}
}

const pw = "correct horse battery"

// register makes a user and returns the response.
func (e *env) register(t testing.TB, email string, extra ...string) resp {
	t.Helper()
	r := e.form(t, "POST", "/api/v1/users/register", append([]string{"name", "Ada Lovelace", "email", email, "password", pw}, extra...)...)
	want(t, r, 201, "success", "")
	return r
}

// birthdayYearsAgo is the date of birth of someone who turns years old on
// now's (UTC) day: the same day years back, or 28 February for a 29
// February whose year back has none (AddDate would give 1 March, a day
// short of the age).
func birthdayYearsAgo(now time.Time, years int) string {
	y, m, d := now.UTC().Date()
	b := time.Date(y-years, m, d, 0, 0, 0, 0, time.UTC)
	if b.Month() != m {
		b = time.Date(y-years, m, 28, 0, 0, 0, 0, time.UTC)
	}
	return b.Format(app.DateLayout)
}
