package httpapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

const (
	recordsPath = "/api/v1/profile/health-records"
	linkPath    = "/api/v1/profile/share-create-link"
	linksPath   = "/api/v1/profile/health-links"
)

var jsonAccept = []string{"Accept", "application/json"}

// openLink opens an access link as a JSON client.
func (e *env) openLink(t testing.TB, link string, kv ...string) resp {
	t.Helper()
	path := e.pagePath(t, link)
	if len(kv) > 0 {
		return e.do(t, "POST", path, "application/x-www-form-urlencoded", strings.NewReader("passcode="+kv[1]), jsonAccept...)
	}
	return e.do(t, "GET", path, "", nil, jsonAccept...)
}

func recordIDs(r resp) []string {
	var body struct {
		Records []app.HealthRecord `json:"health_records"`
	}
	json.Unmarshal(r.Raw, &body)
	var ids []string
	for _, rec := range body.Records {
		ids = append(ids, rec.ID)
	}
	return ids
}

func TestHealthRecords(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "hr@example.org").str("token")
	want(t, e.form(t, "POST", recordsPath, "record_type", "allergies", "record_data", "x"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", recordsPath, "token", tok), 400, "record_type,record_data must exist!", "missing_parameter")
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies"), 400, "record_type,record_data must exist!", "missing_parameter")
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_type", "Lab Results!", "record_data", "x"), 400, "record_type must match [a-z][a-z0-9_]{0,63}!", "invalid_record_type")
	a := e.json(t, "POST", recordsPath, map[string]any{"token": tok, "record_type": "Immunizations", "record_data": map[string]any{"vaccine": "MMR", "date": "1990-04-02"}})
	want(t, a, 201, "success", "")
	b := e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "peanuts")
	want(t, b, 201, "success", "")

	l := e.form(t, "GET", recordsPath, "token", tok)
	want(t, l, 200, "success", "")
	var list struct {
		Records []app.HealthRecord `json:"health_records"`
	}
	json.Unmarshal(l.Raw, &list)
	if len(list.Records) != 2 || list.Records[0].Type != "immunizations" || string(list.Records[0].Data) != `{"date":"1990-04-02","vaccine":"MMR"}` ||
		list.Records[1].ID != b.str("record_id") || string(list.Records[1].Data) != `"peanuts"` {
		t.Fatalf("list: %s", l.Raw)
	}
	if ids := recordIDs(e.form(t, "GET", recordsPath, "token", tok, "record_type", "allergies")); len(ids) != 1 || ids[0] != b.str("record_id") {
		t.Fatalf("filtered: %v", ids)
	}
	// Replacing keeps the id; deleting removes it.
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_id", b.str("record_id"), "record_type", "allergies", "record_data", "tree nuts"), 200, "success", "")
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_id", "nope", "record_type", "allergies", "record_data", "x"), 404, "record_id does not exist!", "unknown_record")
	want(t, e.form(t, "DELETE", recordsPath, "token", tok, "record_id", a.str("record_id")), 200, "success", "")
	want(t, e.form(t, "DELETE", recordsPath, "token", tok, "record_id", a.str("record_id")), 404, "record_id does not exist!", "unknown_record")
	if l := e.form(t, "GET", recordsPath, "token", tok); !strings.Contains(string(l.Raw), `"tree nuts"`) || len(recordIDs(l)) != 1 {
		t.Fatalf("after replace and delete: %s", l.Raw)
	}
	want(t, e.form(t, "PUT", recordsPath, "token", tok), 405, "post required", "method_not_allowed")
}

