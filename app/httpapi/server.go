// Package httpapi is the embedded HTTP listener: the API of API.md over the
// app's use cases. One place (writeError, respond.go) maps every error to
// the status string, code and HTTP status a client sees.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Body caps: uploads may be larger than everything else.
const (
	MaxBody   = 1 << 20
	MaxUpload = 16 << 20
)

// Server serves the API over an *app.App.
type Server struct {
	app    *app.App
	log    *slog.Logger
	mux    *http.ServeMux
	routes []Route
	guard  *guard // Host and Origin checks (origin.go)
}

// Route is one registered path and the methods it answers, with its
// documentation: the OpenAPI document is generated from the routes, so a
// route cannot be served undocumented.
type Route struct {
	Path    string // ServeMux pattern path, e.g. /api/v1/users/register
	Methods []string
	Doc     Doc
}

// Doc documents a route for the OpenAPI document, and declares what it
// answers: its handler's success status is held to Success (or SuccessBy),
// and the document lists exactly these (statuses.go).
type Doc struct {
	Summary   string
	Auth      bool             // takes the user's token
	Params    []string         // parameter names; a trailing "!" marks a required one
	Success   int              // HTTP status of success (200 when zero)
	SuccessBy map[string][]int // per method, where it differs from Success: the statuses of success, the usual one first
	Returns   []string         // members of a success response besides status
	Errors    []int            // HTTP statuses of the errors it can answer (those of every operation are added: ErrorStatuses)
	Content   string           // media type of a non-JSON success (text/html, image/png)
}

// New returns a Server over a.
func New(a *app.App, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{app: a, log: log, mux: http.NewServeMux(), guard: newGuard()}
	if err := s.AllowPublicURL(a.Config().PublicURL); err != nil {
		log.Warn("public URL not trusted by the Host and Origin checks", "err", err)
	}
	s.registerUsers()
	s.registerQR()
	s.registerCredentials()
	s.registerExport()
	s.registerEmergency()
	s.registerHealth()
	s.registerOutbox()
	s.registerShares()
	s.registerDevices()
	s.registerOpenAPI()
	return s
}

// Routes lists every registered route.
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// handlerFunc is an API handler: it returns the response object or an error.
type handlerFunc func(r *http.Request, p *params) (status int, body any, err error)

// handle registers an API route. The first method names the legacy
// "<method> required" message a wrong method gets.
func (s *Server) handle(path string, doc Doc, limit int64, h handlerFunc, methods ...string) {
	s.routes = append(s.routes, Route{Path: path, Methods: methods, Doc: doc})
	allow := strings.Join(methods, ", ")
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if !contains(methods, r.Method) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, "", errMethod(methods[0]))
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		defer s.checkDeclared(r, doc, sw)
		w = sw
		p, err := parseParams(r, limit)
		if err != nil {
			s.writeError(w, r, "", err)
			return
		}
		status, body, err := h(r, p)
		if err == nil && !slices.Contains(doc.Successes(r.Method), status) {
			err = app.Internal(fmt.Errorf("the handler answered %d; the route declares %v", status, doc.Successes(r.Method)))
		}
		if err != nil {
			s.writeError(w, r, "", err)
			return
		}
		writeJSON(w, status, body)
	})
}

// page registers a route answered by a plain http.Handler (HTML pages,
// PNGs), still with the method check.
func (s *Server) page(path string, doc Doc, h http.HandlerFunc, methods ...string) {
	s.routes = append(s.routes, Route{Path: path, Methods: methods, Doc: doc})
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if !contains(methods, r.Method) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			s.writeError(w, r, "", errMethod(methods[0]))
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		defer s.checkDeclared(r, doc, sw)
		w = sw
		// A page reads its body itself (parseParams); the query string,
		// which some never read, gets the depth check all the same.
		if err := (&params{form: r.URL.Query()}).checkDepth(); err != nil {
			s.writeError(w, r, "", err)
			return
		}
		h(w, r)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ServeHTTP serves the API: security headers, a recover that turns any panic
// into a plain 500, and the routes; an unknown path gets a JSON 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", routePath(r), "panic", v)
			s.writeError(w, r, "", errPanic)
		}
	}()
	if err := s.guard.refuse(r); err != nil {
		s.writeError(w, r, "", err)
		return
	}
	// ServeMux answers a path that is not clean (//, . or .. segments,
	// also spelt %2e) with a redirect and an HTML body: no route has such
	// a path, so it is a JSON 404 like any other unknown path.
	if _, pattern := s.mux.Handler(r); pattern == "" || !cleanPath(r.URL.Path) {
		s.writeError(w, r, "", errNotFound)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// cleanPath reports whether p (a request's decoded path, so %2e is a dot
// here) is absolute and has no empty, "." or ".." segment; a trailing
// slash is allowed (no route ends in one, so it is a 404 all the same).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// routePath is the request path with anything after /api/v1/verify/ and
// similar token-bearing segments cut, for logs that must not hold secrets.
func routePath(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return "(unmatched)"
}

// bearer returns the user's token from the Authorization header or the
// legacy token parameter.
func bearer(r *http.Request, p *params) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return p.String("token")
}

// auth checks the request's token.
func (s *Server) auth(r *http.Request, p *params) (*app.Principal, error) {
	return s.app.Authenticate(r.Context(), bearer(r, p))
}

// authPage reads a page route's parameters and checks its token; on
// failure it has written the error and returns ok false.
func (s *Server) authPage(w http.ResponseWriter, r *http.Request) (p *params, pr *app.Principal, ok bool) {
	p, err := parseParams(r, MaxBody)
	if err == nil {
		pr, err = s.auth(r, p)
	}
	if err != nil {
		s.writeError(w, r, "", err)
		return nil, nil, false
	}
	return p, pr, true
}

// clientIP is the remote address without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(shut)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}
