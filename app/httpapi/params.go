package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

// params are a request's parameters, whatever encoding carried them:
// url-encoded form, multipart form, a JSON object, or the query string.
type params struct {
	values map[string]json.RawMessage // JSON bodies: raw member values
	form   url.Values                 // forms and the query string
	files  map[string][]*multipart.FileHeader
}

var (
	errMalformed   = app.E(app.KindInvalid, "malformed_body", "request body is malformed!")
	errTooLarge    = app.E(app.KindTooLarge, "body_too_large", "request body is too large!")
	errUnsupported = app.E(app.KindUnsupported, "unsupported_media_type", "request body must be form, multipart or JSON!")
	errTooDeepBody = app.TooDeep("a parameter")
)

// parseParams reads r's parameters. GET reads the query string; other
// methods read the body (any of the three encodings), falling back to the
// query string for names the body does not carry. Every parameter that
// is (or, in a form, reads as) JSON is refused past app.MaxJSONDepth.
func parseParams(r *http.Request, limit int64) (*params, error) {
	p, err := readParams(r, limit)
	if err != nil {
		return nil, err
	}
	if err := p.checkDepth(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkDepth is the one depth check of the API's parameters: each member
// of a JSON body, and each form or query value that starts as JSON
// structure does (what JSON would read as an array or object), may nest
// at most app.MaxJSONDepth levels. The scan is a counter, safe for any
// input.
func (p *params) checkDepth() error {
	for _, name := range sortedNames(p.values) {
		if app.JSONDepth(p.values[name], app.MaxJSONDepth) > app.MaxJSONDepth {
			return app.TooDeep(name)
		}
	}
	for _, name := range sortedNames(p.form) {
		for _, v := range p.form[name] {
			if t := strings.TrimLeft(v, " \t\r\n"); t != "" && (t[0] == '[' || t[0] == '{') &&
				app.JSONDepth([]byte(t), app.MaxJSONDepth) > app.MaxJSONDepth {
				return app.TooDeep(name)
			}
		}
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readParams(r *http.Request, limit int64) (*params, error) {
	p := &params{form: r.URL.Query()}
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil || r.Body == http.NoBody {
		return p, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, limit)
	ct := r.Header.Get("Content-Type")
	mt, mp, err := mime.ParseMediaType(ct)
	if ct == "" {
		mt, err = "", nil
	}
	if err != nil {
		return nil, errUnsupported
	}
	switch mt {
	case "application/json", "":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, bodyErr(err)
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return p, nil
		}
		if mt == "" {
			// No type given: accept a JSON object or a form, by its look.
			if t := bytes.TrimSpace(body); t[0] != '{' {
				return p.addForm(string(body))
			}
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
			if app.JSONDepth(body, app.MaxJSONDepth+1) > app.MaxJSONDepth+1 {
				// Too deep for encoding/json (10,000 levels): a
				// parameter nested past the cap all the same.
				return nil, errTooDeepBody
			}
			return nil, errMalformed
		}
		p.values = obj
	case "application/x-www-form-urlencoded":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, bodyErr(err)
		}
		return p.addForm(string(body))
	case "multipart/form-data":
		if mp["boundary"] == "" {
			return nil, errMalformed
		}
		mr := multipart.NewReader(r.Body, mp["boundary"])
		f, err := mr.ReadForm(limit)
		if err != nil {
			return nil, bodyErr(err)
		}
		// Parts spilled to disk (none while the cap equals the memory
		// limit) go when the request ends.
		if ctx := r.Context(); ctx != nil {
			context.AfterFunc(ctx, func() { f.RemoveAll() })
		}
		for k, v := range f.Value {
			p.form[k] = append(v, p.form[k]...)
		}
		p.files = f.File
	default:
		return nil, errUnsupported
	}
	return p, nil
}

func (p *params) addForm(body string) (*params, error) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, errMalformed
	}
	for k, vs := range v {
		p.form[k] = append(vs, p.form[k]...)
	}
	return p, nil
}

func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, multipart.ErrMessageTooLarge) {
		return errTooLarge
	}
	return errMalformed
}

// String returns a parameter as text: a JSON string as is, another JSON
// value as its JSON text, a form value as sent. Missing gives "".
func (p *params) String(name string) string {
	if raw, ok := p.values[name]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if t := strings.TrimSpace(string(raw)); t != "null" {
			return t
		}
		return ""
	}
	return p.form.Get(name)
}

// Has reports whether the parameter was sent with a non-empty value.
func (p *params) Has(name string) bool { return p.String(name) != "" || p.files[name] != nil }

// Sent reports whether the parameter was sent at all, empty or not (an
// empty value that clears a setting).
func (p *params) Sent(name string) bool {
	_, inJSON := p.values[name]
	_, inForm := p.form[name]
	return inJSON || inForm || p.files[name] != nil
}

// JSON returns a structured parameter as raw JSON: a JSON value as sent, or
// a form field's text when it parses as JSON, else the text as a JSON
// string. Missing gives nil.
func (p *params) JSON(name string) json.RawMessage {
	if raw, ok := p.values[name]; ok {
		// A JSON body carries structure as JSON values: a string member
		// stays a string ("911" is not the number 911).
		if string(raw) == "null" {
			return nil
		}
		return raw
	}
	s, ok := p.form[name]
	if !ok || len(s) == 0 || s[0] == "" {
		return nil
	}
	if json.Valid([]byte(s[0])) {
		return json.RawMessage(s[0])
	}
	b, _ := json.Marshal(s[0])
	return b
}

// Bytes returns a binary parameter: a multipart file part, or a base64
// string / data: URL in a form or JSON field. ok is false when missing;
// err when present but not decodable.
func (p *params) Bytes(name string, limit int64) (b []byte, ok bool, err error) {
	if fh := p.files[name]; len(fh) > 0 {
		f, err := fh[0].Open()
		if err != nil {
			return nil, true, errMalformed
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return nil, true, errMalformed
		}
		if int64(len(b)) > limit {
			return nil, true, errTooLarge
		}
		return b, true, nil
	}
	s := p.String(name)
	if s == "" {
		return nil, false, nil
	}
	if strings.HasPrefix(s, "data:") {
		meta, data, found := strings.Cut(s, ",")
		if !found || !strings.HasSuffix(meta, ";base64") {
			return nil, true, errMalformed
		}
		s = data
	}
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true, nil
		}
	}
	return []byte(s), true, nil
}
