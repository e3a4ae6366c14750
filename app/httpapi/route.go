package httpapi

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

// The route table. Each route declares, in its Doc, what it takes (its
// parameters, whether it takes the user's token) and what it answers (its
// statuses, statuses.go; its typed bodies, types.go); its operations are
// the handlers of its methods. One wrapper (route) serves every route the
// same way: the method check, the parameters, the token check once for a
// route whose Doc says Auth, the handler, then the one response path
// (respond.go). A handler never reads the token nor writes an error.

// Route is one registered path and the methods it answers, with its
// documentation: the OpenAPI document is generated from the routes (and
// each operation's body type), so a route cannot be served undocumented.
type Route struct {
	Path    string // ServeMux pattern path, e.g. /api/v1/users/register
	Methods []string
	Doc     Doc
	ops     map[string]op // by method
}

// Doc documents a route for the OpenAPI document, and declares what it
// takes and answers: its handler's success status is held to Success (or
// SuccessBy), and the document lists exactly these (statuses.go).
type Doc struct {
	Summary   string
	Auth      bool             // takes the user's token: the caller is authenticated before the handler runs, which gets the principal
	Params    []string         // parameter names; a trailing "!" marks a required one
	Success   int              // HTTP status of success (200 when zero)
	SuccessBy map[string][]int // per method, where it differs from Success: the statuses of success, the usual one first
	Errors    []int            // HTTP statuses of the errors it can answer (those of every operation are added: ErrorStatuses)
	Page      string           // title of the HTML page the route shows a browser (Accept: text/html); its errors are HTML pages too
	Content   string           // media type of a success that is neither JSON nor a page (image/png, image/*)
}

// call is one request as its handler sees it: the HTTP request, its
// parameters whatever encoding carried them, and, on a route whose Doc
// says Auth, the caller its token names.
type call struct {
	r   *http.Request
	p   *params
	who *app.Principal // nil on a route that takes no token
}

func (c *call) ctx() context.Context { return c.r.Context() }

// html reports whether the client asks for an HTML page (wantsHTML).
func (c *call) html() bool { return wantsHTML(c.r) }

// op is what one or more methods of a route do.
type op struct {
	methods []string
	body    reflect.Type // the type of the JSON success; nil for a raw op
	serve   func(w http.ResponseWriter, c *call) (status int, body any, v *view, err error)
}

// view is the HTML page a page operation shows a browser on success.
type view struct {
	title string
	body  *template.Template // executed with data inside the common layout (html.go)
	data  any
}

// answer is a JSON operation: h's typed body is the success it answers,
// and the one the document describes.
func answer[R any](h func(*call) (int, R, error), methods ...string) op {
	return op{methods: methods, body: reflect.TypeFor[R](), serve: func(_ http.ResponseWriter, c *call) (int, any, *view, error) {
		status, body, err := h(c)
		return status, body, nil, err
	}}
}

// page is an operation that shows a browser (Accept: text/html) the
// HTML view h returns, every other client its typed JSON body. A view
// may be nil where a browser is not expected.
func page[R any](h func(*call) (int, R, *view, error), methods ...string) op {
	return op{methods: methods, body: reflect.TypeFor[R](), serve: func(_ http.ResponseWriter, c *call) (int, any, *view, error) {
		return h(c)
	}}
}

// raw is an operation whose success is no JSON (an image): h writes it
// itself; its errors go the one way all the same.
func raw(h func(http.ResponseWriter, *call) error, methods ...string) op {
	return op{methods: methods, serve: func(w http.ResponseWriter, c *call) (int, any, *view, error) {
		return 0, nil, nil, h(w, c)
	}}
}

// route registers path with its operations, in the order of their
// methods: the first names the legacy "<method> required" a wrong method
// gets. limit caps the request body.
func (s *Server) route(path string, doc Doc, limit int64, ops ...op) {
	rt := Route{Path: path, Doc: doc, ops: map[string]op{}}
	for _, o := range ops {
		for _, m := range o.methods {
			rt.Methods = append(rt.Methods, m)
			rt.ops[m] = o
		}
	}
	s.routes = append(s.routes, rt)
	allow := strings.Join(rt.Methods, ", ")
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		o, ok := rt.ops[r.Method]
		if !ok {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, "", errMethod(rt.Methods[0]))
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		defer s.checkDeclared(r, doc, sw)
		s.serve(sw, r, doc, limit, o)
	})
}

// serve runs one operation: the parameters, the token check, the handler
// and its answer.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, doc Doc, limit int64, o op) {
	c := &call{r: r}
	p, err := parseParams(r, limit)
	if err == nil {
		c.p = p
		if doc.Auth {
			c.who, err = s.app.Authenticate(r.Context(), bearer(r, p))
		}
	}
	var status int
	var body any
	var v *view
	if err == nil {
		status, body, v, err = o.serve(w, c)
	}
	if err == nil && o.body != nil && !slices.Contains(doc.Successes(r.Method), status) {
		err = app.Internal(fmt.Errorf("the handler answered %d; the route declares %v", status, doc.Successes(r.Method)))
	}
	switch {
	case err != nil:
		s.writeError(w, r, doc.Page, err)
	case o.body == nil: // raw: written by the handler
	case v != nil && wantsHTML(r):
		s.writePage(w, r, status, v.title, v.body, v.data)
	default:
		s.writeJSON(w, r, status, body)
	}
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
