package httpapi

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// registerEmergency registers emergency access: set up and turned off by
// the user, granted to a verified responder (by the API or the page an
// emergency QR code opens), logged in a hash chain the user reads.
func (s *Server) registerEmergency() {
	s.route(api+"/profile/emergency-access", Doc{
		Summary: "Set up (POST; a second call updates and keeps access_id) or turn off (DELETE) emergency access: trusted contacts, the emergency information, criteria and the live profile fields a responder sees.",
		Auth:    true, Params: []string{"trusted_contacts", "emergency_info", "criteria", "info_field"},
		SuccessBy: map[string][]int{http.MethodPost: {http.StatusCreated, http.StatusOK}}, // 200 when it updates
		Errors:    []int{400, 401, 413},
	}, MaxBody, answer(s.emergencySetup, http.MethodPost), answer(s.emergencyDelete, http.MethodDelete))
	s.route(api+"/profile/emergency-access/grant", Doc{
		Summary: "A responder asks for a user's emergency information (no token). While the criteria ask for verified responders (the default), the responder proves who they are with responder_secret (from this installation's registry) or responder_credential (a badge signed by a trusted organization; or responder_credential_image, a picture of its QR code); an id alone is refused. condition names which of the person's conditions applies (\"none\" refuses, logged as condition_not_met); a legacy client may leave it out (the page and the device require it). Every attempt is logged (never the secret or badge); a grant notifies the trusted contacts.",
		Params:  []string{"responder_id!", "reason!", "email!", "condition", "responder_secret", "responder_credential", "responder_credential_image"},
		Errors:  []int{400, 403, 404, 409, 413, 429},
	}, MaxBody, answer(s.emergencyGrant, http.MethodPost))
	s.route(api+"/profile/emergency-access/log", Doc{
		Summary: "The emergency access log (every attempt answered here, with hash and prev_hash), whether its hash chain verifies, and the grants of all the user's devices.",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.emergencyLog, http.MethodGet))
	// The form may carry a photo of a badge's QR code.
	s.route(api+"/emergency/{token}", Doc{
		Summary: "The page an emergency QR code opens: a form for responder_id, reason, condition (which of the person's conditions applies, required when the person set conditions; \"none\" refuses, logged) and the responder's proof (responder_secret, or the badge pasted as responder_credential or uploaded as a picture of its QR code, responder_credential_image; multipart) (GET), whose POST runs the grant and shows the information (HTML; JSON for JSON clients).",
		Params:  []string{"responder_id", "reason", "condition", "responder_secret", "responder_credential", "responder_credential_image"},
		Page:    emergencyTitle, Errors: []int{400, 403, 404, 409, 413, 429},
	}, app.MaxBadgeImage+MaxBody, page(s.emergencyForm, http.MethodGet), page(s.emergencyPageGrant, http.MethodPost))
}

func (s *Server) emergencySetup(c *call) (int, EmergencySetupResponse, error) {
	acc, err := s.app.SetupEmergency(c.ctx(), c.who, app.EmergencySetup{
		TrustedContacts: c.p.JSON("trusted_contacts"),
		EmergencyInfo:   c.p.JSON("emergency_info"),
		Criteria:        c.p.JSON("criteria"),
		InfoField:       c.p.JSON("info_field"),
	})
	if err != nil {
		return 0, EmergencySetupResponse{}, err
	}
	status := http.StatusOK
	if acc.Created {
		status = http.StatusCreated
	}
	return status, EmergencySetupResponse{AccessID: acc.AccessID, EmergencyURL: acc.URL}, nil
}

