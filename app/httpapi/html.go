package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

// pageCSS is the one stylesheet of every HTML page; the Content-Security-
// Policy allows exactly this inline style by its hash and nothing else
// (no scripts, no external resources).
const pageCSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:40rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}
dt{font-weight:600}dd{margin:0;word-break:break-word}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,textarea{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #8a939e;border-radius:4px}
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;background:#1f5fa8;color:#fff;border:0;border-radius:4px}
.error{color:#a11;font-weight:600}.ok{color:#175c2b;font-weight:600}.muted{color:#555;font-size:.9rem}
:focus{outline:3px solid #f0a500;outline-offset:2px}`

var pageCSP = func() string {
	h := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) +
		"'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

var layout = template.Must(template.New("layout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · Secure Personal Profile</title>
<style>{{.CSS}}</style>
</head><body><main>
<h1>{{.Title}}</h1>
{{.Body}}
</main></body></html>
`))

// writePage renders body (a template executed with data) inside the common
// layout, with a strict CSP and noindex.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, status int, title string, body *template.Template, data any) {
	var inner bytes.Buffer
	if err := body.Execute(&inner, data); err != nil {
		s.writeError(w, r, "", app.Internal(fmt.Errorf("rendering page: %w", err)))
		return
	}
	var out bytes.Buffer
	err := layout.Execute(&out, map[string]any{
		"Title": title,
		"CSS":   template.CSS(pageCSS),
		"Body":  template.HTML(inner.String()),
	})
	if err != nil {
		s.writeError(w, r, "", app.Internal(fmt.Errorf("rendering page: %w", err)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(out.Bytes())
}

// wantsHTML reports whether the client prefers an HTML page to JSON: a
// browser's Accept lists text/html before (or without) application/json.
func wantsHTML(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	h := strings.Index(acc, "text/html")
	j := strings.Index(acc, "application/json")
	return h >= 0 && (j < 0 || h < j)
}