func TestShareCreateLinkContract(t *testing.T) {
	e := newEnv(t)
	srv := startMail(t, e)
	tok := e.register(t, "patient@example.org").str("token")
	imm := e.json(t, "POST", recordsPath, map[string]any{"token": tok, "record_type": "immunizations", "record_data": map[string]any{"vaccine": "MMR"}}).str("record_id")
	alg := e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "penicillin").str("record_id")
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "lab_results", "record_data", "not shared")

	want(t, e.form(t, "POST", linkPath, "health_records_info", "allergies", "doctor_email", "dr@example.org"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies"), 400, "doctor_email,health_records_info must exist!", "missing_parameter")
	want(t, e.form(t, "POST", linkPath, "token", tok, "doctor_email", "dr@example.org"), 400, "doctor_email,health_records_info must exist!", "missing_parameter")
	want(t, e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "doctor_email", "dr"), 400, "doctor_email format error!", "invalid_email")
	for _, d := range []string{"2001-01-01", "yesterday", time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)} {
		want(t, e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "doctor_email", "dr@example.org", "expiration_date", d), 400,
			"expiration_date must be a future date!", "invalid_expiration")
	}
	want(t, e.json(t, "POST", linkPath, map[string]any{"token": tok, "health_records_info": []string{"no such thing!"}, "doctor_email": "dr@example.org"}), 400,
		"health_records_info must name health records or record types!", "invalid_records")
	want(t, e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "doctor_email", "dr@example.org", "passcode", "1234"), 400,
		"passcode must be 6 to 256 characters!", "invalid_passcode")

	// One record by id, one type: read live at each opening.
	r := e.json(t, "POST", linkPath, map[string]any{"token": tok, "health_records_info": []string{alg, "immunizations"}, "link_format": "page", "doctor_email": "dr.okafor@example.org"})
	want(t, r, 201, "success", "")
	link := r.str("access_link")
	exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
	if !strings.HasPrefix(link, "http://127.0.0.1:8000/api/v1/health-link/") || err != nil || exp.Sub(e.Clock.Now()) < 7*24*time.Hour-time.Minute || exp.Sub(e.Clock.Now()) > 7*24*time.Hour {
		t.Fatalf("link: %s", r.Raw)
	}
	// The doctor gets the link by e-mail, over SMTP.
	m := srv.Wait(t, 1, 10*time.Second)[0]
	if m.To[0] != "dr.okafor@example.org" || !strings.Contains(m.Text(), link) || !strings.Contains(m.Header("Subject"), "Ada Lovelace shared health records") {
		t.Fatalf("mail: %s %q\n%s", m.To, m.Header("Subject"), m.Text())
	}
	mailed := regexp.MustCompile(`http://\S+/health-link/\S+`).FindString(m.Text())
	o := e.openLink(t, mailed)
	want(t, o, 200, "success", "")
	if ids := recordIDs(o); strings.Join(ids, ",") != alg+","+imm {
		t.Fatalf("records %v, want %s,%s: %s", ids, alg, imm, o.Raw)
	}
	if strings.Contains(string(o.Raw), "not shared") {
		t.Fatal("a record that was not chosen is shown")
	}

	// Live: a change and a new record of a shared type show on the next read.
	want(t, e.form(t, "POST", recordsPath, "token", tok, "record_id", alg, "record_type", "allergies", "record_data", "penicillin, latex"), 200, "success", "")
	imm2 := e.form(t, "POST", recordsPath, "token", tok, "record_type", "immunizations", "record_data", "tetanus 2024").str("record_id")
	o = e.openLink(t, link)
	if ids := recordIDs(o); strings.Join(ids, ",") != alg+","+imm+","+imm2 || !strings.Contains(string(o.Raw), `"penicillin, latex"`) {
		t.Fatalf("not live: %s", o.Raw)
	}

	// Revocation: 410 at once; unknown ids 404.
	lid := r.str("link_id")
	want(t, e.form(t, "POST", linksPath+"/"+lid+"/revoke", "token", tok), 200, "success", "")
	want(t, e.form(t, "POST", linksPath+"/"+lid+"/revoke", "token", tok), 200, "success", "")
	want(t, e.form(t, "POST", linksPath+"/nope/revoke", "token", tok), 404, "link_id does not exist!", "unknown_link")
	want(t, e.openLink(t, link), 410, "access_link has been revoked!", "link_revoked")
	want(t, e.do(t, "GET", "/api/v1/health-link/not-a-real-token", "", nil, jsonAccept...), 404, "access_link does not exist!", "unknown_link")

	// Expiry: a date lives through that day, then 410.
	tomorrow := e.Clock.Now().Add(24 * time.Hour).Format("2006-01-02")
	r2 := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "page", "doctor_email", "dr@example.org", "expiration_date", tomorrow)
	want(t, r2, 201, "success", "")
	want(t, e.openLink(t, r2.str("access_link")), 200, "success", "")
	e.Clock.Advance(49 * time.Hour)
	want(t, e.openLink(t, r2.str("access_link")), 410, "access_link has expired!", "link_expired")
	tok = e.form(t, "POST", "/api/v1/users/login", "email", "patient@example.org", "password", pw).str("token") // the session expired too
	// At most a year.
	r3 := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "page", "doctor_email", "dr@example.org", "expiration_date", "2999-01-01")
	if exp, _ := time.Parse(time.RFC3339, r3.str("expires_at")); exp.Sub(e.Clock.Now()) > app.MaxLinkTTL {
		t.Fatalf("beyond a year: %s", r3.Raw)
	}

	// The owner sees who opened what and when.
	ls := e.form(t, "GET", linksPath, "token", tok)
	want(t, ls, 200, "success", "")
	var links struct {
		Links []app.HealthLinkInfo `json:"links"`
	}
	json.Unmarshal(ls.Raw, &links)
	byID := map[string]app.HealthLinkInfo{}
	for _, l := range links.Links {
		byID[l.ID] = l
	}
	first := byID[lid]
	if len(links.Links) != 3 || first.State != "revoked" || byID[r2.str("link_id")].State != "expired" || first.DoctorEmail != "dr.okafor@example.org" || len(first.Openings) != 2 {
		t.Fatalf("links: %s", ls.Raw)
	}
	newest := first.Openings[0]
	if newest.Client != "127.0.0.1" || newest.Outcome != "opened" || newest.UserAgent == "" || strings.Join(newest.Records, ",") != alg+","+imm+","+imm2 {
		t.Fatalf("opening: %+v", newest)
	}
	if strings.Contains(string(ls.Raw), "penicillin") {
		t.Fatal("the listing shows record data")
	}
}

