package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/secure-personal-profile/spp/app"
)

// SMART Health Links (API.md Part 4 "Doctors: SMART Health Links with
// FHIR"): the manifest a link's URL answers, its location files, and our
// viewer page, which decrypts the files in the browser (WebCrypto
// AES-GCM; its one script allowed by its hash, nothing else runs, loads
// or is sent but the manifest request). The manifest and the files are
// for any client: no cookie is involved (the token is in the URL), so a
// cross-origin client is let through and told so (CORS).

//go:embed assets/shl.js
var shlJS string

var shlCSP = func() string {
	js := sha256.Sum256([]byte(shlJS))
	css := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(js[:]) +
		"'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(css[:]) +
		"'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

var shlPageBody = template.Must(template.New("shl").Parse(`<h2 id="label"></h2>
<p id="patient"></p>
<p id="status" class="muted" role="status">Reading the link…</p>
<form id="form" hidden>
<label for="recipient">Your name (shown to the patient)</label>
<input id="recipient" name="recipient" required autocomplete="name">
<span id="pc" hidden><label for="passcode">Passcode</label>
<input id="passcode" name="passcode" type="password" autocomplete="off"></span>
<button type="submit" id="open">Show the records</button>
</form>
<div id="records"></div>
<noscript><p class="error">This page decrypts the records with JavaScript, in your browser; the key never leaves it.</p></noscript>
<script>{{.}}</script>`))

func (s *Server) registerSHL() {
	manifest := api + "/shl/{token}"
	s.route(manifest, Doc{
		Summary: "A SMART Health Link's manifest (HL7 SMART Health Cards and Links IG 1.0): POST {recipient, passcode?, embeddedLengthMax?} → {files: [{contentType, embedded | location}]}, each file a compact JWE (dir, A256GCM) of a FHIR R4 Bundle. 404 when not active; a missing or wrong passcode 401 with remainingAttempts; dead after 10 wrong.",
		Params:  []string{"recipient!", "passcode", "embeddedLengthMax"},
		Errors:  []int{400, 401, 404},
	}, MaxBody, withCORS(answer(s.shlManifest, http.MethodPost)))
	s.route(api+"/shl-file/{ticket}", Doc{
		Summary: "A location file of a SMART Health Link's manifest answer: the compact JWE (application/jose), for an hour after the manifest request while the link is active; else 404.",
		Content: "application/jose", Errors: []int{404},
	}, MaxBody, raw(s.shlFile, http.MethodGet))
	// A web client of another origin asks first (CORS preflight).
	s.mux.HandleFunc("OPTIONS "+manifest, s.preflight)
	// The viewer page sits at the root of the public URL ({public_url}/shl,
	// as the access link names it), beside the API: a static page, outside
	// the route table and its OpenAPI document (docs/api.md describes it).
	s.mux.HandleFunc("GET /shl", func(w http.ResponseWriter, r *http.Request) {
		if err := s.shlPage(w, r); err != nil {
			s.writeError(w, r, "", err)
		}
	})
	// The manifest is a capability URL, not a cookie session: any
	// origin's client may ask it.
	s.guard.csrf.AddInsecureBypassPattern("POST " + manifest)
}

// withCORS is an operation that also tells a browser of any origin it
// may read the answer.
func withCORS(o op) op {
	serve := o.serve
	o.serve = func(w http.ResponseWriter, c *call) (int, any, *view, error) {
		cors(w)
		return serve(w, c)
	}
	return o
}

func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Cache-Control", "no-store")
}

func (s *Server) preflight(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	w.WriteHeader(http.StatusNoContent)
}

var errEmbeddedMax = app.E(app.KindInvalid, "invalid_parameter", "embeddedLengthMax must be a non-negative integer!")

// SHLManifestResponse is a manifest's answer.
type SHLManifestResponse struct {
	Status Success               `json:"status"`
	Files  []app.SHLManifestFile `json:"files"`
}

func (s *Server) shlManifest(c *call) (int, SHLManifestResponse, error) {
	req := app.SHLManifestRequest{
		Token: c.r.PathValue("token"), Recipient: c.p.String("recipient"), Passcode: c.p.String("passcode"),
		Client: clientIP(c.r), UserAgent: c.r.UserAgent(),
	}
	if raw := c.p.JSON("embeddedLengthMax"); raw != nil {
		var n int
		if json.Unmarshal(raw, &n) != nil || n < 0 {
			return 0, SHLManifestResponse{}, errEmbeddedMax
		}
		req.EmbeddedLengthMax = &n
	}
	files, err := s.app.SHLManifest(c.ctx(), req)
	if err != nil {
		return 0, SHLManifestResponse{}, err
	}
	return http.StatusOK, SHLManifestResponse{Files: files}, nil
}

func (s *Server) shlFile(w http.ResponseWriter, c *call) error {
	cors(w)
	jwe, err := s.app.SHLFile(c.ctx(), c.r.PathValue("ticket"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jose")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(jwe))
	return err
}

func (s *Server) shlPage(w http.ResponseWriter, r *http.Request) error {
	page, err := shlPageHTML()
	if err != nil {
		return app.Internal(err)
	}
	h := w.Header()
	body := page.plain
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body = page.gzip
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Vary", "Accept-Encoding")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Security-Policy", shlCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// shlPageHTML is the viewer page, as is and gzipped: the same bytes for
// every link (the link is in the URL's fragment, which never reaches the
// server), so it is rendered and compressed once, not at every request.
// Its templates and inputs are fixed: an error here is one for good.
var shlPageHTML = sync.OnceValues(func() (struct{ plain, gzip []byte }, error) {
	var page struct{ plain, gzip []byte }
	var inner, out, gz bytes.Buffer
	if err := shlPageBody.Execute(&inner, template.JS(shlJS)); err != nil {
		return page, err
	}
	if err := layout.Execute(&out, map[string]any{"Title": "Shared health records", "CSS": template.CSS(pageCSS), "Body": template.HTML(inner.String())}); err != nil {
		return page, err
	}
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(out.Bytes()); err != nil {
		return page, err
	}
	if err := zw.Close(); err != nil {
		return page, err
	}
	page.plain, page.gzip = out.Bytes(), gz.Bytes()
	return page, nil
})

// acceptsGzip reports whether Accept-Encoding values (RFC 9110 §12.5.3)
// take gzip: named (or as x-gzip) with a q above 0, or not named and
// covered by "*" with a q above 0. A q that does not parse counts as 0.
func acceptsGzip(values []string) bool {
	named, star := -1.0, -1.0 // -1: not listed
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					} else {
						q = 0
					}
				}
			}
			switch {
			case strings.EqualFold(name, "gzip") || strings.EqualFold(name, "x-gzip"):
				named = max(named, q)
			case name == "*":
				star = max(star, q)
			}
		}
	}
	if named >= 0 {
		return named > 0
	}
	return star > 0
}
