package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Health records as FHIR R4 (API.md Part 4 "Doctors: SMART Health Links
// with FHIR"): each record type maps to its resource, the patient is a
// Patient resource with the profile's name and date of birth where their
// rings allow, and records may be added as FHIR JSON (a resource or a
// Bundle), validated on the way in. The resources are the models of
// github.com/samply/golang-fhir-models; what they marshal is pruned of
// the empty elements their non-pointer choice fields leave (FHIR allows
// no empty strings, objects or arrays).

// fhirResourceOf is the resource a record type maps to.
func fhirResourceOf(recordType string) string {
	switch recordType {
	case "allergies", "allergy", "allergy_intolerance", "allergy_intolerances":
		return "AllergyIntolerance"
	case "immunizations", "immunization", "vaccinations", "vaccination", "vaccines":
		return "Immunization"
	case "conditions", "condition", "diagnoses", "diagnosis", "problems":
		return "Condition"
	case "medications", "medication", "medicines", "prescriptions":
		return "MedicationStatement"
	case "lab_results", "lab_result", "labs", "laboratory", "blood_tests", "blood_test", "tests":
		return "Observation"
	case "vitals", "vital_signs", "vital", "blood_pressure", "weight", "height", "heart_rate":
		return "Observation"
	}
	return "DocumentReference"
}

func isVitals(recordType string) bool {
	switch recordType {
	case "vitals", "vital_signs", "vital", "blood_pressure", "weight", "height", "heart_rate":
		return true
	}
	return false
}

// fhirPatient is what the Patient resource may show.
type fhirPatient struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	BirthDate string `json:"birth_date,omitempty"`
}

// patientOf reads the profile's name and date of birth where their rings
// allow (not restricted).
func patientOf(tx Tx, id string) (*fhirPatient, error) {
	p := &fhirPatient{ID: id}
	rs, err := loadRings(tx)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"name", "date_of_birth"} {
		f, ok, err := fieldValue(tx, name)
		if err != nil {
			return nil, err
		}
		if !ok || rs.level(f.Ring) == RingRestricted {
			continue
		}
		var s string
		if json.Unmarshal(f.Value, &s) != nil || strings.TrimSpace(s) == "" {
			continue
		}
		if name == "name" {
			p.Name = strings.TrimSpace(s)
		} else if _, err := time.Parse(DateLayout, s); err == nil {
			p.BirthDate = s
		}
	}
	return p, nil
}

// FHIRBundle is a collection Bundle of the records, with the patient.
func FHIRBundle(recs []*HealthRecord, patient *fhirPatient, at time.Time) ([]byte, error) {
	ref := "urn:uuid:" + patient.ID
	pt := fhir.Patient{Id: &patient.ID}
	if patient.Name != "" {
		n := patient.Name
		hn := fhir.HumanName{Text: &n}
		if parts := strings.Fields(n); len(parts) > 1 {
			fam := parts[len(parts)-1]
			hn.Family, hn.Given = &fam, parts[:len(parts)-1]
		}
		pt.Name = []fhir.HumanName{hn}
	}
	if patient.BirthDate != "" {
		pt.BirthDate = &patient.BirthDate
	}
	entries := make([]fhir.BundleEntry, 0, len(recs)+1)
	add := func(id string, v any) error {
		b, err := fhirJSON(v)
		if err != nil {
			return err
		}
		u := "urn:uuid:" + id
		entries = append(entries, fhir.BundleEntry{FullUrl: &u, Resource: b})
		return nil
	}
	if err := add(patient.ID, pt); err != nil {
		return nil, err
	}
	for _, r := range recs {
		res, err := recordResource(r, ref)
		if err != nil {
			return nil, err
		}
		if err := add(r.ID, res); err != nil {
			return nil, err
		}
	}
	ts := at.UTC().Format(time.RFC3339)
	return fhirJSON(fhir.Bundle{Type: fhir.BundleTypeCollection, Timestamp: &ts, Entry: entries})
}

