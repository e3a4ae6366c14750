package idscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

// mustParse parses a payload that must be AAMVA.
func mustParse(t *testing.T, payload []byte) *License {
	t.Helper()
	l, err := ParseAAMVA(payload)
	if err != nil {
		t.Fatalf("ParseAAMVA(%q): %v", payload, err)
	}
	return l
}

func TestParseVersions(t *testing.T) {
	for _, v := range []int{1, 3, 8, 10} {
		for _, country := range []string{"USA", "CAN"} {
			p := testPerson
			iin, canadian := "636014", false
			if country == "CAN" {
				p.state, p.city, p.postal, iin, canadian = "BC", "VICTORIA", "V8W1A1", "636028", true
			}
			payload := licencePayload(p, v, iin, canadian).build()
			t.Run(fmt.Sprintf("%s_v%d", country, v), func(t *testing.T) {
				l := mustParse(t, payload)
				if l.AAMVAVersion != v {
					t.Errorf("version = %d, want %d", l.AAMVAVersion, v)
				}
				if v >= 2 && l.JurisdictionVersion != 1 {
					t.Errorf("jurisdiction version = %d, want 1", l.JurisdictionVersion)
				}
				if l.IIN != iin || l.DocumentType != "DL" {
					t.Errorf("IIN/type = %q/%q", l.IIN, l.DocumentType)
				}
				wantIssuer, wantJur := "California", "CA"
				if canadian {
					wantIssuer, wantJur = "British Columbia", "BC"
				}
				if l.Issuer != wantIssuer || l.Jurisdiction != wantJur {
					t.Errorf("issuer = %q/%q, want %q/%q", l.Issuer, l.Jurisdiction, wantIssuer, wantJur)
				}
				if l.FirstName != "JANE" || l.MiddleName != "QUINN" || l.LastName != "DOE" {
					t.Errorf("names = %q %q %q", l.FirstName, l.MiddleName, l.LastName)
				}
				if !l.DateOfBirth.Equal(date(1985, 4, 12)) || !l.IssueDate.Equal(date(2021, 6, 1)) || !l.ExpiryDate.Equal(date(2029, 4, 12)) {
					t.Errorf("dates = %v %v %v", l.DateOfBirth, l.IssueDate, l.ExpiryDate)
				}
				if l.DocumentNumber != "D1234567" || l.Street != "123 MAIN ST" || l.State != p.state || l.Sex != "F" {
					t.Errorf("number/street/state/sex = %q %q %q %q", l.DocumentNumber, l.Street, l.State, l.Sex)
				}
				wantPostal, wantCountry := "95814", "USA"
				if canadian {
					wantPostal, wantCountry = "V8W 1A1", "CAN"
				}
				if l.PostalCode != wantPostal || l.Country != wantCountry {
					t.Errorf("postal/country = %q %q", l.PostalCode, l.Country)
				}
				wantSub := 2
				if v == 1 {
					wantSub = 1
				} else if _, ok := l.Elements["Z"+p.state[:1]+"A"]; !ok {
					t.Errorf("Z subfile element missing: %v", l.Elements)
				}
				if len(l.Subfiles) != wantSub {
					t.Errorf("subfiles = %+v", l.Subfiles)
				}
				for _, s := range l.Subfiles {
					if s.Offset < 0 || s.Offset+s.Length > len(payload) || !bytes.HasPrefix(payload[s.Offset:], []byte(s.Type)) || payload[s.Offset+s.Length-1] != '\r' {
						t.Errorf("subfile %+v does not point at its type", s)
					}
				}
				if len(l.Defects) != 0 || len(l.Warnings) != 0 {
					t.Errorf("defects %v warnings %v", l.Defects, l.Warnings)
				}
				if vr := Verify(l, testNow, "Jane Doe"); vr.Status != StatusVerified {
					t.Errorf("Verify = %+v", vr)
				}
			})
		}
	}
}

