package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secure-personal-profile/spp/app"
)

// SMART Health Links (API.md Part 4 "Doctors: SMART Health Links with
// FHIR"), followed as a client would, and their Bundles validated against
// the FHIR R4 JSON schema.

var fhirSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open("../testdata/fhir.schema.json.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(z)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("fhir.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("fhir.schema.json")
})

// validFHIR checks FHIR JSON against the FHIR R4 schema.
func validFHIR(t testing.TB, b []byte) {
	t.Helper()
	sch, err := fhirSchema()
	if err != nil {
		t.Fatalf("FHIR schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("not valid FHIR R4: %v\n%s", err, b)
	}
}

type shlPayload struct {
	URL   string `json:"url"`
	Key   string `json:"key"`
	Exp   int64  `json:"exp"`
	Flag  string `json:"flag"`
	Label string `json:"label"`
	V     int    `json:"v"`
}

func decodeSHLink(t testing.TB, shlink string) shlPayload {
	t.Helper()
	b64, ok := strings.CutPrefix(shlink, "shlink:/")
	if !ok {
		t.Fatalf("not a shlink: %q", shlink)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	var p shlPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// shlSetup registers a patient whose public URL is the test server, with
// records, and makes a SMART Health Link to them.
func shlSetup(t testing.TB, e *env, extra ...string) (tok string, link resp, p shlPayload) {
	t.Helper()
	tok = e.register(t, "patient@example.org").str("token")
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", e.srv.URL), 200, "success", "")
	e.json(t, "POST", "/api/v1/profile/update-info", map[string]any{"token": tok, "updated_fields": map[string]any{"name": "Ada Lovelace", "date_of_birth": "1990-12-10"}})
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "penicillin")
	e.json(t, "POST", recordsPath, map[string]any{"token": tok, "record_type": "immunizations", "record_data": map[string]any{"vaccine": "Tetanus", "date": "2024-03-01"}})
	e.json(t, "POST", recordsPath, map[string]any{"token": tok, "record_type": "vitals", "record_data": map[string]any{"name": "Blood pressure", "value": "120/80 mmHg"}})
	kv := append([]string{"token", tok, "health_records_info", "allergies,immunizations,vitals,notes", "doctor_email", "dr@example.org"}, extra...)
	link = e.form(t, "POST", linkPath, kv...)
	want(t, link, 201, "success", "")
	return tok, link, decodeSHLink(t, link.str("shlink"))
}

func (e *env) manifest(t testing.TB, p shlPayload, body map[string]any) resp {
	t.Helper()
	b, _ := json.Marshal(body)
	return e.do(t, "POST", e.pagePath(t, p.URL), "application/json", bytes.NewReader(b))
}

type manifestFile struct {
	ContentType string `json:"contentType"`
	Embedded    string `json:"embedded"`
	Location    string `json:"location"`
}

func files(t testing.TB, r resp) []manifestFile {
	t.Helper()
	if r.Code != 200 {
		t.Fatalf("manifest: %d %s", r.Code, r.Raw)
	}
	var m struct {
		Files []manifestFile `json:"files"`
	}
	if err := json.Unmarshal(r.Raw, &m); err != nil || len(m.Files) == 0 {
		t.Fatalf("manifest: %s %v", r.Raw, err)
	}
	return m.Files
}

// decryptSHL decrypts a file with the link's key (go-jose) and returns
// the plaintext and the protected header's IV.
func decryptSHL(t testing.TB, p shlPayload, jwe string) ([]byte, string) {
	t.Helper()
	key, err := base64.RawURLEncoding.DecodeString(p.Key)
	if err != nil || len(key) != 32 {
		t.Fatalf("key %q: %v", p.Key, err)
	}
	obj, err := jose.ParseEncrypted(jwe, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Header.Algorithm != "dir" || obj.Header.ExtraHeaders["enc"] != "A256GCM" || obj.Header.ExtraHeaders["cty"] != "application/fhir+json" {
		t.Fatalf("header: %+v", obj.Header)
	}
	pt, err := obj.Decrypt(key)
	if err != nil {
		t.Fatal(err)
	}
	return pt, strings.Split(jwe, ".")[2]
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Resource map[string]any `json:"resource"`
	} `json:"entry"`
}

func readBundle(t testing.TB, pt []byte) bundle {
	t.Helper()
	var b bundle
	if err := json.Unmarshal(pt, &b); err != nil || b.ResourceType != "Bundle" {
		t.Fatalf("bundle: %s %v", pt, err)
	}
	return b
}

func (b bundle) types() []string {
	var out []string
	for _, en := range b.Entry {
		out = append(out, fmt.Sprint(en.Resource["resourceType"]))
	}
	return out
}

func TestSHLManifestProtocol(t *testing.T) {
	e := newEnv(t)
	startMail(t, e)
	tok, link, p := shlSetup(t, e, "passcode", "river-stone")
	if p.V != 1 || p.Flag != "LP" || len(p.Key) != 43 || p.Exp <= e.Clock.Now().Unix() || !strings.HasPrefix(p.URL, e.srv.URL+"/api/v1/shl/") || len(p.URL) > 128 || p.Label != "Health records of Ada Lovelace" {
		t.Fatalf("payload: %+v", p)
	}
	if got := link.str("access_link"); got != e.srv.URL+"/shl#"+link.str("shlink") {
		t.Fatalf("access_link %q", got)
	}
	// The viewer is one static page for every link (the link is in the
	// fragment, which the server never sees): the same bytes each time,
	// with their length.
	// A browser that takes gzip (all do) gets it compressed.
	v1, v2 := e.do(t, "GET", "/shl", "", nil, "Accept-Encoding", "identity"), e.do(t, "GET", "/shl", "", nil, "Accept-Encoding", "identity")
	if v1.Code != 200 || !bytes.Equal(v1.Raw, v2.Raw) || v1.Header.Get("Content-Length") != strconv.Itoa(len(v1.Raw)) || v1.Header.Get("Content-Encoding") != "" ||
		!bytes.Contains(v1.Raw, []byte(`id="recipient"`)) || !strings.Contains(v1.Header.Get("Content-Security-Policy"), "script-src 'sha256-") {
		t.Fatalf("viewer: %d %v %d bytes", v1.Code, v1.Header, len(v1.Raw))
	}
	for ae, gz := range map[string]bool{
		"gzip, deflate, br, zstd": true, "br;q=1.0, GZIP;q=0.5": true, "*": true,
		"gzip;q=0": false, "br": false, "deflate, gzip ; q=0.000": false,
		"gzip;q=0, *": false, "br, *;q=0": false, "x-gzip": true, "gzip;q=high": false,
	} {
		v := e.do(t, "GET", "/shl", "", nil, "Accept-Encoding", ae)
		body := v.Raw
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(v.Raw))
			if err != nil {
				t.Fatalf("%q: %v", ae, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%q: %v", ae, err)
			}
		}
		if (v.Header.Get("Content-Encoding") == "gzip") != gz || v.Header.Get("Vary") != "Accept-Encoding" ||
			v.Header.Get("Content-Length") != strconv.Itoa(len(v.Raw)) || !bytes.Equal(body, v1.Raw) || (gz && len(v.Raw) >= len(v1.Raw)/2) {
			t.Fatalf("viewer for %q: %v, %d bytes", ae, v.Header, len(v.Raw))
		}
	}
	// The host holds no record in clear: the view has only encrypted files.
	want(t, e.manifest(t, p, map[string]any{"passcode": "river-stone"}), 400, "recipient must exist!", "missing_parameter")
	r := e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor"})
	if r.Code != 401 || r.Body["remainingAttempts"] != float64(10) {
		t.Fatalf("no passcode: %d %s", r.Code, r.Raw)
	}
	r = e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor", "passcode": "wrong"})
	if r.Code != 401 || r.Body["remainingAttempts"] != float64(9) || r.str("code") != "wrong_passcode" {
		t.Fatalf("wrong passcode: %d %s", r.Code, r.Raw)
	}
	fs := files(t, e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor", "passcode": "river-stone"}))
	if fs[0].ContentType != "application/fhir+json" || fs[0].Embedded == "" || fs[0].Location != "" {
		t.Fatalf("files: %+v", fs)
	}
	pt, iv1 := decryptSHL(t, p, fs[0].Embedded)
	validFHIR(t, pt)
	b := readBundle(t, pt)
	if b.Type != "collection" || strings.Join(b.types(), ",") != "Patient,AllergyIntolerance,Immunization,Observation" {
		t.Fatalf("bundle: %s", pt)
	}
	if !strings.Contains(string(pt), `"birthDate":"1990-12-10"`) || !strings.Contains(string(pt), `"family":"Lovelace"`) || !strings.Contains(string(pt), `"occurrenceDateTime":"2024-03-01"`) || !strings.Contains(string(pt), `"vital-signs"`) {
		t.Fatalf("bundle content: %s", pt)
	}

	// L: a record added or changed later shows on the next read, with a
	// fresh IV.
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "notes", "record_data", "Knee surgery 2019, no complications")
	fs = files(t, e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor", "passcode": "river-stone"}))
	pt, iv2 := decryptSHL(t, p, fs[0].Embedded)
	validFHIR(t, pt)
	if b := readBundle(t, pt); len(b.Entry) != 5 || b.types()[4] != "DocumentReference" {
		t.Fatalf("after adding: %s", pt)
	}
	if iv1 == iv2 {
		t.Fatal("the IV did not change")
	}

	// embeddedLengthMax: a location URL instead, living an hour.
	fs = files(t, e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor", "passcode": "river-stone", "embeddedLengthMax": 10}))
	if fs[0].Location == "" || fs[0].Embedded != "" || !strings.HasPrefix(fs[0].Location, e.srv.URL+"/api/v1/shl-file/") {
		t.Fatalf("location: %+v", fs)
	}
	get := func() (int, string) {
		res, err := http.Get(fs[0].Location)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, jwe := get()
	if code != 200 {
		t.Fatalf("location: %d %s", code, jwe)
	}
	if pt, _ := decryptSHL(t, p, jwe); len(readBundle(t, pt).Entry) != 5 {
		t.Fatalf("location file: %s", pt)
	}
	e.Clock.Advance(app.SHLLocationTTL + time.Second)
	if code, _ := get(); code != 404 {
		t.Fatalf("location after an hour: %d", code)
	}
	want(t, e.manifest(t, p, map[string]any{"recipient": "x", "embeddedLengthMax": -1, "passcode": "river-stone"}), 400, "embeddedLengthMax must be a non-negative integer!", "invalid_parameter")

	// Every manifest request is logged with its recipient.
	ls := e.form(t, "GET", linksPath, "token", tok)
	if n := strings.Count(string(ls.Raw), `"recipient":"Dr. Okafor"`); n < 5 || !strings.Contains(string(ls.Raw), `"outcome":"wrong_passcode"`) || !strings.Contains(string(ls.Raw), `"shlink":"shlink:/`) {
		t.Fatalf("openings (%d): %s", n, ls.Raw)
	}

	// Revoked: 404, and the old page does not serve it either.
	want(t, e.form(t, "POST", linksPath+"/"+link.str("link_id")+"/revoke", "token", tok), 200, "success", "")
	want(t, e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor", "passcode": "river-stone"}), 404, "the SMART Health Link is not active!", "unknown_link")
	want(t, e.manifest(t, shlPayload{URL: e.srv.URL + "/api/v1/shl/nope"}, map[string]any{"recipient": "x"}), 404, "the SMART Health Link is not active!", "unknown_link")
}

func TestSHLExpiredAndPlain(t *testing.T) {
	e := newEnv(t)
	startMail(t, e)
	_, _, p := shlSetup(t, e, "expiration_date", e.Clock.Now().Add(24*time.Hour).Format("2006-01-02"))
	if p.Flag != "L" {
		t.Fatalf("flag %q", p.Flag)
	}
	fs := files(t, e.manifest(t, p, map[string]any{"recipient": "Clinic"}))
	pt, _ := decryptSHL(t, p, fs[0].Embedded)
	validFHIR(t, pt)
	e.Clock.Advance(3 * 24 * time.Hour)
	want(t, e.manifest(t, p, map[string]any{"recipient": "Clinic"}), 404, "the SMART Health Link is not active!", "unknown_link")
}

func TestSHLDiesAfterTenWrongPasscodesInParallel(t *testing.T) {
	e := newEnv(t)
	startMail(t, e)
	_, _, p := shlSetup(t, e, "passcode", "river-stone")
	var mu sync.Mutex
	remaining := map[float64]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.manifest(t, p, map[string]any{"recipient": "guesser", "passcode": "guess"})
			mu.Lock()
			defer mu.Unlock()
			if r.Code == 401 {
				remaining[r.Body["remainingAttempts"].(float64)]++
			} else {
				remaining[-float64(r.Code)]++
			}
		}()
	}
	wg.Wait()
	// Exactly ten were counted (9 … 0 left), the rest found it dead.
	for n := 0; n < 10; n++ {
		if remaining[float64(n)] != 1 {
			t.Fatalf("remaining attempts answered: %v", remaining)
		}
	}
	if remaining[-404] != 6 {
		t.Fatalf("answers: %v", remaining)
	}
	want(t, e.manifest(t, p, map[string]any{"recipient": "Dr. Okafor", "passcode": "river-stone"}), 404, "the SMART Health Link is not active!", "unknown_link")
}

func TestSHLEncryptionFreshIV(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a, err := app.EncryptSHLFile(key, []byte(`{"resourceType":"Bundle","type":"collection"}`), "application/fhir+json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := app.EncryptSHLFile(key, []byte(`{"resourceType":"Bundle","type":"collection"}`), "application/fhir+json")
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if len(pa) != 5 || pa[1] != "" || pa[2] == pb[2] || pa[3] == pb[3] {
		t.Fatalf("two encryptions: %q %q", a, b)
	}
	if iv, _ := base64.RawURLEncoding.DecodeString(pa[2]); len(iv) != 12 {
		t.Fatalf("IV %q", pa[2])
	}
}

func TestFHIRRecordInput(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "patient@example.org").str("token")
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
	 {"resource":{"resourceType":"Patient","name":[{"text":"Ada"}]}},
	 {"resource":{"resourceType":"Condition","subject":{"reference":"Patient/1"},"code":{"text":"Asthma"}}},
	 {"resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"text":"Heart rate"},"valueQuantity":{"value":62,"unit":"/min"}}},
	 {"resource":{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Salbutamol"},"subject":{"reference":"Patient/1"}}}]}`
	r := e.json(t, "POST", recordsPath, map[string]any{"token": tok, "fhir": json.RawMessage(bundle)})
	want(t, r, 201, "success", "")
	if ids, _ := r.Body["record_ids"].([]any); len(ids) != 3 || ids[0] != r.str("record_id") {
		t.Fatalf("added: %s", r.Raw)
	}
	l := e.form(t, "GET", recordsPath, "token", tok)
	for _, typ := range []string{`"record_type":"conditions"`, `"record_type":"vitals"`, `"record_type":"medications"`} {
		if !strings.Contains(string(l.Raw), typ) {
			t.Fatalf("%s missing: %s", typ, l.Raw)
		}
	}
	one := `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/1"},"code":{"text":"Peanuts"},"criticality":"high"}`
	want(t, e.json(t, "POST", recordsPath, map[string]any{"token": tok, "fhir": json.RawMessage(one)}), 201, "success", "")

	// The first problem, named; never a 500.
	for _, c := range []struct{ in, msg string }{
		{`"text"`, "fhir: not a JSON object (cannot unmarshal string into Go value of type struct { ResourceType string \"json:\\\"resourceType\\\"\"; Entry []json.RawMessage \"json:\\\"entry\\\"\" })!"},
		{`{"code":{"text":"x"}}`, "fhir: resourceType must exist!"},
		{`{"resourceType":"Claim"}`, "fhir: resourceType Claim is not a health record (AllergyIntolerance, Immunization, Condition, MedicationStatement, Observation, DocumentReference)!"},
		{`{"resourceType":"Observation","code":{"text":"x"}}`, "fhir: (Observation): status must exist!"},
		{`{"resourceType":"Observation","status":"done","code":{"text":"x"}}`, "fhir: (Observation): unknown ObservationStatus code `done`!"},
		{`{"resourceType":"Observation","status":"final","code":{"text":"x"},"colour":"red"}`, "fhir: (Observation): unknown field \"colour\"!"},
		{`{"resourceType":"Observation","status":"final","code":"x"}`, "fhir: (Observation): code must be an object, not string!"},
		{`{"resourceType":"Immunization","status":"completed","vaccineCode":{"text":"x"},"patient":{"reference":"Patient/1"}}`, "fhir: (Immunization): occurrenceDateTime or occurrenceString must exist!"},
		{`{"resourceType":"MedicationStatement","status":"taken","medicationCodeableConcept":{"text":"x"},"subject":{}}`, "fhir: (MedicationStatement): status \"taken\" is not one of active, completed, entered-in-error, intended, stopped, on-hold, unknown, not-taken!"},
		{`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"resource":{"resourceType":"Condition"}}]}`, "fhir: entry[1] (Condition): subject must exist!"},
		{`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}`, "fhir: Bundle: no entry holds a health record!"},
		{`{"resourceType":"Bundle","type":"pile"}`, "fhir: Bundle: unknown BundleType code `pile`!"},
	} {
		r := e.json(t, "POST", recordsPath, map[string]any{"token": tok, "fhir": json.RawMessage(c.in)})
		if r.Code != 400 || r.str("code") != "invalid_fhir" || (c.msg != "" && r.str("status") != c.msg) {
			t.Errorf("%s: %d %s", c.in, r.Code, r.Raw)
		}
	}

	// The records added as FHIR come back as their resources, valid.
	want(t, e.form(t, "PUT", "/api/v1/profile/settings", "token", tok, "public_url", e.srv.URL), 200, "success", "")
	startMail(t, e)
	link := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "conditions,vitals,medications,allergies", "doctor_email", "dr@example.org")
	p := decodeSHLink(t, link.str("shlink"))
	pt, _ := decryptSHL(t, p, files(t, e.manifest(t, p, map[string]any{"recipient": "x"}))[0].Embedded)
	validFHIR(t, pt)
	if got := strings.Join(readBundle(t, pt).types(), ","); got != "Patient,Condition,Observation,MedicationStatement,AllergyIntolerance" || !strings.Contains(string(pt), `"criticality":"high"`) {
		t.Fatalf("bundle %s: %s", got, pt)
	}
}

// A link made with link_format=page (or before SMART Health Links) keeps
// its own page; it has no shlink.
func TestPageLinkHasNoSHLink(t *testing.T) {
	e := newEnv(t)
	startMail(t, e)
	tok := e.register(t, "patient@example.org").str("token")
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "allergies", "record_data", "penicillin")
	l := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "page", "doctor_email", "dr@example.org")
	if l.str("shlink") != "" || !strings.Contains(l.str("access_link"), "/api/v1/health-link/") {
		t.Fatalf("page link: %s", l.Raw)
	}
	want(t, e.openLink(t, l.str("access_link")), 200, "success", "")
	want(t, e.form(t, "POST", linkPath, "token", tok, "health_records_info", "allergies", "link_format", "pdf", "doctor_email", "dr@example.org"), 400, "link_format must be shl or page!", "invalid_parameter")
}
