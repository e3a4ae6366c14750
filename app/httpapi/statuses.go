package httpapi

import (
	"net/http"
	"slices"
)

// The statuses a route answers come from its Doc, and only from there: the
// OpenAPI document lists them (openapi.go), and the route's wrapper
// (route.go) holds every answer to them. A handler's success status
// that its route does not declare for the method is a bug the wrapper
// answers with a 500 (and logs), never a status the document does not
// list; any other undeclared answer is logged as such.

// Successes lists the statuses a success of method answers, the usual one
// first: SuccessBy's for the method, else Success (200 when zero).
func (d Doc) Successes(method string) []int {
	if s, ok := d.SuccessBy[method]; ok && len(s) > 0 {
		return s
	}
	if d.Success == 0 {
		return []int{http.StatusOK}
	}
	return []int{d.Success}
}

// ErrorStatuses lists, sorted, the error statuses method may answer: the
// route's declared Errors and those every operation of its kind may meet.
// Every request meets the Host check (421), the method check (405) and
// the parameters' (400: malformed, or JSON nested too deeply, also in the
// query string); one with a body the Origin check (403) and the body's
// size (413) and media type (415); one that takes a token the token check
// (401). Any may find no room to write (507: most write something, a rate
// count or a log entry, on the way).
func (d Doc) ErrorStatuses(method string) []int {
	out := append([]int(nil), d.Errors...)
	out = append(out, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusMisdirectedRequest, http.StatusInsufficientStorage)
	if method != http.MethodGet && method != http.MethodHead {
		out = append(out, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if d.Auth {
		out = append(out, http.StatusUnauthorized)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// declares reports whether method of the route may answer status.
func (d Doc) declares(method string, status int) bool {
	return slices.Contains(d.Successes(method), status) || slices.Contains(d.ErrorStatuses(method), status)
}

// statusWriter remembers the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkDeclared logs an answer the route does not declare: the OpenAPI
// document would be wrong about it.
func (s *Server) checkDeclared(r *http.Request, doc Doc, w *statusWriter) {
	if w.status != 0 && !doc.declares(r.Method, w.status) {
		s.log.Error("answer not declared by its route (the OpenAPI document does not list it)",
			"method", r.Method, "path", routePath(r), "status", w.status)
	}
}