// replaceOnce replaces the first old with new, failing the test if absent.
func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not in %q", old, b)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func TestParseQuirks(t *testing.T) {
	v8 := licencePayload(testPerson, 8, "636014", false)
	tests := []struct {
		name    string
		payload func(t *testing.T) []byte
		check   func(t *testing.T, l *License)
	}{
		{"offset off by +1", func(*testing.T) []byte { s := v8; s.offsetDelta = 1; return s.build() }, nil},
		{"offset off by -1", func(*testing.T) []byte { s := v8; s.offsetDelta = -1; return s.build() }, nil},
		{"offset points past the type", func(*testing.T) []byte { s := v8; s.offsetDelta = 2; return s.build() }, nil},
		{"subfiles without type prefix", func(*testing.T) []byte { s := v8; s.noTypePrefix = true; return s.build() }, nil},
		{"missing final CR", func(*testing.T) []byte { s := v8; s.noTerminator = true; return s.build() }, nil},
		{"trailing spaces", func(*testing.T) []byte { s := v8; s.trailingSpace = true; return s.build() }, nil},
		{"file type AAMVA", func(*testing.T) []byte { s := v8; s.fileType = "AAMVA"; return s.build() }, nil},
		{"wildly wrong offsets", func(t *testing.T) []byte {
			b := v8.build()
			return replaceOnce(t, b, "DL0041", "DL0900")
		}, nil},
		{"data after DL without directory", func(t *testing.T) []byte {
			full := v8.build()
			i := bytes.Index(full, []byte("DLDCA"))
			return append([]byte("@\n\x1e\rANSI 6360140801"), full[i:]...)
		}, nil},
		{"zero entries then data", func(t *testing.T) []byte {
			full := v8.build()
			i := bytes.Index(full, []byte("DLDCA"))
			return append([]byte("@\n\x1e\rANSI 636014080100"), full[i:]...)
		}, nil},
		{"version 1 with spaces in DAA", func(t *testing.T) []byte {
			return replaceOnce(t, licencePayload(testPerson, 1, "636014", false).build(), "DAADOE,JANE,QUINN", "DAADOE JANE QUINN")
		}, nil},
		{"version 1 with 'LAST, FIRST MIDDLE'", func(t *testing.T) []byte {
			return replaceOnce(t, licencePayload(testPerson, 1, "636014", false).build(), "DAADOE,JANE,QUINN", "DAADOE, JANE QUINN")
		}, nil},
		{"version 1 header with a jurisdiction version", func(t *testing.T) []byte {
			b := licencePayload(testPerson, 1, "636014", false).build()
			// Insert "00" after the version and shift the offset by 2.
			b = replaceOnce(t, b, "ANSI 63601401", "ANSI 6360140100")
			return replaceOnce(t, b, "DL0029", "DL0031")
		}, nil},
		{"version 3 DCT with comma", func(t *testing.T) []byte {
			return replaceOnce(t, licencePayload(testPerson, 3, "636014", false).build(), "DCTJANE QUINN", "DCTJANE,QUINN")
		}, nil},
		{"US card with dates in CCYYMMDD", func(t *testing.T) []byte {
			b := v8.build()
			return replaceOnce(t, b, "DBB04121985", "DBB19850412")
		}, nil},
		{"Latin-1 name", func(t *testing.T) []byte {
			return replaceOnce(t, v8.build(), "DCSDOE", "DCSDO\xc9")
		}, func(t *testing.T, l *License) {
			if l.LastName != "DOÉ" {
				t.Errorf("last name = %q", l.LastName)
			}
			if vr := Verify(l, testNow, "Jane Doé"); vr.Status != StatusVerified {
				t.Errorf("Verify = %+v", vr)
			}
		}},
		{"CRLF element separators", func(t *testing.T) []byte {
			b := v8.build()
			hdr := bytes.Index(b, []byte("DLDCA"))
			body := bytes.ReplaceAll(b[hdr:], []byte("\n"), []byte("\r\n"))
			// Offsets no longer match; the parser must still find both subfiles.
			return append(append([]byte{}, b[:hdr]...), body...)
		}, func(t *testing.T, l *License) {
			if l.LastName != "DOE" {
				t.Errorf("last name = %q", l.LastName)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.payload(t)
			l := mustParse(t, payload)
			if tc.check != nil {
				tc.check(t, l)
				return
			}
			if l.FirstName != "JANE" || l.LastName != "DOE" || l.MiddleName != "QUINN" {
				t.Errorf("names = %q %q %q (warnings %v)", l.FirstName, l.MiddleName, l.LastName, l.Warnings)
			}
			if !l.DateOfBirth.Equal(date(1985, 4, 12)) || !l.ExpiryDate.Equal(date(2029, 4, 12)) {
				t.Errorf("dates = %v %v", l.DateOfBirth, l.ExpiryDate)
			}
			if strings.TrimSpace(l.Elements["DAQ"]) != "D1234567" || l.DocumentNumber != "D1234567" {
				t.Errorf("DAQ = %q", l.Elements["DAQ"])
			}
			if vr := Verify(l, testNow, "JANE DOE"); vr.Status != StatusVerified {
				t.Errorf("Verify = %+v (warnings %v)", vr, l.Warnings)
			}
		})
	}
}