// recordResource maps one record to its resource, referring to the
// patient. A record added as FHIR is its resource, with our id and the
// patient put in.
func recordResource(r *HealthRecord, patientRef string) (any, error) {
	subject := fhir.Reference{Reference: &patientRef}
	if kind := fhirKind(r.Data); kind != "" {
		var m map[string]any
		if err := json.Unmarshal(r.Data, &m); err != nil {
			return nil, err
		}
		m["id"] = r.ID
		switch kind {
		case "AllergyIntolerance", "Immunization":
			m["patient"] = subject
		default:
			m["subject"] = subject
		}
		return m, nil
	}
	text, note, date := recordText(r.Data)
	id := r.ID
	cc := &fhir.CodeableConcept{Text: &text}
	var notes []fhir.Annotation
	if note != "" && note != text {
		notes = []fhir.Annotation{{Text: note}}
	}
	switch fhirResourceOf(r.Type) {
	case "AllergyIntolerance":
		return fhir.AllergyIntolerance{Id: &id, Patient: subject, Code: cc, Note: notes, RecordedDate: date}, nil
	case "Immunization":
		im := fhir.Immunization{Id: &id, Status: fhir.ImmunizationStatusCodesCompleted, VaccineCode: *cc, Patient: subject, Note: notes}
		if date != nil {
			im.OccurrenceDateTime = *date
		} else {
			im.OccurrenceString = "date not recorded"
		}
		return im, nil
	case "Condition":
		return fhir.Condition{Id: &id, Subject: subject, Code: cc, Note: notes, RecordedDate: date}, nil
	case "MedicationStatement":
		return fhir.MedicationStatement{Id: &id, Status: "active", MedicationCodeableConcept: *cc, Subject: subject, Note: notes, EffectiveDateTime: date}, nil
	case "Observation":
		cat, disp := "laboratory", "Laboratory"
		if isVitals(r.Type) {
			cat, disp = "vital-signs", "Vital Signs"
		}
		sys := "http://terminology.hl7.org/CodeSystem/observation-category"
		label := recordTypeLabel(r.Type)
		ob := fhir.Observation{
			Id: &id, Status: fhir.ObservationStatusFinal, Subject: &subject, EffectiveDateTime: date,
			Category: []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: &sys, Code: &cat, Display: &disp}}}},
			Code:     fhir.CodeableConcept{Text: &label},
			Note:     notes,
		}
		ob.ValueString = &text
		return ob, nil
	}
	desc := recordTypeLabel(r.Type)
	data := base64.StdEncoding.EncodeToString([]byte(note))
	ct := "text/plain; charset=utf-8"
	created := r.CreatedAt.UTC().Format(time.RFC3339)
	return fhir.DocumentReference{
		Id: &id, Status: fhir.DocumentReferenceStatusCurrent, Subject: &subject, Description: &desc, Date: &created,
		Content: []fhir.DocumentReferenceContent{{Attachment: fhir.Attachment{ContentType: &ct, Data: &data, Title: &desc}}},
	}, nil
}

func recordTypeLabel(t string) string {
	t = strings.ReplaceAll(t, "_", " ")
	if t == "" {
		return "Health record"
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// recordText reads a record's data for its resource: the main text (a
// string, or the first of the usual names of an object), the whole as
// readable text, and a date where one is given.
func recordText(data json.RawMessage) (text, note string, date *string) {
	var v any
	if json.Unmarshal(data, &v) != nil {
		s := string(data)
		return s, s, nil
	}
	note = plainText(v)
	switch x := v.(type) {
	case string:
		text = x
	case map[string]any:
		for _, k := range []string{"name", "substance", "allergen", "vaccine", "condition", "medication", "drug", "test", "title", "description", "text", "value"} {
			if s, ok := x[k].(string); ok && strings.TrimSpace(s) != "" {
				text = s
				break
			}
		}
		for _, k := range []string{"date", "occurrence", "effective", "recorded", "on", "at", "given"} {
			if s, ok := x[k].(string); ok {
				if _, err := time.Parse(DateLayout, s); err == nil {
					date = &s
					break
				}
				if t, err := time.Parse(time.RFC3339, s); err == nil {
					d := t.UTC().Format(time.RFC3339)
					date = &d
					break
				}
			}
		}
	}
	if strings.TrimSpace(text) == "" {
		text = note
	}
	if strings.TrimSpace(text) == "" {
		text = "(empty)"
	}
	return text, note, date
}

// plainText is a JSON value as readable text: "key: value; …".
func plainText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+plainText(x[k]))
		}
		return strings.Join(parts, "; ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plainText(e)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fhirJSON marshals a resource and prunes the empty elements.
func fhirJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, err
	}
	x, _ = prune(x)
	return json.Marshal(x)
}

