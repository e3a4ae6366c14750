package idscan

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// TestScanner: the adapter answers the domain's types and errors: a licence
// read and verified, expired, failed on the name; every bad photo with its
// app.ErrScan* error; the domain's pixel limit applied from the header.
func TestScanner(t *testing.T) {
	var s app.Scanner = Scanner{}
	payload := licencePayload(testPerson, 10, "636014", false).build()
	photo := photoOf(t, payload, 7, 21)

	if err := s.CheckImage(photo, app.MaxCredentialPixels); err != nil {
		t.Fatalf("CheckImage: %v", err)
	}
	if err := s.DecodeImage(photo); err != nil {
		t.Fatalf("DecodeImage: %v", err)
	}
	l, err := s.ReadLicence(photo)
	if err != nil {
		t.Fatalf("ReadLicence: %v", err)
	}
	if !bytes.Equal(l.Payload, payload) || l.DocumentNumber != "D1234567" || l.Fields.LastName != "DOE" ||
		l.Fields.DocumentNumber != "••••4567" || l.Fields.DateOfBirth == nil || *l.Fields.DateOfBirth != "1985-04-12" {
		t.Fatalf("licence = %+v", l)
	}
	for _, tc := range []struct {
		now     [3]int
		profile string
		want    string
	}{
		{[3]int{2025, 6, 1}, "Jane Doe", app.VerificationVerified},
		{[3]int{2025, 6, 1}, "", app.VerificationVerified},
		{[3]int{2031, 1, 1}, "Jane Doe", app.VerificationExpired},
		{[3]int{2025, 6, 1}, "Ada Lovelace", app.VerificationFailed},
	} {
		v := s.VerifyLicence(l, date(tc.now[0], tc.now[1], tc.now[2]), tc.profile)
		if v.Status != tc.want || (tc.want == app.VerificationVerified) != (len(v.Problems) == 0) {
			t.Errorf("VerifyLicence(%v, %q) = %+v, want %s", tc.now, tc.profile, v, tc.want)
		}
	}
	if v := s.VerifyLicence(&app.Licence{Payload: []byte("not AAMVA")}, testNow, ""); v.Status != app.VerificationFailed {
		t.Errorf("VerifyLicence(not AAMVA) = %+v", v)
	}
	if v := s.VerifyLicence(nil, testNow, ""); v.Status != app.VerificationFailed {
		t.Errorf("VerifyLicence(nil) = %+v", v)
	}

	var white bytes.Buffer
	png.Encode(&white, image.NewGray(image.Rect(0, 0, 64, 48)))
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"header of text", s.CheckImage([]byte("text"), app.MaxCredentialPixels), app.ErrScanNotImage},
		{"header of a huge PNG", s.CheckImage(hugePNG(20000, 20000), app.MaxCredentialPixels), app.ErrScanTooLarge},
		{"header over the limit given", s.CheckImage(white.Bytes(), 64*48-1), app.ErrScanTooLarge},
		{"truncated JPEG", s.DecodeImage(photo[:len(photo)/2]), app.ErrScanNotImage},
		{"licence of text", second(s.ReadLicence([]byte("text"))), app.ErrScanNotImage},
		{"no barcode", second(s.ReadLicence(white.Bytes())), app.ErrScanNoBarcode},
		{"not AAMVA", second(s.ReadLicence(photoOf(t, []byte("BOARDING PASS M1DOE/JANE EABC123"), -4, 5))), app.ErrScanNotAAMVA},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if err := s.CheckImage(white.Bytes(), 64*48); err != nil {
		t.Errorf("header at the limit: %v", err)
	}
}

func second(_ *app.Licence, err error) error { return err }