func TestParseNotAAMVA(t *testing.T) {
	good := string(licencePayload(testPerson, 8, "636014", false).build())
	tests := []struct{ name, payload, reason string }{
		{"empty", "", "empty"},
		{"plain text", "HELLO WORLD, THIS IS NOT A LICENCE", "compliance indicator"},
		{"no separators", "@ANSI 636014080102", "separators"},
		{"bad file type", strings.Replace(good, "ANSI ", "BLAH ", 1), "file type"},
		{"short IIN", "@\n\x1e\rANSI 6360", "issuer identification number"},
		{"letters in IIN", strings.Replace(good, "636014", "63A014", 1), "issuer identification number"},
		{"bad version", strings.Replace(good, "63601408", "636014X8", 1), "version"},
		{"header only", "@\n\x1e\rANSI 636014080102", "no subfile"},
		{"too large", "@\n\x1e\rANSI " + strings.Repeat("9", MaxPayload), "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseAAMVA([]byte(tc.payload))
			if !errors.Is(err, ErrNotAAMVA) {
				t.Fatalf("err = %v (licence %+v), want ErrNotAAMVA", err, l)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err = %q, want a reason mentioning %q", err, tc.reason)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	v8 := licencePayload(testPerson, 8, "636014", false)
	without := func(ids ...string) []byte {
		s := v8
		s.subfiles = append([]subfileSpec(nil), v8.subfiles...)
		var els []element
	next:
		for _, e := range s.subfiles[0].elements {
			for _, id := range ids {
				if e.id == id {
					continue next
				}
			}
			els = append(els, e)
		}
		s.subfiles[0].elements = els
		return s.build()
	}
	with := func(p person) []byte { return licencePayload(p, 8, "636014", false).build() }
	future := testPerson
	future.dob = [3]int{2030, 1, 1}
	inverted := testPerson
	inverted.issue, inverted.expiry = [3]int{2024, 1, 1}, [3]int{2023, 1, 1}
	expired := testPerson
	expired.expiry = [3]int{2025, 5, 31}
	lastDay := testPerson
	lastDay.expiry = [3]int{2025, 6, 1}
	unknownIIN := v8
	unknownIIN.iin = "999999"
	truncated := func() []byte {
		b := v8.build()
		// Declare three subfiles but list two.
		return bytes.Replace(b, []byte("080102DL"), []byte("080103DL"), 1)
	}()
	missingSub := func() []byte {
		b := v8.build()
		// Point the Z subfile far away and rename it so it cannot be found.
		b = bytes.Replace(b, []byte("ZC0"), []byte("ZX0"), 1)
		return b
	}()

	tests := []struct {
		name    string
		payload []byte
		profile string
		status  string
		problem string
	}{
		{"valid", v8.build(), "Jane Doe", StatusVerified, ""},
		{"valid, no name check", v8.build(), "", StatusVerified, ""},
		{"name reversed with comma", v8.build(), "Doe, Jane", StatusVerified, ""},
		{"name with middle", v8.build(), "  jane   QUINN doe ", StatusVerified, ""},
		{"name with middle initial", v8.build(), "Jane Q. Doe", StatusVerified, ""},
		{"expires today", with(lastDay), "Jane Doe", StatusVerified, ""},
		{"name mismatch", v8.build(), "John Doe", StatusFailed, "does not match"},
		{"first name only", v8.build(), "Jane", StatusFailed, "does not match"},
		{"unknown IIN", unknownIIN.build(), "", StatusFailed, "not a known jurisdiction"},
		{"truncated directory", truncated, "", StatusFailed, "structure"},
		{"subfile not found", missingSub, "", StatusFailed, "structure"},
		{"missing DAQ", without("DAQ"), "", StatusFailed, "DAQ"},
		{"missing DCS", without("DCS"), "", StatusFailed, "DCS"},
		{"missing DAC", without("DAC"), "", StatusFailed, "DAC or DCT"},
		{"missing DBB", without("DBB"), "", StatusFailed, "DBB"},
		{"missing DBA", without("DBA"), "", StatusFailed, "DBA"},
		{"missing DBD", without("DBD"), "", StatusFailed, "DBD"},
		{"birth in the future", with(future), "", StatusFailed, "not in the past"},
		{"issued after expiry", with(inverted), "", StatusFailed, "after expiry"},
		{"expired", with(expired), "Jane Doe", StatusExpired, "expired on 2025-05-31"},
		{"expired and wrong name", with(expired), "Someone Else", StatusFailed, "does not match"},
		{"invalid date", replaceOnce(t, v8.build(), "DBB04121985", "DBB13451985"), "", StatusFailed, "not a valid date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := mustParse(t, tc.payload)
			vr := Verify(l, testNow, tc.profile)
			if vr.Status != tc.status {
				t.Fatalf("status = %q, want %q (problems %v)", vr.Status, tc.status, vr.Problems)
			}
			if tc.problem == "" {
				if len(vr.Problems) != 0 {
					t.Errorf("problems = %v", vr.Problems)
				}
				return
			}
			found := false
			for _, p := range vr.Problems {
				found = found || strings.Contains(p, tc.problem)
			}
			if !found {
				t.Errorf("problems = %v, want one mentioning %q", vr.Problems, tc.problem)
			}
		})
	}
	t.Run("nil licence", func(t *testing.T) {
		if vr := Verify(nil, testNow, ""); vr.Status != StatusFailed || len(vr.Problems) == 0 {
			t.Errorf("Verify(nil) = %+v", vr)
		}
	})
	t.Run("bad header fields", func(t *testing.T) {
		l := mustParse(t, v8.build())
		l.AAMVAVersion = 11
		l.DocumentType = "XX"
		vr := Verify(l, testNow, "")
		if vr.Status != StatusFailed || len(vr.Problems) < 2 {
			t.Errorf("Verify = %+v", vr)
		}
	})
	t.Run("unsupported version in payload", func(t *testing.T) {
		l := mustParse(t, replaceOnce(t, v8.build(), "ANSI 63601408", "ANSI 63601412"))
		if vr := Verify(l, testNow, ""); vr.Status != StatusFailed || !strings.Contains(strings.Join(vr.Problems, ";"), "version 12") {
			t.Errorf("Verify = %+v", vr)
		}
	})
}

func TestMaskedNumber(t *testing.T) {
	for in, want := range map[string]string{
		"D1234567":          "••••4567",
		"O1234-56789-40719": "••••0719",
		"12345":             "••••2345",
		"1234":              "••••34",
		"7":                 "••••",
		"":                  "",
	} {
		l := &License{DocumentNumber: in}
		if got := l.MaskedNumber(); got != want {
			t.Errorf("MaskedNumber(%q) = %q, want %q", in, got, want)
		}
	}
	if (*License)(nil).MaskedNumber() != "" {
		t.Error("nil licence")
	}
}

func TestFields(t *testing.T) {
	l := mustParse(t, licencePayload(testPerson, 10, "636014", false).build())
	raw, err := json.Marshal(l.Fields())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"first_name": "JANE", "middle_name": "QUINN", "last_name": "DOE",
		"date_of_birth": "1985-04-12", "issue_date": "2021-06-01", "expiry_date": "2029-04-12",
		"document_number": "••••4567", "issuer": "California", "jurisdiction": "CA",
		"document_type": "DL", "sex": "F", "iin": "636014",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	addr, _ := got["address"].(map[string]any)
	if addr["street"] != "123 MAIN ST" || addr["city"] != "SACRAMENTO" || addr["state"] != "CA" || addr["postal_code"] != "95814" || addr["country"] != "USA" {
		t.Errorf("address = %v", addr)
	}
	if strings.Contains(string(raw), "D1234567") {
		t.Error("Fields leaks the full document number")
	}
	if got["aamva_version"] != 10.0 {
		t.Errorf("aamva_version = %v", got["aamva_version"])
	}
	empty, _ := json.Marshal((&License{}).Fields())
	if !strings.Contains(string(empty), `"date_of_birth":null`) || !strings.Contains(string(empty), `"expiry_date":null`) {
		t.Errorf("absent dates = %s", empty)
	}
}

func TestJurisdictionTable(t *testing.T) {
	byCountry := map[string]int{}
	codes := map[string]bool{}
	for _, j := range Jurisdictions() {
		if len(j.IIN) != 6 || !isDigits([]byte(j.IIN)) {
			t.Errorf("bad IIN %q", j.IIN)
		}
		if codes[j.Country+j.Code] {
			t.Errorf("duplicate code %s/%s", j.Country, j.Code)
		}
		codes[j.Country+j.Code] = true
		if got, ok := LookupIIN(j.IIN); !ok || got != j {
			t.Errorf("LookupIIN(%s) = %v %v", j.IIN, got, ok)
		}
		byCountry[j.Country]++
	}
	if len(jurisdictionByIIN) != len(jurisdictions) {
		t.Errorf("duplicate IINs")
	}
	// 50 states + DC + 5 territories + the Department of State; 10
	// provinces + 3 territories.
	if byCountry["USA"] != 57 || byCountry["CAN"] != 13 {
		t.Errorf("counts = %v", byCountry)
	}
	for iin, name := range map[string]string{
		"636014": "California", "636015": "Texas", "636001": "New York", "636020": "Colorado",
		"636028": "British Columbia", "636012": "Ontario", "604428": "Quebec", "636043": "District of Columbia",
		"604431": "Puerto Rico", "636000": "Virginia", "636010": "Florida", "604432": "Alberta",
	} {
		if j, ok := LookupIIN(iin); !ok || j.Name != name {
			t.Errorf("LookupIIN(%s) = %v, want %s", iin, j, name)
		}
	}
	if _, ok := LookupIIN("123456"); ok {
		t.Error("LookupIIN(123456) found")
	}
}