func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return x, x != ""
	case map[string]any:
		for k, e := range x {
			if p, ok := prune(e); ok {
				x[k] = p
			} else {
				delete(x, k)
			}
		}
		return x, len(x) > 0
	case []any:
		out := x[:0]
		for _, e := range x {
			if p, ok := prune(e); ok {
				out = append(out, p)
			}
		}
		return out, len(out) > 0
	}
	return v, true
}

// fhirKind is the resourceType of a record's data added as FHIR, or "".
func fhirKind(data json.RawMessage) string {
	if len(data) == 0 || data[0] != '{' {
		return ""
	}
	var h struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(data, &h) != nil {
		return ""
	}
	if _, ok := fhirInputs[h.ResourceType]; ok {
		return h.ResourceType
	}
	return ""
}

// fhirInput is a resource type records may be added as: its model, its
// required elements (any of the names of a choice), and a check of the
// codes the model leaves as plain strings.
type fhirInput struct {
	decode   func([]byte) error
	required [][]string
	codes    map[string][]string
}

func strict[T any](b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var v T
	if err := d.Decode(&v); err != nil {
		return err
	}
	return nil
}

var fhirInputs = map[string]fhirInput{
	"AllergyIntolerance": {decode: strict[fhir.AllergyIntolerance], required: [][]string{{"patient"}}},
	"Immunization":       {decode: strict[fhir.Immunization], required: [][]string{{"status"}, {"vaccineCode"}, {"patient"}, {"occurrenceDateTime", "occurrenceString"}}},
	"Condition":          {decode: strict[fhir.Condition], required: [][]string{{"subject"}}},
	"MedicationStatement": {decode: strict[fhir.MedicationStatement], required: [][]string{{"status"}, {"medicationCodeableConcept", "medicationReference"}, {"subject"}},
		codes: map[string][]string{"status": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}}},
	"Observation":       {decode: strict[fhir.Observation], required: [][]string{{"status"}, {"code"}}},
	"DocumentReference": {decode: strict[fhir.DocumentReference], required: [][]string{{"status"}, {"content"}}},
}

// FHIRRecord is one record read from FHIR input.
type FHIRRecord struct {
	Type string
	Data json.RawMessage
}

func fhirError(where, msg string) *Error {
	return E(KindInvalid, "invalid_fhir", "fhir: "+where+msg+"!")
}

