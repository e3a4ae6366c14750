package idscan

import (
	"errors"
	"fmt"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Scanner is the domain's licence scanner ([app.Scanner]) over this
// package: it answers the domain's errors and types. main.go passes it in
// app.Config.
type Scanner struct{}

var _ app.Scanner = Scanner{}

// CheckImage reads only the image header (see [CheckImage]), refusing
// more than maxPixels pixels.
func (Scanner) CheckImage(image []byte, maxPixels int) error {
	return domainError(checkImage(image, maxPixels))
}

// DecodeImage decodes every pixel (see [DecodeImage]).
func (Scanner) DecodeImage(image []byte) error {
	_, err := DecodeImage(image)
	return domainError(err)
}

// ReadLicence finds and decodes the PDF417 barcode ([ScanImage]) and
// parses it ([ParseAAMVA]).
func (Scanner) ReadLicence(image []byte) (*app.Licence, error) {
	payload, err := ScanImage(image)
	if err != nil {
		return nil, domainError(err)
	}
	l, err := ParseAAMVA(payload)
	if err != nil {
		return nil, domainError(err)
	}
	return &app.Licence{Payload: payload, Fields: l.Fields(), DocumentNumber: l.DocumentNumber}, nil
}

// VerifyLicence parses the licence's payload again and checks it
// ([Verify]).
func (Scanner) VerifyLicence(l *app.Licence, now time.Time, profileName string) app.CredentialVerification {
	var lic *License
	if l != nil {
		lic, _ = ParseAAMVA(l.Payload) // nil when not AAMVA: Verify fails it
	}
	v := Verify(lic, now, profileName)
	return app.CredentialVerification{Status: domainStatus[v.Status], Problems: v.Problems}
}

// domainStatus names Verify's statuses in the domain's terms.
var domainStatus = map[string]string{
	StatusVerified: app.VerificationVerified,
	StatusExpired:  app.VerificationExpired,
	StatusFailed:   app.VerificationFailed,
}

// domainError wraps this package's error in the domain's: anything but a
// bad image or a payload that is not AAMVA is an unreadable barcode (the
// reader failing on this image included).
func domainError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w: %w", app.ErrScanTooLarge, err)
	case errors.Is(err, ErrNotImage):
		return fmt.Errorf("%w: %w", app.ErrScanNotImage, err)
	case errors.Is(err, ErrNotAAMVA):
		return fmt.Errorf("%w: %w", app.ErrScanNotAAMVA, err)
	}
	return fmt.Errorf("%w: %w", app.ErrScanNoBarcode, err)
}

// Fields returns the decoded fields as the domain keeps them (the
// credential's "extracted" JSON): names, dates (YYYY-MM-DD, nil when
// absent), address, the masked document number ([License.MaskedNumber]),
// document type, sex, issuer, jurisdiction, IIN and AAMVA version.
func (l *License) Fields() app.LicenceFields {
	if l == nil {
		return app.LicenceFields{}
	}
	date := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		d := day(t)
		return &d
	}
	return app.LicenceFields{
		FirstName:   l.FirstName,
		MiddleName:  l.MiddleName,
		LastName:    l.LastName,
		DateOfBirth: date(l.DateOfBirth),
		Address: app.LicenceAddress{
			Street:     l.Street,
			City:       l.City,
			State:      l.State,
			PostalCode: l.PostalCode,
			Country:    l.Country,
		},
		DocumentNumber: l.MaskedNumber(),
		DocumentType:   l.DocumentType,
		Sex:            l.Sex,
		IssueDate:      date(l.IssueDate),
		ExpiryDate:     date(l.ExpiryDate),
		Issuer:         l.Issuer,
		Jurisdiction:   l.Jurisdiction,
		IIN:            l.IIN,
		AAMVAVersion:   l.AAMVAVersion,
	}
}
