package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// The one response path. Every answer the listener writes is written
// here: a success as JSON (writeJSON) or as an HTML page (writePage,
// html.go), and every error, whatever raised it (a use case, the
// parameters, the token check, the route's method, the Host and Origin
// checks, a panic), by writeError, which maps it to its status once and
// picks JSON or HTML.

// kindStatus maps each kind of app error to its HTTP status: the only
// table of it.
var kindStatus = map[app.Kind]int{
	app.KindInternal:      http.StatusInternalServerError,
	app.KindInvalid:       http.StatusBadRequest,
	app.KindUnauthorized:  http.StatusUnauthorized,
	app.KindForbidden:     http.StatusForbidden,
	app.KindNotFound:      http.StatusNotFound,
	app.KindConflict:      http.StatusConflict,
	app.KindGone:          http.StatusGone,
	app.KindTooLarge:      http.StatusRequestEntityTooLarge,
	app.KindUnsupported:   http.StatusUnsupportedMediaType,
	app.KindUnprocessable: http.StatusUnprocessableEntity,
	app.KindRateLimited:   http.StatusTooManyRequests,
	app.KindStorageFull:   http.StatusInsufficientStorage,
}

// HTTPStatus is the HTTP status for an error of kind k.
func HTTPStatus(k app.Kind) int { return kindStatus[k] }

// ErrorBody is every error's JSON answer: the human-readable status
// (legacy strings byte-exact) and a stable snake_case code.
type ErrorBody struct {
	Status string `json:"status" doc:"human-readable message (legacy strings are byte-exact)"`
	Code   string `json:"code" doc:"stable snake_case identifier"`
	// RemainingAttempts: a SMART Health Link manifest's 401 (wrong or
	// missing passcode), as the SHL protocol names it.
	RemainingAttempts *int `json:"remainingAttempts,omitempty" doc:"wrong passcodes left before the SMART Health Link dies (401 of a manifest)"`
}

// httpError is an error of the listener itself, met before any use case
// runs, with its own status: an unknown path, a wrong method, a refused
// Host or Origin, a panic.
type httpError struct {
	status int
	body   ErrorBody
}

func (e *httpError) Error() string { return e.body.Status }

var (
	errNotFound    = &httpError{http.StatusNotFound, ErrorBody{Status: "not found!", Code: "not_found"}}
	errUnknownHost = &httpError{http.StatusMisdirectedRequest, ErrorBody{Status: "unknown host!", Code: "unknown_host"}}
	errCrossSite   = &httpError{http.StatusForbidden, ErrorBody{Status: "cross-site request refused!", Code: "cross_site"}}
	errPanic       = &httpError{http.StatusInternalServerError, ErrorBody{Status: "internal error", Code: "internal"}}
)

// errMethod answers a method the route does not take: the legacy
// "<method> required" names the route's first method.
func errMethod(first string) *httpError {
	return &httpError{http.StatusMethodNotAllowed, ErrorBody{Status: strings.ToLower(first) + " required", Code: "method_not_allowed"}}
}

// pageError asks writeError, where it answers a browser with HTML, to
// show the message in the page's own body (a form again, with what was
// typed; a page that says what could not be shown) rather than on the
// plain error page. JSON clients get the usual error all the same.
type pageError struct {
	err   error
	title string             // "" for the route's
	body  *template.Template // executed with data(message)
	data  func(message string) any
}

func (e *pageError) Error() string { return e.err.Error() }
func (e *pageError) Unwrap() error { return e.err }

// errorData is the data of a page whose template shows .Error.
func errorData(msg string) any { return map[string]any{"Error": msg} }

var errorPageBody = template.Must(template.New("error").Parse(`<p class="error" role="alert" id="error">{{.}}</p>`))

// writeError is the one place an error becomes a response. An app error
// gets its kind's status, its message and code; internal errors are
// logged with their cause and answered "internal error" only; a rate
// limit sets Retry-After. page is the title of the HTML page the route
// shows a browser ("" for a route that answers only JSON): such a route
// answers a client that asks for HTML (wantsHTML) with an HTML page of
// the same status, every other client with the JSON ErrorBody.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, page string, err error) {
	var status int
	var body ErrorBody
	if he := (*httpError)(nil); errors.As(err, &he) {
		status, body = he.status, he.body
	} else {
		e := app.AsError(err)
		status, body = HTTPStatus(e.Kind), ErrorBody{Status: e.Message, Code: e.Code}
		if pe := (*app.SHLPasscodeError)(nil); errors.As(err, &pe) {
			body.RemainingAttempts = &pe.Remaining
		}
		switch e.Kind {
		case app.KindInternal:
			s.log.Error("internal error", "method", r.Method, "path", routePath(r), "err", e.Err)
		case app.KindStorageFull:
			s.log.Warn("storage is full", "method", r.Method, "path", routePath(r), "err", e.Err)
		case app.KindRateLimited:
			if e.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
			}
		}
	}
	if page == "" || !wantsHTML(r) {
		s.writeJSON(w, r, status, body)
		return
	}
	title, tmpl, data := page, errorPageBody, any(body.Status)
	if pe := (*pageError)(nil); errors.As(err, &pe) {
		tmpl, data = pe.body, pe.data(body.Status)
		if pe.title != "" {
			title = pe.title
		}
	}
	s.writePage(w, r, status, title, tmpl, data)
}

// writeJSON writes body as the JSON answer with status. A body that does
// not marshal is a bug, answered as an internal error.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, body any) {
	b, appended := appendAnswer(nil, body)
	var err error
	if !appended {
		b, err = json.Marshal(body)
	}
	if err != nil {
		s.writeError(w, r, "", app.Internal(fmt.Errorf("encoding the answer: %w", err))) // an ErrorBody always marshals
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Its length said, the answer goes out in one piece rather than in
	// chunks (an answer over 2 KiB, a credential's, would be chunked).
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
