package httpapi

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// registerShares registers sharing (use case 3), privilege rings (6),
// update once (7), revocation (8), third-party requests, webhooks and the
// public profile.
func (s *Server) registerShares() {
	s.handle(api+"/profile/share-create", Doc{
		Summary: "Share one value (age, age_over_NN or a profile field) with a service as a temporary verifiable credential: " +
			"a verification token, its verify URL and a compact JWS (EdDSA) carrying only that claim.",
		Auth: true, Params: []string{"service_id!", "info_field!", "expires_in"}, Success: http.StatusCreated,
		Returns: []string{"verification_token", "expires_at", "verify_url", "credential", "share_id"},
		Errors:  []int{400, 401, 403, 422},
	}, MaxBody, s.shareCreate, http.MethodPost)
	s.handle(api+"/profile/get-share", Doc{
		Summary: "The value a share of the user's gives a service now.",
		Auth:    true, Params: []string{"service_id!", "verification_token!"}, Returns: []string{"user_data"},
		Errors: []int{400, 401, 403},
	}, MaxBody, s.getShare, http.MethodGet)
	s.page(api+"/verify/{verification_token}", Doc{
		Summary: "A third party verifies a share (no token): the claim's current value and a freshly signed credential " +
			"with the issuer's did:key and public key (JWK); an HTML page for a browser (Accept: text/html).",
		Returns: []string{"service_id", "claims", "issued_at", "expires_at", "credential", "issuer", "issuer_key"},
		Errors:  []int{403, 404, 410, 422},
	}, s.verify, http.MethodGet)

	s.handle(api+"/requests", Doc{
		Summary: "A third party asks a user (by profile_id, or by handle) for one value; the user approves or denies it in the app. " +
			"Returns the request_id to poll with. Handles repeat: one held by several profiles answers 409 ambiguous_handle.",
		Params: []string{"service_id!", "info_field!", "handle", "profile_id"}, Success: http.StatusCreated,
		Returns: []string{"request_id", "expires_at", "poll_url"}, Errors: []int{400, 404, 409, 429},
	}, MaxBody, s.newRequest, http.MethodPost)
	s.handle(api+"/requests/{request_id}", Doc{
		Summary: "The third party polls its request: pending, approved (with the verification token), denied or expired.",
		Returns: []string{"request_status", "service_id", "info_field", "created_at", "expires_at", "verification_token", "verify_url", "share_expires_at"},
		Errors:  []int{404},
	}, MaxBody, s.pollRequest, http.MethodGet)
	s.handle(api+"/profile/requests", Doc{
		Summary: "The user's requests from third parties, newest first.",
		Auth:    true, Returns: []string{"requests"}, Errors: []int{401},
	}, MaxBody, s.listRequests, http.MethodGet)
	s.handle(api+"/profile/requests/{id}/approve", Doc{
		Summary: "Approve a request: shares what it asks for (as share-create) and hands the verification token to the third party.",
		Auth:    true, Params: []string{"expires_in"},
		Returns: []string{"request_status", "verification_token", "expires_at", "verify_url", "credential", "share_id"},
		Errors:  []int{400, 401, 403, 404, 409, 410, 422},
	}, MaxBody, s.approveRequest, http.MethodPost)
	s.handle(api+"/profile/requests/{id}/deny", Doc{
		Summary: "Deny a request.",
		Auth:    true, Returns: []string{"request_status"}, Errors: []int{401, 404, 409, 410},
	}, MaxBody, s.denyRequest, http.MethodPost)

	s.handle(api+"/profile/privilege-rings", Doc{
		Summary: "Move fields (and services, as their role) into a ring: a built-in one (public, semi-private, private, " +
			"restricted) or a custom ring with a base access_level. Calling again with the same ring_name keeps its ring_id.",
		Auth: true, Params: []string{"ring_name!", "assigned_data!", "access_level", "services"}, Success: http.StatusCreated,
		Returns: []string{"ring_id"}, Errors: []int{400, 401},
	}, MaxBody, s.privilegeRings, http.MethodPost)
	s.handle(api+"/profile/rings", Doc{
		Summary: "The built-in and custom rings, each with its level, fields and services.",
		Auth:    true, Returns: []string{"rings"}, Errors: []int{401},
	}, MaxBody, s.listRings, http.MethodGet)
	s.handle(api+"/profile/update-info", Doc{
		Summary: "Update profile fields (updated_fields: field → value, null deletes). Every reference reads the new value " +
			"at once; services that see a changed field get a signed profile.updated webhook event.",
		Auth: true, Params: []string{"updated_fields!"}, Returns: []string{"updated", "notified"}, Errors: []int{400, 401},
	}, MaxBody, s.updateInfo, http.MethodPut, http.MethodPost)
	s.handle(api+"/profile/revoke-access", Doc{
		Summary: "Revoke everything a service was given: its shares answer 410 from now on, its role ends, its webhook gets access.revoked.",
		Auth:    true, Params: []string{"service_id!"}, Returns: []string{"revoked"}, Errors: []int{400, 401},
	}, MaxBody, s.revokeAccess, http.MethodDelete, http.MethodPost)
	s.handle(api+"/profile/access", Doc{
		Summary: "Each service the user deals with: what it can see now and since when, its shares, its role.",
		Auth:    true, Returns: []string{"services"}, Errors: []int{401},
	}, MaxBody, s.access, http.MethodGet)
	s.handle(api+"/profile/services", Doc{
		Summary: "Register a service's webhook; returns its webhook_secret once (a new one on each call). Events are signed " +
			"with X-Profile-Signature: sha256=<hex HMAC-SHA256(body, secret)>.",
		Auth: true, Params: []string{"service_id!", "webhook_url!", "name"}, Success: http.StatusCreated,
		Returns: []string{"service_id", "webhook_secret"}, Errors: []int{400, 401},
	}, MaxBody, s.registerService, http.MethodPost)
	s.handle(api+"/profile/public", Doc{
		Summary: "Set the public profile (public_info, visibility); returns its link. The page shows public_info and the public ring's fields while visible.",
		Auth:    true, Params: []string{"public_info!", "visibility!"}, Returns: []string{"public_profile_link"}, Errors: []int{400, 401},
	}, MaxBody, s.setPublic, http.MethodPost)
	s.page(api+"/public/{public_token}", Doc{
		Summary: "The public profile page (HTML for a browser, else JSON): public_info and the public ring's fields; 404 while not visible.",
		Returns: []string{"public_info", "fields"}, Errors: []int{404},
	}, s.publicPage, http.MethodGet)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) shareCreate(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	sr := app.ShareRequest{ServiceID: p.String("service_id"), InfoField: p.String("info_field")}
	if sr.ServiceID != "" && sr.InfoField != "" {
		if sr.ExpiresIn, err = app.ParseExpiresIn(p.String("expires_in")); err != nil {
			return 0, nil, err
		}
	}
	sh, err := s.app.CreateShare(r.Context(), pr, sr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, shareBody(sh), nil
}

func shareBody(sh *app.Share) map[string]any {
	return map[string]any{
		"status":             "success",
		"verification_token": sh.VerificationToken,
		"expires_at":         ts(sh.ExpiresAt),
		"verify_url":         sh.VerifyURL,
		"credential":         sh.Credential,
		"share_id":           sh.ShareID,
	}
}

func (s *Server) getShare(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.app.GetShare(r.Context(), pr, p.String("service_id"), p.String("verification_token"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "user_data": data}, nil
}

var verifyPage = template.Must(template.New("verify").Parse(`{{if .Error}}<p class="error">{{.Error}}</p>
<p class="muted">This share cannot be verified.</p>{{else}}<p class="ok">Verified: signed by the profile's key, valid until {{.Expires}}.</p>
<dl>{{range .Claims}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}
<dt>Shared with</dt><dd>{{.Service}}</dd>
<dt>Issued</dt><dd>{{.Issued}}</dd>
<dt>Issuer</dt><dd><code>{{.Issuer}}</code></dd></dl>
<p class="muted">Only this value is disclosed. The signed credential is available to programs that ask for JSON.</p>{{end}}`))

// errorData is the data of a page whose template shows .Error.
func errorData(msg string) any { return map[string]any{"Error": msg} }

type claimRow struct {
	Name  string
	Value template.HTML
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	v, err := s.app.Verify(r.Context(), r.PathValue("verification_token"))
	if err != nil {
		s.writeError(w, r, "Share verified", &pageError{err: err, title: "Share not verified", body: verifyPage, data: errorData})
		return
	}
	if wantsHTML(r) {
		var rows []claimRow
		for _, k := range sortedClaimNames(v.Claims) {
			rows = append(rows, claimRow{Name: strings.ReplaceAll(k, "_", " "), Value: valueHTML(v.Claims[k])})
		}
		s.writePage(w, r, http.StatusOK, "Share verified", verifyPage, map[string]any{
			"Claims": rows, "Service": v.ServiceID, "Issued": ts(v.IssuedAt), "Expires": ts(v.ExpiresAt), "Issuer": v.Issuer,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":     "success",
		"service_id": v.ServiceID,
		"claims":     v.Claims,
		"issued_at":  ts(v.IssuedAt),
		"expires_at": ts(v.ExpiresAt),
		"credential": v.Credential,
		"issuer":     v.Issuer,
		"issuer_key": v.IssuerKey,
	})
}

func sortedClaimNames(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Server) newRequest(r *http.Request, p *params) (int, any, error) {
	id, expires, err := s.app.NewRequest(r.Context(), clientIP(r), p.String("service_id"), p.String("info_field"), p.String("handle"), p.String("profile_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{
		"status": "success", "request_id": id, "expires_at": ts(expires),
		"poll_url": s.app.URL(api + "/requests/" + id),
	}, nil
}

func (s *Server) pollRequest(r *http.Request, p *params) (int, any, error) {
	v, err := s.app.PollRequest(r.Context(), r.PathValue("request_id"))
	if err != nil {
		return 0, nil, err
	}
	body := map[string]any{
		"status": "success", "request_status": v.State, "service_id": v.ServiceID, "info_field": v.InfoField,
		"created_at": ts(v.CreatedAt), "expires_at": ts(v.ExpiresAt),
	}
	if v.VerificationToken != "" {
		body["verification_token"] = v.VerificationToken
		body["verify_url"] = v.VerifyURL
		body["share_expires_at"] = ts(v.ShareExpiresAt)
	}
	return http.StatusOK, body, nil
}

func (s *Server) listRequests(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	rs, err := s.app.Requests(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "requests": rs}, nil
}

func (s *Server) approveRequest(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	ttl, err := app.ParseExpiresIn(p.String("expires_in"))
	if err != nil {
		return 0, nil, err
	}
	sh, err := s.app.ApproveRequest(r.Context(), pr, r.PathValue("id"), ttl)
	if err != nil {
		return 0, nil, err
	}
	body := shareBody(sh)
	body["request_status"] = app.RequestApproved
	return http.StatusOK, body, nil
}

func (s *Server) denyRequest(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	if err := s.app.DenyRequest(r.Context(), pr, r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "request_status": app.RequestDenied}, nil
}

// nameList reads a list of names sent as a JSON array, a comma-separated
// string or one name. ok is false for any other JSON value.
func nameList(raw json.RawMessage) (names []string, ok bool) {
	if len(raw) == 0 {
		return nil, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		return names, true
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	for _, item := range list {
		if json.Unmarshal(item, &s) != nil {
			return nil, false
		}
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	return names, true
}

var errAssignedShape = app.E(app.KindInvalid, "invalid_field_name", "assigned_data has an invalid field name!")

func (s *Server) privilegeRings(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	rr := app.RingRequest{Name: p.String("ring_name"), Level: p.String("access_level")}
	raw := p.JSON("assigned_data")
	var obj struct {
		Fields   json.RawMessage `json:"fields"`
		Services json.RawMessage `json:"services"`
	}
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "{") {
		if json.Unmarshal(raw, &obj) != nil {
			return 0, nil, errAssignedShape
		}
	} else {
		obj.Fields = raw
	}
	var ok bool
	if rr.Fields, ok = nameList(obj.Fields); !ok {
		return 0, nil, errAssignedShape
	}
	if rr.Services, ok = nameList(obj.Services); !ok {
		return 0, nil, errAssignedShape
	}
	more, ok := nameList(p.JSON("services"))
	if !ok {
		return 0, nil, app.E(app.KindInvalid, "invalid_service_id", "assigned_data has an invalid service_id!")
	}
	rr.Services = append(rr.Services, more...)
	id, err := s.app.SetRing(r.Context(), pr, rr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"status": "success", "ring_id": id}, nil
}

func (s *Server) listRings(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	rings, err := s.app.Rings(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "rings": rings}, nil
}

func (s *Server) updateInfo(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	res, err := s.app.UpdateInfo(r.Context(), pr, p.JSON("updated_fields"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "updated": res.Updated, "notified": res.Notified}, nil
}

func (s *Server) revokeAccess(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	n, err := s.app.RevokeAccess(r.Context(), pr, p.String("service_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "revoked": n}, nil
}

func (s *Server) access(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.app.Access(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []app.ServiceAccess{}
	}
	return http.StatusOK, map[string]any{"status": "success", "services": list}, nil
}

func (s *Server) registerService(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	secret, err := s.app.RegisterService(r.Context(), pr, p.String("service_id"), p.String("name"), p.String("webhook_url"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"status": "success", "service_id": p.String("service_id"), "webhook_secret": secret}, nil
}

func (s *Server) setPublic(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	link, err := s.app.SetPublic(r.Context(), pr, p.JSON("public_info"), p.String("visibility"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "public_profile_link": link}, nil
}

var publicPageBody = template.Must(template.New("public").Parse(`{{if .Error}}<p class="error">{{.Error}}</p>{{else}}
<div>{{.Info}}</div>
{{if .Fields}}<dl>{{range .Fields}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>{{end}}{{end}}`))

func (s *Server) publicPage(w http.ResponseWriter, r *http.Request) {
	pp, err := s.app.Public(r.Context(), r.PathValue("public_token"))
	if err != nil {
		s.writeError(w, r, "Public profile", &pageError{err: err, body: publicPageBody, data: errorData})
		return
	}
	if wantsHTML(r) {
		var rows []claimRow
		for _, k := range sortedClaimNames(pp.Fields) {
			rows = append(rows, claimRow{Name: strings.ReplaceAll(k, "_", " "), Value: valueHTML(pp.Fields[k])})
		}
		s.writePage(w, r, http.StatusOK, "Public profile", publicPageBody, map[string]any{"Info": valueHTML(pp.Info), "Fields": rows})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "public_info": pp.Info, "fields": pp.Fields})
}
