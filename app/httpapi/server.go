// Package httpapi is the embedded HTTP listener: the API of API.md over
// the app's use cases. Of ours it imports app, and app/qr for QR images;
// never the store, sync or the GUI.
//
// # Routes
//
// One table (route.go) declares every route: its parameters, whether it
// takes the user's token, the statuses it answers (statuses.go) and, by
// its handlers' types, the bodies of its successes (types.go). One
// wrapper serves them all: the method check, the parameters, the token
// checked once where the route says Auth (the handler gets the
// principal), the handler, the answer.
//
// # Answers
//
// One response path (respond.go). writeError is the one place an error
// becomes a response: app errors by their kind, the listener's own
// refusals (unknown path, wrong method, Host, Origin, panic), as JSON,
// or as an HTML page for a browser on a route that shows pages. The
// OpenAPI document (openapi.go) is generated from the table, its response
// schemas from the answer types (schema.go).
//
// # Files
//
// One file per thing served, named as the domain's: users.go (accounts
// and sessions), profile.go, updateinfo.go, rings.go, shares.go,
// requests.go, services.go (services and what they see), public.go,
// credentials.go, qr.go, export.go, emergency.go, health.go (records and
// links), outbox.go, devices.go; origin.go holds the Host and Origin
// checks, params.go the parameters whatever their encoding, html.go and
// jsonhtml.go the pages' layout.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path"
	"sort"
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

// New returns a Server over a.
func New(a *app.App, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{app: a, log: log, mux: http.NewServeMux(), guard: newGuard()}
	if err := s.AllowPublicURL(a.Config().PublicURL); err != nil {
		log.Warn("public URL not trusted by the Host and Origin checks", "err", err)
	}
	s.route(api+"/healthz", Doc{
		Summary: "Liveness check. With nonce and profile (a did:key), a node that serves that profile signs the nonce with the profile's key (proof), so a device can tell its home node answers at the public URL.",
		Params:  []string{"nonce", "profile"},
	}, MaxBody, answer(s.healthz, http.MethodGet))
	s.registerUsers()
	s.registerProfile()
	s.registerUpdateInfo()
	s.registerRings()
	s.registerShares()
	s.registerSDJWT()
	s.registerRequests()
	s.registerServices()
	s.registerPublic()
	s.registerSettings()
	s.registerVerifyPage()
	s.registerCredentials()
	s.registerQR()
	s.registerExport()
	s.registerEmergency()
	s.registerHealth()
	s.registerOutbox()
	s.registerDevices()
	s.registerOpenAPI()
	return s
}

// api is the base path of every route.
const api = "/api/v1"

func (s *Server) healthz(c *call) (int, HealthResponse, error) {
	proof, err := s.app.HostProof(c.ctx(), c.p.String("profile"), c.p.String("nonce"))
	if err != nil {
		return 0, HealthResponse{}, err
	}
	return http.StatusOK, HealthResponse{Proof: proof}, nil
}

// Routes lists every registered route.
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
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
	if err := s.guard.refuse(r); errors.Is(err, errUnknownHost) && s.learnPublicURLs(r.Context()) {
		err = s.guard.refuse(r) // a public URL set since (on another device, by sync)
		if err != nil {
			s.writeError(w, r, "", err)
			return
		}
	} else if err != nil {
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
