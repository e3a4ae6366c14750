package httpapi

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

// registerHealth registers health records and the links that share them
// with a doctor, with the doctor's page behind a link.
func (s *Server) registerHealth() {
	s.route(api+"/profile/health-records", Doc{
		Summary: "Add a health record (POST; with record_id, replace one; or fhir: a FHIR R4 resource or Bundle, validated), list them (GET; optional record_type), or delete one (DELETE, record_id).",
		Auth:    true, Params: []string{"record_type", "record_data", "record_id", "fhir"},
		SuccessBy: map[string][]int{http.MethodPost: {http.StatusCreated, http.StatusOK}}, // 200 when record_id replaces one
		Errors:    []int{400, 401, 404, 413},
	}, MaxBody, answer(s.putHealthRecord, http.MethodPost), answer(s.healthRecords, http.MethodGet), answer(s.deleteHealthRecord, http.MethodDelete))
	s.route(api+"/profile/share-create-link", Doc{
		Summary: "Share chosen health records (ids or types, read live) with a doctor through a time-limited SMART Health Link (shlink; access_link opens our viewer), e-mailed to the doctor; optional passcode; link_format=page for the old server-rendered page.",
		Auth:    true, Params: []string{"health_records_info!", "doctor_email!", "expiration_date", "passcode", "link_format"},
		Success: 201, Errors: []int{400, 401},
	}, MaxBody, answer(s.createLink, http.MethodPost))
	s.route(api+"/profile/health-links", Doc{
		Summary: "The user's health links, newest first: state, expiry, wrong passcodes, and every opening (when, from where, what it showed).",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.healthLinks, http.MethodGet))
	s.route(api+"/profile/health-links/{link_id}/revoke", Doc{
		Summary: "Revoke a health link at once (idempotent).",
		Auth:    true, Errors: []int{401, 404},
	}, MaxBody, answer(s.revokeLink, http.MethodPost))
	s.route(api+"/health-link/{token}", Doc{
		Summary: "The doctor's page behind an access link: the shared records (HTML; JSON with Accept: application/json). With a passcode the page asks for it (form POST); JSON clients send a passcode parameter. 410 after expiry, revocation or 10 wrong passcodes.",
		Params:  []string{"passcode"}, Page: linkTitle, Errors: []int{401, 403, 404, 410},
	}, MaxBody, page(s.linkPage, http.MethodGet, http.MethodPost))
	s.registerSHL()
}

func (s *Server) putHealthRecord(c *call) (int, RecordResponse, error) {
	if f := c.p.JSON("fhir"); f != nil {
		recs, err := s.app.AddFHIRRecords(c.ctx(), c.who, f)
		if err != nil {
			return 0, RecordResponse{}, err
		}
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		return http.StatusCreated, RecordResponse{RecordID: ids[0], RecordIDs: ids}, nil
	}
	rec, created, err := s.app.PutHealthRecord(c.ctx(), c.who, c.p.String("record_id"), c.p.String("record_type"), c.p.JSON("record_data"))
	if err != nil {
		return 0, RecordResponse{}, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return status, RecordResponse{RecordID: rec.ID}, nil
}

func (s *Server) healthRecords(c *call) (int, RecordsResponse, error) {
	recs, err := s.app.HealthRecords(c.ctx(), c.who, c.p.String("record_type"))
	if err != nil {
		return 0, RecordsResponse{}, err
	}
	return http.StatusOK, RecordsResponse{HealthRecords: recs}, nil
}

func (s *Server) deleteHealthRecord(c *call) (int, OKResponse, error) {
	if err := s.app.DeleteHealthRecord(c.ctx(), c.who, c.p.String("record_id")); err != nil {
		return 0, OKResponse{}, err
	}
	return http.StatusOK, OKResponse{}, nil
}

var errLinkFormat = app.E(app.KindInvalid, "invalid_parameter", "link_format must be shl or page!")

func (s *Server) createLink(c *call) (int, LinkResponse, error) {
	format := c.p.String("link_format")
	if format != "" && format != "shl" && format != "page" {
		return 0, LinkResponse{}, errLinkFormat
	}
	l, err := s.app.CreateLink(c.ctx(), c.who, app.LinkRequest{
		Records:     c.p.JSON("health_records_info"),
		DoctorEmail: c.p.String("doctor_email"),
		Expiration:  c.p.String("expiration_date"),
		Passcode:    c.p.String("passcode"),
		Page:        format == "page",
	})
	if err != nil {
		return 0, LinkResponse{}, err
	}
	return http.StatusCreated, LinkResponse{AccessLink: l.URL, SHLink: l.SHLink, ExpiresAt: ts(l.ExpiresAt), LinkID: l.ID}, nil
}

func (s *Server) healthLinks(c *call) (int, LinksResponse, error) {
	links, err := s.app.HealthLinks(c.ctx(), c.who)
	if err != nil {
		return 0, LinksResponse{}, err
	}
	return http.StatusOK, LinksResponse{Links: links}, nil
}

func (s *Server) revokeLink(c *call) (int, OKResponse, error) {
	if err := s.app.RevokeLink(c.ctx(), c.who, c.r.PathValue("link_id")); err != nil {
		return 0, OKResponse{}, err
	}
	return http.StatusOK, OKResponse{}, nil
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

const linkTitle = "Shared health records"

func (s *Server) linkPage(c *call) (int, LinkPageResponse, *view, error) {
	token := c.r.PathValue("token")
	if c.html() && c.r.Method == http.MethodGet {
		needs, err := s.app.LinkNeedsPasscode(c.ctx(), token)
		if err != nil {
			return 0, LinkPageResponse{}, nil, err
		}
		if needs {
			return http.StatusOK, LinkPageResponse{}, &view{title: linkTitle, body: passcodePage, data: map[string]string{}}, nil
		}
	}
	v, err := s.app.OpenLink(c.ctx(), app.LinkOpen{
		Token: token, Passcode: c.p.String("passcode"), Client: clientIP(c.r), UserAgent: c.r.UserAgent(),
	})
	if err != nil {
		if code := app.AsError(err).Code; code == "wrong_passcode" || code == "passcode_required" {
			// A browser gets the passcode form again.
			err = &pageError{err: err, body: passcodePage, data: errorData}
		}
		return 0, LinkPageResponse{}, nil, err
	}
	body := LinkPageResponse{LinkID: v.LinkID, HealthRecords: v.Records, ExpiresAt: ts(v.ExpiresAt)}
	if !c.html() {
		return http.StatusOK, body, nil, nil
	}
	recs := make([]recordView, len(v.Records))
	for i, rec := range v.Records {
		recs[i] = recordView{ID: rec.ID, Type: recordLabel(rec.Type), Updated: rec.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"), Data: valueHTML(rec.Data)}
	}
	return http.StatusOK, body, &view{title: linkTitle, body: recordsPage, data: map[string]any{
		"Patient": v.Patient, "Expires": v.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"), "Records": recs,
	}}, nil
}
