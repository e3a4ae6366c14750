package app

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// jsonSamples are strings and values on both sides of the plain paths:
// what needs escaping or compacting, and what does not.
var jsonSamples = []string{
	"", "plain", "acme.example", "https://example.org/api/v1/verify/AbC-_123",
	`quote"`, `back\slash`, "<script>", "a&b", "tab\there", "nl\n", "\x00\x1f", "\x7f",
	"é", "\u2028", "\u2029", "\xff\xfe invalid", "emoji 😀", "space inside",
}

var rawSamples = []string{
	`true`, `false`, `null`, `42`, `-1.5e3`, `"x"`, `"seize the day"`, `{"a":[1,2,{"b":null}]}`,
	` true`, `{ "a" : 1 }`, "[1,\n2]", `"<b>"`, `"a&b"`, `"é"`, `"\u2028"`, "\"\u2028\"", `"\"quoted\\\""`,
	``, `{`, `tru`, `"unterminated`, `1 2`, "\"\xff\"",
}

// TestAppendJSONIsEncodingJSONs: a string, a raw value, a credential's
// payload, a share's record and its view (members omitted or not) are
// appended byte for byte as encoding/json marshals them, and
// a raw value it refuses is refused.
func TestAppendJSONIsEncodingJSONs(t *testing.T) {
	for _, s := range jsonSamples {
		checkAppendString(t, s)
	}
	for _, r := range rawSamples {
		checkAppendRaw(t, r)
	}
	times := []time.Time{{}, time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 6, 0, 0, 123456789, time.FixedZone("", 3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, s := range jsonSamples {
		t1, t2 := times[i%len(times)], times[(i+1)%len(times)]
		checkAppendShare(t, shareData{ServiceID: s, Service: "svc" + s, Field: "f" + s, Token: "t" + s, IssuedAt: t1, ExpiresAt: t2})
		for _, r := range rawSamples {
			checkAppendShareView(t, shareView{ServiceID: s, Field: "f" + s, IssuedAt: t1, ExpiresAt: t2, Value: json.RawMessage(r), Until: t2, Error: s})
		}
		checkAppendShareView(t, shareView{ServiceID: s, Field: s, IssuedAt: t2, ExpiresAt: t1})
	}
	for _, s := range jsonSamples {
		for _, status := range []string{"", "https://p.example/api/v1/share-status/" + s} {
			checkAppendCredential(t, s, "aud "+s, "jti", "claim"+s, json.RawMessage(`{"v":"`+s+`"}`), status)
			checkAppendCredential(t, "did:key:z6Mk", s, "urn:uuid:1", "age_over_18", json.RawMessage(`true`), status)
		}
	}
}

func checkAppendString(t *testing.T, s string) {
	t.Helper()
	want, _ := json.Marshal(s)
	if got := AppendJSONString([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
		t.Errorf("AppendJSONString(%q) = %s, encoding/json %s", s, got[1:], want)
	}
}

func checkAppendRaw(t *testing.T, r string) {
	t.Helper()
	want, werr := json.Marshal(json.RawMessage(r))
	got, err := AppendJSONRaw(nil, json.RawMessage(r))
	if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
		t.Errorf("AppendJSONRaw(%q) = %s, %v; encoding/json %s, %v", r, got, err, want, werr)
	}
}

func checkAppendCredential(t *testing.T, iss, aud, jti, claim string, value json.RawMessage, status string) {
	t.Helper()
	var p credentialPayload
	p.Iss, p.Aud, p.Jti, p.Iat, p.Nbf, p.Exp = iss, aud, jti, 1764612000, 1764612000, 1764615600
	p.VC.Context = []string{credentialContext}
	p.VC.Type = []string{"VerifiableCredential", "ProfileClaimCredential"}
	p.VC.Subject = map[string]json.RawMessage{claim: value}
	if status != "" {
		p.VC.Status = &credentialStatus{ID: status, Type: CredentialStatusType}
	}
	want, werr := json.Marshal(p)
	got, err := appendCredential(nil, iss, aud, jti, claim, value, status, p.Iat, p.Exp)
	if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
		t.Errorf("appendCredential = %s, %v\nencoding/json    %s, %v", got, err, want, werr)
	}
}

func checkAppendShare(t *testing.T, d shareData) {
	t.Helper()
	want, werr := json.Marshal(d)
	got, err := d.appendJSON(nil)
	if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
		t.Errorf("shareData.appendJSON = %s, %v\nencoding/json        %s, %v", got, err, want, werr)
	}
}

func checkAppendShareView(t *testing.T, v shareView) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, err := v.appendJSON(nil)
	if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
		t.Errorf("shareView.appendJSON = %s, %v\nencoding/json        %s, %v", got, err, want, werr)
	}
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add(s, `"`+s+`"`)
	}
	for _, r := range rawSamples {
		f.Add("s", r)
	}
	f.Fuzz(func(t *testing.T, s, raw string) {
		checkAppendString(t, s)
		checkAppendRaw(t, raw)
		checkAppendCredential(t, s, s, s, s, json.RawMessage(raw), s)
		at := time.Unix(int64(len(s))*1e7, int64(len(raw))).UTC()
		checkAppendShare(t, shareData{ServiceID: s, Service: raw, Field: s, Token: raw, IssuedAt: at, ExpiresAt: at})
		checkAppendShareView(t, shareView{ServiceID: s, Field: raw, IssuedAt: at, ExpiresAt: at, Value: json.RawMessage(raw), Until: at, Error: s})
	})
}
