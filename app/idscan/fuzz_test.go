package idscan

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseAAMVA feeds arbitrary payloads to the parser and the functions
// that consume its result; none may panic, and what they report must be
// consistent with the input.
func FuzzParseAAMVA(f *testing.F) {
	for _, v := range []int{1, 3, 8, 10} {
		f.Add(licencePayload(testPerson, v, "636014", false).build())
		f.Add(licencePayload(people[2], v, "636028", true).build())
	}
	v8 := licencePayload(testPerson, 8, "636014", false)
	for _, mutate := range []func(*payloadSpec){
		func(s *payloadSpec) { s.offsetDelta = 1 },
		func(s *payloadSpec) { s.offsetDelta = -2 },
		func(s *payloadSpec) { s.noTypePrefix = true },
		func(s *payloadSpec) { s.noTerminator = true },
		func(s *payloadSpec) { s.trailingSpace = true },
		func(s *payloadSpec) { s.fileType = "AAMVA" },
	} {
		s := v8
		mutate(&s)
		f.Add(s.build())
	}
	f.Add([]byte("@\n\x1e\rANSI 636014080100DLDAQX\nDCSY\r"))
	f.Add([]byte("@\n\x1e\rANSI 6360140801DLDAQX\r"))
	f.Add([]byte("@\n\x1e\rANSI 636014080199"))
	f.Add([]byte("@"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		l, err := ParseAAMVA(payload)
		if err != nil {
			if l != nil {
				t.Fatalf("licence and error: %v", err)
			}
			return
		}
		if l == nil || l.Elements == nil {
			t.Fatal("nil licence without error")
		}
		for _, s := range l.Subfiles {
			if s.Offset < 0 || s.Length < 0 || s.Offset+s.Length > len(payload) {
				t.Fatalf("subfile %+v outside the %d-byte payload", s, len(payload))
			}
		}
		for id := range l.Elements {
			if len(id) != 3 || !bytes.Contains(payload, []byte(id)) {
				t.Fatalf("element id %q not from the payload", id)
			}
		}
		vr := Verify(l, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), "Jane Doe")
		switch vr.Status {
		case StatusVerified:
			if len(vr.Problems) != 0 {
				t.Fatalf("verified with problems %v", vr.Problems)
			}
		case StatusExpired, StatusFailed:
			if len(vr.Problems) == 0 {
				t.Fatalf("%s without problems", vr.Status)
			}
		default:
			t.Fatalf("status %q", vr.Status)
		}
		_ = l.Fields()
		if m := l.MaskedNumber(); m != "" && !bytes.HasPrefix([]byte(m), []byte("••••")) {
			t.Fatalf("mask %q", m)
		}
	})
}
