package httpapi

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

func (s *Server) registerEmergency() {
	s.handle(api+"/profile/emergency-access", Doc{
		Summary: "Set up (POST; a second call updates and keeps access_id) or turn off (DELETE) emergency access: trusted contacts, the emergency information, criteria and the live profile fields a responder sees.",
		Auth:    true, Params: []string{"trusted_contacts", "emergency_info", "criteria", "info_field"},
		SuccessBy: map[string][]int{http.MethodPost: {http.StatusCreated, http.StatusOK}}, // 200 when it updates
		Returns:   []string{"access_id", "emergency_url", "deleted"}, Errors: []int{400, 401, 413},
	}, MaxBody, s.emergencySetup, http.MethodPost, http.MethodDelete)
	s.handle(api+"/profile/emergency-access/grant", Doc{
		Summary: "A responder asks for a user's emergency information (no token). While the criteria ask for verified responders (the default), the responder proves who they are with responder_secret (from this installation's registry) or responder_credential (a badge signed by a trusted organization; or responder_credential_image, a picture of its QR code); an id alone is refused. Every attempt is logged (never the secret or badge); a grant notifies the trusted contacts.",
		Params:  []string{"responder_id!", "reason!", "email!", "responder_secret", "responder_credential", "responder_credential_image"},
		Returns: []string{"emergency_info", "profile_fields", "log_id"}, Errors: []int{400, 403, 404, 409, 413, 429},
	}, MaxBody, s.emergencyGrant, http.MethodPost)
	s.handle(api+"/profile/emergency-access/log", Doc{
		Summary: "The emergency access log (every attempt answered here, with hash and prev_hash), whether its hash chain verifies, and the grants of all the user's devices.",
		Auth:    true, Returns: []string{"entries", "verified", "broken_at", "grants"}, Errors: []int{401},
	}, MaxBody, s.emergencyLog, http.MethodGet)
	s.page(api+"/emergency/{token}", Doc{
		Summary: "The page an emergency QR code opens: a form for responder_id, reason and the responder's proof (responder_secret, or the badge pasted as responder_credential or uploaded as a picture of its QR code, responder_credential_image; multipart) (GET), whose POST runs the grant and shows the information (HTML; JSON for JSON clients).",
		Params:  []string{"responder_id", "reason", "responder_secret", "responder_credential", "responder_credential_image"}, Content: "text/html", Errors: []int{400, 403, 404, 409, 413, 429},
	}, s.emergencyPage, http.MethodGet, http.MethodPost)
}

func (s *Server) emergencySetup(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	if r.Method == http.MethodDelete {
		deleted, err := s.app.DeleteEmergency(r.Context(), pr)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"status": "success", "deleted": deleted}, nil
	}
	acc, err := s.app.SetupEmergency(r.Context(), pr, app.EmergencySetup{
		TrustedContacts: p.JSON("trusted_contacts"),
		EmergencyInfo:   p.JSON("emergency_info"),
		Criteria:        p.JSON("criteria"),
		InfoField:       p.JSON("info_field"),
	})
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusOK
	if acc.Created {
		status = http.StatusCreated
	}
	return status, map[string]any{"access_id": acc.AccessID, "status": "success", "emergency_url": acc.URL}, nil
}

func grantBody(g *app.EmergencyGrant) map[string]any {
	return map[string]any{
		"emergency_info": g.EmergencyInfo,
		"profile_fields": g.ProfileFields(),
		"status":         "success",
		"log_id":         g.LogID,
	}
}

// responderProof reads what verifies a responder: responder_secret,
// responder_credential (a badge's text) and responder_credential_image (a
// picture of the badge's QR code: a multipart file or base64).
func responderProof(p *params, req *app.GrantRequest) error {
	req.ResponderSecret = p.String("responder_secret")
	req.ResponderCredential = p.String("responder_credential")
	if req.ResponderCredential == "" {
		img, ok, err := p.Bytes("responder_credential_image", app.MaxBadgeImage)
		if err != nil {
			return err
		}
		if ok {
			req.ResponderCredentialImage = img
		}
	}
	return nil
}

func (s *Server) emergencyGrant(r *http.Request, p *params) (int, any, error) {
	req := app.GrantRequest{
		ResponderID: p.String("responder_id"),
		Reason:      p.String("reason"),
		Email:       p.String("email"),
		Client:      clientIP(r),
	}
	if err := responderProof(p, &req); err != nil {
		return 0, nil, err
	}
	g, err := s.app.GrantEmergency(r.Context(), req)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, grantBody(g), nil
}