func TestLinkPasscodeDiesAfterTenWrongTries(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "pc@example.org").str("token")
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "bee stings")
	r := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "page", "doctor_email", "dr@example.org", "passcode", "4711-blue")
	want(t, r, 201, "success", "")
	link := r.str("access_link")
	want(t, e.openLink(t, link), 401, "passcode must exist!", "passcode_required")
	for i := 1; i <= app.LinkPasscodeTries-1; i++ {
		want(t, e.openLink(t, link, "passcode", "wrong"), 403, "passcode is wrong!", "wrong_passcode")
	}
	// The right passcode still opens it (JSON clients may send it in the
	// query string too), and does not reset the count.
	want(t, e.openLink(t, link, "passcode", "4711-blue"), 200, "success", "")
	q := e.do(t, "GET", e.pagePath(t, link)+"?passcode=4711-blue", "", nil, jsonAccept...)
	want(t, q, 200, "success", "")
	want(t, e.openLink(t, link, "passcode", "wrong"), 410, "access_link has been locked after too many wrong passcodes!", "link_locked")
	want(t, e.openLink(t, link, "passcode", "4711-blue"), 410, "access_link has been locked after too many wrong passcodes!", "link_locked")

	ls := e.form(t, "GET", linksPath, "token", tok)
	var links struct {
		Links []app.HealthLinkInfo `json:"links"`
	}
	json.Unmarshal(ls.Raw, &links)
	l := links.Links[0]
	count := map[string]int{}
	for _, o := range l.Openings {
		count[o.Outcome]++
	}
	if l.State != "locked" || l.WrongPasscodes != 10 || !l.Passcode || count["wrong_passcode"] != 9 || count["locked"] != 1 || count["opened"] != 2 {
		t.Fatalf("link: %+v %v", l, count)
	}
	if strings.Contains(string(ls.Raw), "4711-blue") { // the whole passcode: "4711" alone may be in an id
		t.Fatal("the passcode is listed")
	}
	// Records, passcode, the doctor's address and the link: none in clear
	// anywhere in the data directory.
	noneInDir(t, e.Dir, "bee stings", "4711-blue", "dr@example.org", e.pagePath(t, link)[len("/api/v1/health-link/"):])
}

func noneInDir(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%q in clear in %s", s, filepath.Base(path))
			}
		}
		return nil
	})
}

func TestDoctorPage(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "doc@example.org").str("token")
	e.json(t, "POST", recordsPath, map[string]any{"token": tok, "record_type": "blood_tests", "record_data": map[string]any{"hba1c": "5.4 %", "note": "<script>alert(1)</script>"}})
	html := []string{"Accept", "text/html"}
	plain := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "blood_tests", "link_format", "page", "doctor_email", "dr@example.org").str("access_link")
	checkPage(t, e.do(t, "GET", e.pagePath(t, plain), "", nil, html...), 200, "<h2", "Blood tests", "5.4 %", "&lt;script&gt;alert(1)&lt;/script&gt;", "Ada Lovelace")

	locked := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "blood_tests", "link_format", "page", "doctor_email", "dr@example.org", "passcode", "open sesame").str("access_link")
	page := e.pagePath(t, locked)
	form := e.do(t, "GET", page, "", nil, html...)
	checkPage(t, form, 200, `<label for="passcode">`, `type="password"`)
	if strings.Contains(string(form.Raw), "5.4") {
		t.Fatal("records shown before the passcode")
	}
	ct := "application/x-www-form-urlencoded"
	checkPage(t, e.do(t, "POST", page, ct, strings.NewReader("passcode=nope"), html...), 403, "passcode is wrong!", `<label for="passcode">`)
	checkPage(t, e.do(t, "POST", page, ct, strings.NewReader("passcode=open+sesame"), html...), 200, "5.4 %")
	checkPage(t, e.do(t, "GET", "/api/v1/health-link/unknown", "", nil, html...), 404, "access_link does not exist!")
	e.Clock.Advance(8 * 24 * time.Hour)
	checkPage(t, e.do(t, "GET", e.pagePath(t, plain), "", nil, html...), 410, "access_link has expired!")
}
