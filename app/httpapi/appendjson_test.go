package httpapi_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/secure-personal-profile/spp/app/httpapi"
)

// TestAppendedAnswersAreEncodingJSONs: an answer that appends its own
// JSON writes, byte for byte, what encoding/json marshals of it, with
// every string field set (by reflection: a field added to the type and
// not to its appender fails here) to values that need escaping and to
// values that do not. RequestApprovedResponse embeds ShareResponse: it
// must not be appended as one (it would lose request_status), so it is
// either encoding/json's or appended in full.
func TestAppendedAnswersAreEncodingJSONs(t *testing.T) {
	samples := []string{"", "abc", "https://p.example/api/v1/verify/AbC-_1", `q"\`, "<&>", "\n\x01", "é\u2028", "\xff"}
	appended := 0
	for _, zero := range []any{httpapi.ShareResponse{}, httpapi.RequestApprovedResponse{}} {
		for i := range samples {
			v := reflect.New(reflect.TypeOf(zero)).Elem()
			n := 0
			fillStrings(v, func() string { n++; return samples[(i+n)%len(samples)] })
			body := v.Interface()
			got, ok := httpapi.AppendedJSON(body)
			if !ok {
				continue // encoding/json's
			}
			appended++
			want, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%T (sample %d):\nappended      %s\nencoding/json %s", body, i, got, want)
			}
		}
	}
	if appended == 0 {
		t.Error("no answer appends its JSON")
	}
}

// fillStrings sets every string field of v, in embedded structs too, each to a
// different sample: fields cannot stand in for one another.
func fillStrings(v reflect.Value, next func() string) {
	for f := 0; f < v.NumField(); f++ {
		switch v.Field(f).Kind() {
		case reflect.String:
			v.Field(f).SetString(next() + v.Type().Field(f).Name)
		case reflect.Struct:
			fillStrings(v.Field(f), next)
		}
	}
}