func (s *Server) emergencyLog(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	l, err := s.app.EmergencyLog(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	entries := make([]map[string]any, 0, len(l.Entries))
	for _, e := range l.Entries {
		m := map[string]any{
			"seq": e.Seq, "at": e.At.UTC().Format(time.RFC3339Nano), "hash": e.Hash, "prev_hash": e.PrevHash,
		}
		if e.Unreadable {
			m["unreadable"] = true
		} else {
			m["log_id"], m["responder_id"], m["reason"], m["client"], m["via"], m["outcome"] = e.LogID, e.ResponderID, e.Reason, e.Client, e.Via, e.Outcome
			m["responder_verified"], m["salt"] = e.Verified, e.Salt
			if e.ResponderName != "" {
				m["responder_name"] = e.ResponderName
			}
			if e.ResponderOrganization != "" {
				m["responder_organization"] = e.ResponderOrganization
			}
		}
		entries = append(entries, m)
	}
	body := map[string]any{"status": "success", "entries": entries, "verified": l.Verified, "grants": l.Grants}
	if l.Grants == nil {
		body["grants"] = []any{}
	}
	if !l.Verified {
		body["broken_at"] = l.BrokenAt
	}
	return http.StatusOK, body, nil
}

var emergencyFormPage = template.Must(template.New("emergency-form").Parse(`
<p>You are asking for a person's emergency information. Every request is
logged, and the person's trusted contacts are told when access is granted.</p>
{{if .Error}}<p class="error" role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" enctype="multipart/form-data">
<label for="responder_id">Responder ID</label>
<input id="responder_id" name="responder_id" type="text" required maxlength="128" autocomplete="off" value="{{.ResponderID}}">
<label for="reason">Reason for access</label>
<textarea id="reason" name="reason" required maxlength="1000" rows="3">{{.Reason}}</textarea>
<fieldset id="proof">
<legend>Prove that you are a responder: one of these</legend>
<label for="responder_secret">Responder secret (from this installation)</label>
<input id="responder_secret" name="responder_secret" type="password" maxlength="128" autocomplete="off" spellcheck="false">
<label for="responder_credential">or your badge's text (paste it)</label>
<textarea id="responder_credential" name="responder_credential" maxlength="4096" rows="3" autocomplete="off" spellcheck="false"></textarea>
<label for="responder_credential_image">or a picture of your badge's QR code</label>
<input id="responder_credential_image" name="responder_credential_image" type="file" accept="image/png,image/jpeg,image/gif">
</fieldset>
<button type="submit" id="submit">Request emergency information</button>
</form>
`))

var emergencyInfoPage = template.Must(template.New("emergency-info").Parse(`
<p class="ok" role="status">Access granted and logged at {{.At}} (entry <span id="log-id">{{.LogID}}</span>).</p>
<h2>Emergency information</h2>
<div id="emergency-info">{{.Info}}</div>
{{if .Fields}}<h2>From the profile</h2>
<dl id="profile-fields">{{range .Fields}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>
{{end}}</dl>{{end}}
<p class="muted">The person's trusted contacts have been told of this access.</p>
`))

type fieldView struct {
	Label string
	Value template.HTML
}

func (s *Server) emergencyPage(w http.ResponseWriter, r *http.Request) {
	const title = "Emergency information"
	token := r.PathValue("token")
	html := wantsHTML(r)
	if r.Method == http.MethodGet {
		if err := s.app.EmergencyPageExists(r.Context(), token); err != nil {
			s.writeError(w, r, title, err)
			return
		}
		if !html {
			writeJSON(w, http.StatusOK, map[string]any{"status": "success", "form": []string{"responder_id", "reason", "responder_secret", "responder_credential", "responder_credential_image"}})
			return
		}
		s.writePage(w, r, http.StatusOK, title, emergencyFormPage, map[string]string{})
		return
	}
	// The form may carry a photo of a badge's QR code.
	p, err := parseParams(r, app.MaxBadgeImage+MaxBody)
	if err != nil {
		s.writeError(w, r, title, err)
		return
	}
	req := app.GrantRequest{ResponderID: p.String("responder_id"), Reason: p.String("reason"), PageToken: token, Client: clientIP(r)}
	if err := responderProof(p, &req); err != nil {
		s.writeError(w, r, title, err)
		return
	}
	g, err := s.app.GrantEmergency(r.Context(), req)
	if err != nil {
		if k := app.AsError(err).Kind; k != app.KindNotFound && k != app.KindInternal {
			// The form again, with what was typed and why it was refused.
			err = &pageError{err: err, body: emergencyFormPage, data: func(msg string) any {
				return map[string]string{"Error": msg, "ResponderID": req.ResponderID, "Reason": req.Reason}
			}}
		}
		s.writeError(w, r, title, err)
		return
	}
	if !html {
		writeJSON(w, http.StatusOK, grantBody(g))
		return
	}
	fields := make([]fieldView, len(g.Fields))
	for i, f := range g.Fields {
		fields[i] = fieldView{Label: strings.ReplaceAll(f.Name, "_", " "), Value: valueHTML(f.Value)}
	}
	s.writePage(w, r, http.StatusOK, title, emergencyInfoPage, map[string]any{
		"At": g.At.UTC().Format("2006-01-02 15:04:05 UTC"), "LogID": g.LogID,
		"Info": valueHTML(json.RawMessage(g.EmergencyInfo)), "Fields": fields,
	})
}
