package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"

	"github.com/secure-personal-profile/spp/app"
)

// The offline verification page and a share's live status (API.md Part 4
// "Share codes that need no connection to the user"). The page verifies
// the code in its fragment in the browser (WebCrypto Ed25519); its one
// script is allowed by its hash and nothing else runs, loads or is sent.

//go:embed assets/verify.js
var verifyJS string

var verifyCSP = func() string {
	js := sha256.Sum256([]byte(verifyJS))
	css := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(js[:]) +
		"'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(css[:]) +
		"'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

var verifyPageBody = template.Must(template.New("verify").Parse(`<p id="result" class="muted">Checking the code in this link…</p>
<dl id="claims"></dl>
<p id="live" class="muted"></p>
<noscript><p class="error">This page checks the code with JavaScript, in your browser; nothing is sent anywhere.</p></noscript>
<script>{{.}}</script>`))

func (s *Server) registerVerifyPage() {
	s.route(api+"/verify", Doc{
		Summary: "The offline verification page: verifies the share code in the URL's fragment (a compact JWS) in the browser, and checks live status where the issuer's node answers.",
		Content: "text/html",
	}, MaxBody, raw(s.verifyPage, http.MethodGet))
	s.route(api+"/verify-status/{share_id}", Doc{
		Summary: "A share's live state (active, revoked, expired), as its credential's credentialStatus names it; nothing else about the share.",
		Errors:  []int{404},
	}, MaxBody, answer(s.shareStatus, http.MethodGet))
}

func (s *Server) verifyPage(w http.ResponseWriter, c *call) error {
	var inner, out bytes.Buffer
	if err := verifyPageBody.Execute(&inner, template.JS(verifyJS)); err != nil {
		return app.Internal(err)
	}
	if err := layout.Execute(&out, map[string]any{"Title": "Verify a share code", "CSS": template.CSS(pageCSS), "Body": template.HTML(inner.String())}); err != nil {
		return app.Internal(err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", verifyCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(out.Bytes())
	return err
}

func (s *Server) shareStatus(c *call) (int, ShareStateResponse, error) {
	state, err := s.app.ShareState(c.ctx(), c.r.PathValue("share_id"))
	if err != nil {
		return 0, ShareStateResponse{}, err
	}
	return http.StatusOK, ShareStateResponse{State: state}, nil
}