// ParseFHIR reads FHIR R4 JSON (one resource or a Bundle of them) into
// records: AllergyIntolerance → allergies, Immunization → immunizations,
// Condition → conditions, MedicationStatement → medications, Observation
// → vitals (category vital-signs) or lab_results, DocumentReference →
// documents; a Bundle's Patient entries are skipped (the patient is the
// profile). The first problem is the error, naming where it is.
func ParseFHIR(b json.RawMessage) ([]FHIRRecord, error) {
	if len(b) == 0 {
		return nil, fhirError("", "a FHIR resource or Bundle must be given")
	}
	if len(b) > maxRecordData {
		return nil, errRecordTooLarge
	}
	if err := checkDepth("fhir", b); err != nil {
		return nil, err
	}
	var head struct {
		ResourceType string            `json:"resourceType"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fhirError("", "not a JSON object ("+jsonProblem(err)+")")
	}
	if head.ResourceType != "Bundle" {
		r, err := parseResource("", b)
		if err != nil {
			return nil, err
		}
		return []FHIRRecord{*r}, nil
	}
	var bm map[string]json.RawMessage
	json.Unmarshal(b, &bm)
	delete(bm, "resourceType")
	bb, _ := json.Marshal(bm)
	if err := strict[fhir.Bundle](bb); err != nil {
		return nil, fhirError("Bundle: ", jsonProblem(err))
	}
	var out []FHIRRecord
	for i, e := range head.Entry {
		var entry struct {
			Resource json.RawMessage `json:"resource"`
		}
		json.Unmarshal(e, &entry)
		where := fmt.Sprintf("entry[%d] ", i)
		if len(entry.Resource) == 0 {
			return nil, fhirError(where, "has no resource")
		}
		var h struct {
			ResourceType string `json:"resourceType"`
		}
		json.Unmarshal(entry.Resource, &h)
		if h.ResourceType == "Patient" {
			var pm map[string]json.RawMessage
			json.Unmarshal(entry.Resource, &pm)
			delete(pm, "resourceType")
			pb, _ := json.Marshal(pm)
			if err := strict[fhir.Patient](pb); err != nil {
				return nil, fhirError(where+"(Patient): ", jsonProblem(err))
			}
			continue
		}
		r, err := parseResource(where, entry.Resource)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	if len(out) == 0 {
		return nil, fhirError("Bundle: ", "no entry holds a health record")
	}
	return out, nil
}

func parseResource(where string, b []byte) (*FHIRRecord, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fhirError(where, "not a JSON object")
	}
	var rt string
	json.Unmarshal(m["resourceType"], &rt)
	if rt == "" {
		return nil, fhirError(where, "resourceType must exist")
	}
	in, ok := fhirInputs[rt]
	if !ok {
		return nil, fhirError(where, "resourceType "+rt+" is not a health record (AllergyIntolerance, Immunization, Condition, MedicationStatement, Observation, DocumentReference)")
	}
	where += "(" + rt + "): "
	// resourceType is not a field of the models.
	delete(m, "resourceType")
	body, _ := json.Marshal(m)
	if err := in.decode(body); err != nil {
		return nil, fhirError(where, jsonProblem(err))
	}
	for _, names := range in.required {
		found := false
		for _, n := range names {
			if v, ok := m[n]; ok && string(v) != "null" {
				found = true
			}
		}
		if !found {
			return nil, fhirError(where, strings.Join(names, " or ")+" must exist")
		}
	}
	for name, allowed := range in.codes {
		var s string
		json.Unmarshal(m[name], &s)
		if !fhirContains(allowed, s) {
			return nil, fhirError(where, fmt.Sprintf("%s %q is not one of %s", name, s, strings.Join(allowed, ", ")))
		}
	}
	t := map[string]string{
		"AllergyIntolerance": "allergies", "Immunization": "immunizations", "Condition": "conditions",
		"MedicationStatement": "medications", "Observation": "lab_results", "DocumentReference": "documents",
	}[rt]
	if rt == "Observation" && bytes.Contains(m["category"], []byte(`"vital-signs"`)) {
		t = "vitals"
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return nil, fhirError(where, jsonProblem(err))
	}
	return &FHIRRecord{Type: t, Data: compact.Bytes()}, nil
}

func fhirContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// jsonProblem words a decoding error for the user.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		te = e
	}
	if te != nil && te.Field != "" {
		return fmt.Sprintf("%s must be %s, not %s", te.Field, fhirTypeName(te.Type.Kind().String()), te.Value)
	}
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	return s
}

func fhirTypeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// AddFHIRRecords adds the health records of FHIR R4 JSON (ParseFHIR), in
// one transaction; a problem in any adds none.
func (a *HealthService) AddFHIRRecords(ctx context.Context, p *Principal, data json.RawMessage) ([]*HealthRecord, error) {
	recs, err := ParseFHIR(data)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := make([]*HealthRecord, len(recs))
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		for i, r := range recs {
			rec := &HealthRecord{ID: NewID(), Type: r.Type, Data: r.Data, CreatedAt: now, UpdatedAt: now}
			for _, c := range []Cell{
				{Field: "type", Value: []byte(rec.Type)},
				{Field: "data", Value: rec.Data},
				{Field: "created_at", Value: []byte(now.Format(time.RFC3339Nano))},
				{Field: "updated_at", Value: []byte(now.Format(time.RFC3339Nano))},
			} {
				c.Entity, c.ID = EntityHealthRecord, rec.ID
				if err := tx.Put(c); err != nil {
					return err
				}
			}
			out[i] = rec
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// FHIRBundleOf is the Bundle of records for a patient of that name and
// date of birth ("" for none), now (benchmarks and tools).
func FHIRBundleOf(recs []*HealthRecord, name, birthDate string) ([]byte, error) {
	return FHIRBundle(recs, &fhirPatient{ID: NewID(), Name: name, BirthDate: birthDate}, time.Now())
}
