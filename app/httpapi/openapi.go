package httpapi

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI returns the OpenAPI 3.1 document of every registered route,
// generated from the same table the server routes by.
func (s *Server) OpenAPI() map[string]any {
	g := newSchemas()
	errorContent := map[string]any{"application/json": map[string]any{"schema": g.of(reflect.TypeFor[ErrorBody]())}}
	paths := map[string]any{}
	for _, r := range s.Routes() {
		p := strings.TrimPrefix(r.Path, api)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		for _, m := range r.Methods {
			op := map[string]any{
				"summary":     r.Doc.Summary,
				"operationId": strings.ToLower(m) + opName(p),
			}
			if !strings.HasPrefix(r.Path, api+"/") {
				// A well-known path: at the root of the public URL.
				op["servers"] = []any{map[string]any{"url": strings.TrimRight(s.app.Config().PublicURL, "/")}}
			}
			var params []any
			for _, name := range pathParamRE.FindAllStringSubmatch(p, -1) {
				params = append(params, map[string]any{"name": name[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			props := map[string]any{}
			var required []string
			names := r.Doc.Params
			if r.Doc.Auth {
				names = append([]string{"token"}, names...)
			}
			for _, n := range names {
				name, req := strings.CutSuffix(n, "!")
				props[name] = map[string]any{}
				if req {
					required = append(required, name)
				}
				if m == http.MethodGet {
					params = append(params, map[string]any{"name": name, "in": "query", "required": req, "schema": map[string]any{"type": "string"}})
				}
			}
			if len(params) > 0 {
				op["parameters"] = params
			}
			if m != http.MethodGet && len(props) > 0 {
				schema := map[string]any{"type": "object", "properties": props}
				if len(required) > 0 {
					schema["required"] = required
				}
				op["requestBody"] = map[string]any{"content": map[string]any{
					"application/json":                  map[string]any{"schema": schema},
					"application/x-www-form-urlencoded": map[string]any{"schema": schema},
					"multipart/form-data":               map[string]any{"schema": schema},
				}}
			}
			if r.Doc.Auth {
				op["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"tokenParam": []any{}}}
			}
			// The statuses the route declares, and holds its answers to
			// (statuses.go); a success's schema is its operation's body
			// type's (schema.go).
			responses := map[string]any{}
			content := successContent(g, r.Doc, r.ops[m])
			for _, code := range r.Doc.Successes(m) {
				responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code), "content": content}
			}
			errors := errorContent
			if r.Doc.Page != "" { // a browser gets an HTML page of the same status
				errors = map[string]any{"application/json": errorContent["application/json"], "text/html": map[string]any{}}
			}
			for _, code := range r.Doc.ErrorStatuses(m) {
				responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code), "content": errors}
			}
			op["responses"] = responses
			item[strings.ToLower(m)] = op
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Secure Personal Profile API",
			"version":     "1.0.0",
			"description": "Byte-compatible with the original Personal-Profile service's documented API, plus what a real system needs. Every response is a JSON object with a status member; errors add a stable code.",
		},
		"servers": []any{map[string]any{"url": strings.TrimRight(s.app.Config().PublicURL, "/") + api}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":     map[string]any{"type": "http", "scheme": "bearer"},
				"tokenParam": map[string]any{"type": "apiKey", "in": "query", "name": "token"},
			},
			"schemas": g.defs,
		},
	}
}

// successContent is what a success of o answers: its JSON body, the page
// a browser gets besides, or the raw media type of the route.
func successContent(g *schemas, d Doc, o op) map[string]any {
	if o.body == nil {
		return map[string]any{d.Content: map[string]any{}}
	}
	content := map[string]any{"application/json": map[string]any{"schema": g.of(o.body)}}
	if d.Page != "" {
		content["text/html"] = map[string]any{}
	}
	return content
}

// opName turns /users/register into UsersRegister for an operationId.
func opName(p string) string {
	var b strings.Builder
	up := true
	for _, r := range p {
		switch {
		case r == '/' || r == '-' || r == '_' || r == '{' || r == '}' || r == '.':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *Server) registerOpenAPI() {
	s.route(api+"/openapi.json", Doc{Summary: "This OpenAPI 3.1 document."}, MaxBody,
		answer(func(*call) (int, map[string]any, error) { return http.StatusOK, s.OpenAPI(), nil }, http.MethodGet))
}
