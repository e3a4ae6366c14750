package httpapi

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

func (s *Server) registerHealth() {
	s.handle(api+"/profile/health-records", Doc{
		Summary: "Add a health record (POST; with record_id, replace one), list them (GET; optional record_type), or delete one (DELETE, record_id).",
		Auth:    true, Params: []string{"record_type", "record_data", "record_id"},
		SuccessBy: map[string][]int{http.MethodPost: {http.StatusCreated, http.StatusOK}}, // 200 when record_id replaces one
		Returns:   []string{"record_id", "health_records"}, Errors: []int{400, 401, 404, 413},
	}, MaxBody, s.healthRecords, http.MethodPost, http.MethodGet, http.MethodDelete)
	s.handle(api+"/profile/share-create-link", Doc{
		Summary: "Share chosen health records (ids or types, read live) with a doctor through a time-limited link, e-mailed to the doctor; optional passcode.",
		Auth:    true, Params: []string{"health_records_info!", "doctor_email!", "expiration_date", "passcode"},
		Success: 201, Returns: []string{"access_link", "expires_at", "link_id"}, Errors: []int{400, 401},
	}, MaxBody, s.createLink, http.MethodPost)
	s.handle(api+"/profile/health-links", Doc{
		Summary: "The user's health links, newest first: state, expiry, wrong passcodes, and every opening (when, from where, what it showed).",
		Auth:    true, Returns: []string{"links"}, Errors: []int{401},
	}, MaxBody, s.healthLinks, http.MethodGet)
	s.handle(api+"/profile/health-links/{link_id}/revoke", Doc{
		Summary: "Revoke a health link at once (idempotent).",
		Auth:    true, Errors: []int{401, 404},
	}, MaxBody, s.revokeLink, http.MethodPost)
	s.page(api+"/health-link/{token}", Doc{
		Summary: "The doctor's page behind an access link: the shared records (HTML; JSON with Accept: application/json). With a passcode the page asks for it (form POST); JSON clients send a passcode parameter. 410 after expiry, revocation or 10 wrong passcodes.",
		Params:  []string{"passcode"}, Content: "text/html", Errors: []int{401, 403, 404, 410},
	}, s.linkPage, http.MethodGet, http.MethodPost)
}

func (s *Server) healthRecords(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	switch r.Method {
	case http.MethodGet:
		recs, err := s.app.HealthRecords(r.Context(), pr, p.String("record_type"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"status": "success", "health_records": recs}, nil
	case http.MethodDelete:
		if err := s.app.DeleteHealthRecord(r.Context(), pr, p.String("record_id")); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"status": "success"}, nil
	}
	rec, created, err := s.app.PutHealthRecord(r.Context(), pr, p.String("record_id"), p.String("record_type"), p.JSON("record_data"))
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return status, map[string]any{"record_id": rec.ID, "status": "success"}, nil
}

func (s *Server) createLink(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	l, err := s.app.CreateLink(r.Context(), pr, app.LinkRequest{
		Records:     p.JSON("health_records_info"),
		DoctorEmail: p.String("doctor_email"),
		Expiration:  p.String("expiration_date"),
		Passcode:    p.String("passcode"),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{
		"access_link": l.URL, "status": "success",
		"expires_at": l.ExpiresAt.UTC().Format(time.RFC3339), "link_id": l.ID,
	}, nil
}

func (s *Server) healthLinks(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	links, err := s.app.HealthLinks(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "links": links}, nil
}

func (s *Server) revokeLink(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	if err := s.app.RevokeLink(r.Context(), pr, r.PathValue("link_id")); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success"}, nil
}

var passcodePage = template.Must(template.New("passcode").Parse(`
<p>These health records are protected by a passcode, which the patient gives
you separately. After 10 wrong passcodes the link stops working.</p>
{{if .Error}}<p class="error" role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post">
<label for="passcode">Passcode</label>
<input id="passcode" name="passcode" type="password" required autocomplete="off">
<button type="submit" id="submit">Show the records</button>
</form>
`))

var recordsPage = template.Must(template.New("records").Parse(`
<p>Shared {{if .Patient}}by {{.Patient}} {{end}}until {{.Expires}}. This opening is
logged and shown to the patient.</p>
{{range .Records}}<section aria-labelledby="r-{{.ID}}" class="record">
<h2 id="r-{{.ID}}">{{.Type}}</h2>
<p class="muted">Updated {{.Updated}}</p>
<div>{{.Data}}</div>
</section>
{{else}}<p id="none">No records are shared through this link at the moment.</p>{{end}}
`))

type recordView struct {
	ID, Type, Updated string
	Data              template.HTML
}

func recordLabel(t string) string {
	t = strings.ReplaceAll(t, "_", " ")
	if t == "" {
		return t
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	const title = "Shared health records"
	token := r.PathValue("token")
	html := wantsHTML(r)
	p, err := parseParams(r, MaxBody)
	if err != nil {
		s.writeError(w, r, title, err)
		return
	}
	if html && r.Method == http.MethodGet {
		needs, err := s.app.LinkNeedsPasscode(r.Context(), token)
		if err != nil {
			s.writeError(w, r, title, err)
			return
		}
		if needs {
			s.writePage(w, r, http.StatusOK, title, passcodePage, map[string]string{})
			return
		}
	}
	v, err := s.app.OpenLink(r.Context(), app.LinkOpen{
		Token: token, Passcode: p.String("passcode"), Client: clientIP(r), UserAgent: r.UserAgent(),
	})
	if err != nil {
		if c := app.AsError(err).Code; c == "wrong_passcode" || c == "passcode_required" {
			err = &pageError{err: err, body: passcodePage, data: func(msg string) any { return map[string]string{"Error": msg} }}
		}
		s.writeError(w, r, title, err)
		return
	}
	if !html {
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "success", "link_id": v.LinkID, "health_records": v.Records,
			"expires_at": v.ExpiresAt.UTC().Format(time.RFC3339),
		})
		return
	}
	recs := make([]recordView, len(v.Records))
	for i, rec := range v.Records {
		recs[i] = recordView{ID: rec.ID, Type: recordLabel(rec.Type), Updated: rec.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"), Data: valueHTML(rec.Data)}
	}
	s.writePage(w, r, http.StatusOK, title, recordsPage, map[string]any{
		"Patient": v.Patient, "Expires": v.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"), "Records": recs,
	})
}