func (s *Server) emergencyDelete(c *call) (int, EmergencyDeletedResponse, error) {
	deleted, err := s.app.DeleteEmergency(c.ctx(), c.who)
	if err != nil {
		return 0, EmergencyDeletedResponse{}, err
	}
	return http.StatusOK, EmergencyDeletedResponse{Deleted: deleted}, nil
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

func (s *Server) emergencyGrant(c *call) (int, GrantResponse, error) {
	req := app.GrantRequest{
		ResponderID: c.p.String("responder_id"),
		Reason:      c.p.String("reason"),
		Condition:   c.p.String("condition"),
		Email:       c.p.String("email"),
		Client:      clientIP(c.r),
	}
	if err := responderProof(c.p, &req); err != nil {
		return 0, GrantResponse{}, err
	}
	g, err := s.app.GrantEmergency(c.ctx(), req)
	if err != nil {
		return 0, GrantResponse{}, err
	}
	return http.StatusOK, grantResponse(g), nil
}

func (s *Server) emergencyLog(c *call) (int, EmergencyLogResponse, error) {
	l, err := s.app.EmergencyLog(c.ctx(), c.who)
	if err != nil {
		return 0, EmergencyLogResponse{}, err
	}
	body := EmergencyLogResponse{Entries: make([]EmergencyLogEntry, 0, len(l.Entries)), Verified: l.Verified, Grants: l.Grants}
	for _, e := range l.Entries {
		entry := EmergencyLogEntry{Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Hash: e.Hash, PrevHash: e.PrevHash, Unreadable: e.Unreadable}
		if !e.Unreadable {
			entry.EmergencyLogRecord = &EmergencyLogRecord{
				LogID: e.LogID, ResponderID: e.ResponderID, Reason: e.Reason, Condition: e.Condition, Client: e.Client, Via: e.Via, Outcome: e.Outcome,
				ResponderVerified: e.Verified, Salt: e.Salt, ResponderName: e.ResponderName, ResponderOrganization: e.ResponderOrganization,
			}
		}
		body.Entries = append(body.Entries, entry)
	}
	if body.Grants == nil {
		body.Grants = []map[string]string{}
	}
	if !l.Verified {
		body.BrokenAt = &l.BrokenAt
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
{{if .Conditions}}<fieldset id="conditions">
<legend>The person allows access only when one of these applies: which one?</legend>
{{range $i, $c := .Conditions}}<p><input type="radio" name="condition" id="condition-{{$i}}" value="{{$c}}" required{{if eq $c $.Condition}} checked{{end}}> <label for="condition-{{$i}}">{{$c}}</label></p>
{{end}}<p><input type="radio" name="condition" id="condition-none" value="none" required{{if eq "none" $.Condition}} checked{{end}}> <label for="condition-none">None of these applies</label></p>
</fieldset>{{end}}
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
<p class="muted" id="told">{{.Told}}</p>
`))

type fieldView struct {
	Label string
	Value template.HTML
}

const emergencyTitle = "Emergency information"

// emergencyFields are the emergency page's form fields.
var emergencyFields = []string{"responder_id", "reason", "condition", "responder_secret", "responder_credential", "responder_credential_image"}

func (s *Server) emergencyForm(c *call) (int, EmergencyFormResponse, *view, error) {
	conds, err := s.app.EmergencyPageConditions(c.ctx(), c.r.PathValue("token"))
	if err != nil {
		return 0, EmergencyFormResponse{}, nil, err
	}
	return http.StatusOK, EmergencyFormResponse{Form: emergencyFields, Conditions: conds},
		&view{title: emergencyTitle, body: emergencyFormPage, data: map[string]any{"Conditions": conds}}, nil
}

func (s *Server) emergencyPageGrant(c *call) (int, GrantResponse, *view, error) {
	req := app.GrantRequest{ResponderID: c.p.String("responder_id"), Reason: c.p.String("reason"), Condition: c.p.String("condition"),
		PageToken: c.r.PathValue("token"), Client: clientIP(c.r)}
	if err := responderProof(c.p, &req); err != nil {
		return 0, GrantResponse{}, nil, err
	}
	g, err := s.app.GrantEmergency(c.ctx(), req)
	if err != nil {
		if k := app.AsError(err).Kind; k != app.KindNotFound && k != app.KindInternal {
			// A browser gets the form again, with what was typed and why
			// it was refused.
			conds, _ := s.app.EmergencyPageConditions(c.ctx(), req.PageToken)
			err = &pageError{err: err, body: emergencyFormPage, data: func(msg string) any {
				return map[string]any{"Error": msg, "ResponderID": req.ResponderID, "Reason": req.Reason, "Conditions": conds, "Condition": req.Condition}
			}}
		}
		return 0, GrantResponse{}, nil, err
	}
	if !c.html() {
		return http.StatusOK, grantResponse(g), nil, nil
	}
	fields := make([]fieldView, len(g.Fields))
	for i, f := range g.Fields {
		fields[i] = fieldView{Label: strings.ReplaceAll(f.Name, "_", " "), Value: valueHTML(f.Value)}
	}
	return http.StatusOK, grantResponse(g), &view{title: emergencyTitle, body: emergencyInfoPage, data: map[string]any{
		"At": g.At.UTC().Format("2006-01-02 15:04:05 UTC"), "LogID": g.LogID,
		"Info": valueHTML(json.RawMessage(g.EmergencyInfo)), "Fields": fields, "Told": toldWords(s.app, g.Notices),
	}}, nil
}

// toldWords says what became of the trusted contacts' notices of a grant:
// sent now (the outbox has a sender for them) or waiting, and why; never
// that they were told before anything left.
func toldWords(a *app.App, notices []app.Notice) string {
	if len(notices) == 0 {
		return "The person has no trusted contacts to tell of this access."
	}
	n := map[string]int{}
	for _, m := range notices {
		n[m.Kind]++
	}
	var parts []string
	for _, k := range []struct{ kind, by, none string }{
		{app.KindEmail, "e-mail", "this installation has no e-mail relay set up"},
		{app.KindSMS, "text message", "this installation has no SMS gateway"},
	} {
		c := n[k.kind]
		if c == 0 {
			continue
		}
		what := fmt.Sprintf("%d notice", c)
		if c != 1 {
			what += "s"
		}
		if a.Delivers(k.kind) {
			parts = append(parts, fmt.Sprintf("%s by %s queued and being sent now", what, k.by))
		} else {
			parts = append(parts, fmt.Sprintf("%s by %s waiting in the outbox, not sent: %s", what, k.by, k.none))
		}
	}
	return "The person's trusted contacts: " + strings.Join(parts, "; ") + "."
}
