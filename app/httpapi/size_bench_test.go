package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"
)

// BenchmarkProfileSize measures verify and update-info on a profile of
// 10 and of 1,000 fields (a tenth of them public, behind a visible public
// page, a share and emergency access), so that cost growth with the
// profile's size shows: verify answers from the share's view and should
// stay flat; update-info of a public field derives the public view again
// from every field, so it grows with them.
//
//	go test -tags ci -run '^$' -bench BenchmarkProfileSize -benchmem ./app/httpapi/
func BenchmarkProfileSize(b *testing.B) {
	for _, n := range []int{10, 1000} {
		e := benchEnv(b)
		c := e.srv.Client()
		tok := e.user(b, fmt.Sprintf("size-%d@example.org", n))
		public := []string{}
		for start := 0; start < n; start += 100 {
			fields := map[string]any{}
			for i := start; i < min(start+100, n); i++ {
				name := fmt.Sprintf("field_%04d", i)
				fields[name] = fmt.Sprintf("value number %d of the profile", i)
				if i%10 == 0 {
					public = append(public, name)
				}
			}
			e.setFields(b, tok, fields)
		}
		e.setFields(b, tok, map[string]any{"phone": "+15550100", "motto": "carpe diem"})
		public = append(public, "motto")
		e.ring(b, tok, "public", public)
		e.form(b, "POST", "/api/v1/profile/public", "token", tok, "public_info", `"hello"`, "visibility", "true")
		e.form(b, "POST", "/api/v1/profile/emergency-access", "token", tok, "trusted_contacts", `["kin@example.org"]`,
			"emergency_info", `"x"`, "info_field", `["phone"]`)
		vt := e.share(b, tok, "acme.example", "phone").str("verification_token")

		b.Run(fmt.Sprintf("verify/fields=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				get(b, c, e.srv.URL+"/api/v1/verify/"+vt, 200)
			}
		})
		b.Run(fmt.Sprintf("update-info/fields=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				post(b, c, e.srv.URL+"/api/v1/profile/update-info", url.Values{"token": {tok}, "updated_fields": {fmt.Sprintf(`{"motto":"day %d"}`, i)}}, 200)
			}
		})
	}
}
