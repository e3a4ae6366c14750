package app

import (
	"errors"
	"strings"
	"time"
	"unicode"
)

// Scanner reads credential photos for AddCredential: it checks that the
// bytes are an image and reads the AAMVA PDF417 barcode on the back of a
// driver's licence or ID card. app/idscan implements it (cgo and
// zxing-cpp); main.go passes it in [Config].Scanner, so that the domain
// itself links no image or barcode code.
//
// Errors are the Err*Scan values below, wrapped or not; any other error
// from ReadLicence is logged and answered as an unreadable barcode.
type Scanner interface {
	// CheckImage reads only the image header: ErrScanNotImage for
	// anything but PNG, JPEG, GIF or WebP (or an unreadable header),
	// ErrScanTooLarge for more than maxPixels pixels (width × height).
	CheckImage(image []byte, maxPixels int) error
	// DecodeImage decodes every pixel: ErrScanNotImage for an image that
	// does not decode (truncated, say).
	DecodeImage(image []byte) error
	// ReadLicence finds and decodes the PDF417 barcode and parses its
	// AAMVA DL/ID payload: ErrScanNoBarcode when there is no readable
	// barcode, ErrScanNotAAMVA when it holds something else.
	ReadLicence(image []byte) (*Licence, error)
	// VerifyLicence checks a licence ReadLicence returned, as of now and,
	// when profileName is not empty, against the profile's name: the
	// status is VerificationFailed with the problems found, else
	// VerificationExpired past its expiry date, else VerificationVerified.
	VerifyLicence(l *Licence, now time.Time, profileName string) CredentialVerification
}

// Errors a Scanner reports; AddCredential answers each with its client
// error (not_an_image, image_too_large, unreadable_barcode, not_aamva).
var (
	ErrScanNotImage  = errors.New("not a supported image (PNG, JPEG, GIF or WebP)")
	ErrScanTooLarge  = errors.New("image has too many pixels")
	ErrScanNoBarcode = errors.New("no readable PDF417 barcode")
	ErrScanNotAAMVA  = errors.New("not an AAMVA DL/ID payload")
)

// Licence is what the barcode of a driver's licence or ID card says, as a
// Scanner read it.
type Licence struct {
	// Payload is the barcode's raw content, which VerifyLicence reads
	// again; it is not stored.
	Payload []byte
	// Fields are what the owner sees (the credential's "extracted").
	Fields LicenceFields
	// DocumentNumber is the full number; it is only ever stored sealed.
	DocumentNumber string
}

// LicenceFields are the fields read from a licence, as the credential's
// "extracted" JSON holds them. Dates are YYYY-MM-DD, nil when absent.
type LicenceFields struct {
	FirstName   string         `json:"first_name"`
	MiddleName  string         `json:"middle_name"`
	LastName    string         `json:"last_name"`
	DateOfBirth *string        `json:"date_of_birth"`
	Address     LicenceAddress `json:"address"`
	// DocumentNumber is masked: all but its last four characters are
	// "••••".
	DocumentNumber string  `json:"document_number"`
	DocumentType   string  `json:"document_type"` // "DL" or "ID"
	Sex            string  `json:"sex"`
	IssueDate      *string `json:"issue_date"`
	ExpiryDate     *string `json:"expiry_date"`
	Issuer         string  `json:"issuer"`       // the jurisdiction's name
	Jurisdiction   string  `json:"jurisdiction"` // its code, e.g. "CA"
	IIN            string  `json:"iin"`          // the issuer identification number
	AAMVAVersion   int     `json:"aamva_version"`
}

// LicenceAddress is the postal address printed on a licence.
type LicenceAddress struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// CredentialVerification is the outcome of checking a credential, as its
// "verification" cell keeps it.
type CredentialVerification struct {
	Status   string   `json:"status"`   // one of the Verification* outcomes
	Problems []string `json:"problems"` // why it failed (or when it expired)
}

// Name is the holder's full name, given names first; a name printed in
// capitals (as on most cards) is written in title case.
func (f LicenceFields) Name() string {
	var parts []string
	for _, s := range []string{f.FirstName, f.MiddleName, f.LastName} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, titleCase(s))
		}
	}
	return strings.Join(parts, " ")
}

// OneLine is the postal address on one line, as on the document:
// "STREET, CITY, ST POSTAL".
func (a LicenceAddress) OneLine() string {
	var parts []string
	for _, s := range []string{a.Street, a.City} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	if tail := strings.TrimSpace(strings.TrimSpace(a.State) + " " + strings.TrimSpace(a.PostalCode)); tail != "" {
		parts = append(parts, tail)
	}
	return strings.Join(parts, ", ")
}

// titleCase turns an all-capitals name into title case ("O'BRIEN" →
// "O'Brien", "SMITH-JONES" → "Smith-Jones"); a name already in mixed case
// is kept as it is.
func titleCase(s string) string {
	if strings.ToUpper(s) != s {
		return s
	}
	var b strings.Builder
	up := true
	for _, r := range s {
		if up {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		up = !unicode.IsLetter(r)
	}
	return b.String()
}
