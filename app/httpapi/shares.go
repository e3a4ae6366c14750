package httpapi

import (
	"html/template"
	"net/http"

	"github.com/secure-personal-profile/spp/app"
)

// registerShares registers sharing (use case 3): a share made, read back
// by the user, and verified by the third party it was made for.
func (s *Server) registerShares() {
	s.route(api+"/profile/share-create", Doc{
		Summary: "Share one value (age, age_over_NN or a profile field) with a service as a temporary verifiable credential: " +
			"a verification token, its verify URL and a compact JWS (EdDSA) carrying only that claim; " +
			"with format=dc+sd-jwt an SD-JWT VC instead, key-bound with a nonce.",
		Auth: true, Params: []string{"service_id!", "info_field!", "expires_in", "format", "nonce"}, Success: http.StatusCreated,
		Errors: []int{400, 401, 403, 422},
	}, MaxBody, answer(s.shareCreate, http.MethodPost))
	s.route(api+"/profile/get-share", Doc{
		Summary: "The value a share of the user's gives a service now.",
		Auth:    true, Params: []string{"service_id!", "verification_token!"},
		Errors: []int{400, 401, 403},
	}, MaxBody, answer(s.getShare, http.MethodGet))
	s.route(api+"/verify/{verification_token}", Doc{
		Summary: "A third party verifies a share (no token): the claim's current value and a freshly signed credential " +
			"with the issuer's did:key and public key (JWK); an HTML page for a browser (Accept: text/html).",
		Page: "Share verified", Errors: []int{403, 404, 410, 422},
	}, MaxBody, page(s.verify, http.MethodGet))
}

func (s *Server) shareCreate(c *call) (int, ShareResponse, error) {
	sr := app.ShareRequest{ServiceID: c.p.String("service_id"), InfoField: c.p.String("info_field"), Format: c.p.String("format"), Nonce: c.p.String("nonce")}
	if sr.ServiceID != "" && sr.InfoField != "" {
		var err error
		if sr.ExpiresIn, err = app.ParseExpiresIn(c.p.String("expires_in")); err != nil {
			return 0, ShareResponse{}, err
		}
	}
	sh, err := s.app.CreateShare(c.ctx(), c.who, sr)
	if err != nil {
		return 0, ShareResponse{}, err
	}
	return http.StatusCreated, shareResponse(sh), nil
}

func (s *Server) getShare(c *call) (int, SharedDataResponse, error) {
	data, err := s.app.GetShare(c.ctx(), c.who, c.p.String("service_id"), c.p.String("verification_token"))
	if err != nil {
		return 0, SharedDataResponse{}, err
	}
	return http.StatusOK, SharedDataResponse{UserData: data}, nil
}

var verifyPage = template.Must(template.New("verify").Parse(`{{if .Error}}<p class="error">{{.Error}}</p>
<p class="muted">This share cannot be verified.</p>{{else}}<p class="ok">Verified: signed by the profile's key, valid until {{.Expires}}.</p>
<dl>{{range .Claims}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}
<dt>Shared with</dt><dd>{{.Service}}</dd>
<dt>Issued</dt><dd>{{.Issued}}</dd>
<dt>Issuer</dt><dd><code>{{.Issuer}}</code></dd></dl>
<p class="muted">Only this value is disclosed. The signed credential is available to programs that ask for JSON.</p>{{end}}`))

func (s *Server) verify(c *call) (int, VerifyResponse, *view, error) {
	v, err := s.app.Verify(c.ctx(), c.r.PathValue("verification_token"))
	if err != nil {
		return 0, VerifyResponse{}, nil, &pageError{err: err, title: "Share not verified", body: verifyPage, data: errorData}
	}
	body := VerifyResponse{
		ServiceID: v.ServiceID, Claims: v.Claims, IssuedAt: ts(v.IssuedAt), ExpiresAt: ts(v.ExpiresAt),
		Credential: v.Credential, Issuer: v.Issuer, IssuerKey: v.IssuerKey,
	}
	if !c.html() {
		return http.StatusOK, body, nil, nil
	}
	return http.StatusOK, body, &view{title: "Share verified", body: verifyPage, data: map[string]any{
		"Claims": claimRows(v.Claims), "Service": v.ServiceID, "Issued": ts(v.IssuedAt), "Expires": ts(v.ExpiresAt), "Issuer": v.Issuer,
	}}, nil
}
