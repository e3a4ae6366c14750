package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Credential kinds whose photo carries an AAMVA PDF417 barcode; every other
// credential_type is kept as an unverified document (image only).
const (
	CredentialDriversLicense = "drivers_license"
	CredentialIDCard         = "id_card"
)

// Verification outcomes of a credential.
const (
	VerificationVerified   = "verified"   // barcode decoded and every check passed
	VerificationExpired    = "expired"    // as verified, but past its expiry date
	VerificationFailed     = "failed"     // decoded, but a check failed (see Problems)
	VerificationUnverified = "unverified" // no barcode standard for the type, or no Scanner
)

// Limits of add-credential.
const (
	// MaxCredentialImage is the largest image accepted, in bytes (the
	// upload cap of the HTTP API).
	MaxCredentialImage = 16 << 20
	// MaxCredentialPixels is the largest image accepted, width × height,
	// checked from the image header before any pixel is decoded.
	MaxCredentialPixels = 40_000_000
	// CredentialScanLimit uploads per user within CredentialScanWindow;
	// more are refused (429) because reading a photo is CPU-heavy.
	CredentialScanLimit  = 30
	CredentialScanWindow = 10 * time.Minute
	// maxTypeLen bounds credential_type (bytes).
	maxTypeLen = 64
)

// scanSlots bounds the photos decoded at once on this device: decoding a
// 40-megapixel photo takes a few hundred MB and a CPU for up to seconds.
var scanSlots = make(chan struct{}, 2)

// Errors of the credential use cases.
var (
	ErrCredentialMissing  = E(KindInvalid, "missing_parameter", "credential_type,credential_image must exist!")
	errCredentialType     = E(KindInvalid, "invalid_credential_type", "credential_type format error!")
	errNotImage           = E(KindUnsupported, "not_an_image", "credential_image must be an image!")
	errImageTooLarge      = E(KindTooLarge, "image_too_large", "credential_image is too large!")
	errNoBarcode          = E(KindUnprocessable, "unreadable_barcode", "credential_image could not be read!")
	errNotAAMVA           = E(KindUnprocessable, "not_aamva", "credential_image could not be read!")
	errCredentialNotFound = E(KindNotFound, "credential_not_found", "credential_id does not exist!")
	errScanBusy           = E(KindRateLimited, "busy", "too many attempts, try again later!")
)

// Credential is a credential as its owner sees it: never the image or the
// full document number.
type Credential struct {
	ID           string          `json:"credential_id"`
	Type         string          `json:"type"`
	Status       string          `json:"status"`       // pending | confirmed
	Verification string          `json:"verification"` // verified | expired | failed | unverified
	Problems     []string        `json:"problems"`
	Extracted    json.RawMessage `json:"extracted"`
	CreatedAt    time.Time       `json:"created_at"`
	ConfirmedAt  *time.Time      `json:"confirmed_at"`

	// Duplicate is set by AddCredential when the profile already holds
	// this document (the same type and document number, or the same data
	// read from it): the earlier credential. The new one is kept all the
	// same; the caller warns the user, who may reject it. It is not part
	// of the API's answer.
	Duplicate *CredentialDuplicate `json:"-"`
}

// CredentialDuplicate names the credential a new one repeats.
type CredentialDuplicate struct {
	ID        string
	CreatedAt time.Time
}

// timeLayout keeps times fixed-width, so that their text sorts in time
// order (DateOfBirth picks the newest confirmation by comparing text).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// CredentialKind returns the canonical kind of a barcode-bearing credential
// type (drivers_license for "Driver's License", "Driver's Licence" or
// "drivers_license"; id_card for "id_card"; case-insensitive), or "" for
// any other type.
func CredentialKind(typ string) string {
	s := strings.ToLower(strings.TrimSpace(typ))
	s = strings.ReplaceAll(s, "\u2019", "'")
	switch s {
	case "driver's license", "driver's licence", "drivers_license":
		return CredentialDriversLicense
	case "id_card":
		return CredentialIDCard
	}
	return ""
}

// validType reports whether a credential type is short printable text.
func validType(s string) bool {
	if len(s) > maxTypeLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ImageContentType is the media type of an accepted credential image
// (image/png, image/jpeg, image/gif or image/webp) by its signature, or ""
// for anything else.
func ImageContentType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// AddCredential stores a credential from a photo. For a driver's licence or
// ID card the PDF417 barcode is read and verified (against the profile's
// name too); any other type is kept as an unverified document after the
// image is checked to decode. The credential is pending until confirmed.
// The image, the decoded fields and the full document number are sealed.
//
// Without a Scanner ([Config].Scanner nil) nothing is decoded: every
// credential whose bytes carry an image signature ([ImageContentType]) is
// kept as an unverified document, a licence with the problem that it was
// not read; other types are accepted as with a Scanner.
func (a *CredentialService) AddCredential(ctx context.Context, p *Principal, typ string, image []byte) (*Credential, error) {
	typ = strings.TrimSpace(typ)
	if typ == "" || len(image) == 0 {
		return nil, ErrCredentialMissing
	}
	if !validType(typ) {
		return nil, errCredentialType
	}
	if len(image) > MaxCredentialImage {
		return nil, errImageTooLarge
	}
	kind := CredentialKind(typ)
	if kind != "" {
		typ = kind
	}
	// Every upload counts, readable or not: decoding is what costs.
	limitKey := a.LimitKey("credential-scan", p.UserID)
	if err := a.ReserveAttempt(ctx, limitKey, CredentialScanLimit, CredentialScanWindow); err != nil {
		return nil, err
	}
	lic, err := a.readPhoto(ctx, p, kind != "", image)
	if err != nil {
		return nil, err
	}

	now := a.now()
	c := &Credential{
		ID:           NewID(),
		Type:         typ,
		Status:       CredentialPending,
		Verification: VerificationUnverified,
		Problems:     []string{},
		Extracted:    json.RawMessage("{}"),
		CreatedAt:    now,
	}
	if kind != "" && a.cfg.Scanner == nil {
		c.Problems = []string{problemNoScanner}
	}
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		cells := map[string][]byte{
			"type":       []byte(c.Type),
			"status":     []byte(c.Status),
			"image":      image,
			"created_at": []byte(now.Format(timeLayout)),
		}
		if lic != nil {
			name, _, err := fieldValue(tx, "name")
			if err != nil {
				return err
			}
			v := a.cfg.Scanner.VerifyLicence(lic, now, name.Text())
			c.Verification = v.Status
			if len(v.Problems) > 0 {
				c.Problems = v.Problems
			}
			if c.Extracted, err = json.Marshal(lic.Fields); err != nil {
				return err
			}
			cells["extracted"] = c.Extracted
			if lic.DocumentNumber != "" {
				cells["document_number"] = []byte(lic.DocumentNumber)
			}
			if c.Duplicate, err = findDuplicate(tx, c.Type, lic.DocumentNumber, c.Extracted); err != nil {
				return err
			}
			// Only a verified document vouches for a date of birth.
			if dob := lic.Fields.DateOfBirth; c.Verification == VerificationVerified && dob != nil {
				if _, err := time.Parse(DateLayout, *dob); err == nil {
					cells["date_of_birth"] = []byte(*dob)
				}
			}
		} else {
			cells["extracted"] = c.Extracted
		}
		v, err := json.Marshal(CredentialVerification{Status: c.Verification, Problems: c.Problems})
		if err != nil {
			return err
		}
		cells["verification"] = v
		for field, value := range cells {
			if err := tx.Put(Cell{Entity: EntityCredential, ID: c.ID, Field: field, Value: value}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	a.cfg.Log.Info("credential added", "user_id", p.UserID, "credential_id", c.ID, "verification", c.Verification)
	return c, nil
}

// findDuplicate is the earliest credential of type typ with the same
// document number (when known) or the same extracted data (when any), or
// nil.
func findDuplicate(tx Tx, typ, number string, extracted json.RawMessage) (*CredentialDuplicate, error) {
	ids, err := tx.IDs(EntityCredential)
	if err != nil {
		return nil, err
	}
	var dup *CredentialDuplicate
	for _, id := range ids {
		cells, err := tx.Entity(EntityCredential, id)
		if err != nil {
			return nil, err
		}
		if string(cells["type"].Value) != typ {
			continue
		}
		same := number != "" && string(cells["document_number"].Value) == number
		if !same && len(bytes.TrimSpace(extracted)) > 2 {
			old, ok := cells["extracted"]
			same = ok && bytes.Equal(old.Value, extracted)
		}
		if !same {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, string(cells["created_at"].Value))
		if dup == nil || at.Before(dup.CreatedAt) {
			dup = &CredentialDuplicate{ID: id, CreatedAt: at}
		}
	}
	return dup, nil
}

// problemNoScanner is the problem of a licence kept without a Scanner.
const problemNoScanner = "the barcode was not read: this installation has no licence scanner"

// readPhoto checks a credential's photo with the Scanner: its header
// first (format and pixel count, before any pixel), then, in a scan slot,
// its pixels, or for a licence its barcode (the licence returned). Without
// a Scanner only the image signature is checked.
func (a *CredentialService) readPhoto(ctx context.Context, p *Principal, licence bool, image []byte) (*Licence, error) {
	s := a.cfg.Scanner
	if s == nil {
		if ImageContentType(image) == "" {
			return nil, errNotImage
		}
		return nil, nil
	}
	if err := a.scanError(p, s.CheckImage(image, MaxCredentialPixels)); err != nil {
		return nil, err
	}
	var lic *Licence
	err := withScanSlot(ctx, func() error {
		var err error
		if licence {
			lic, err = s.ReadLicence(image)
		} else {
			err = s.DecodeImage(image)
		}
		return a.scanError(p, err)
	})
	return lic, err
}

// scanError maps a Scanner's error to the client's error; an error
// outside the Scanner's contract is logged and answered as an unreadable
// barcode.
func (a *CredentialService) scanError(p *Principal, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrScanTooLarge):
		return errImageTooLarge
	case errors.Is(err, ErrScanNotImage):
		return errNotImage
	case errors.Is(err, ErrScanNotAAMVA):
		return errNotAAMVA
	case errors.Is(err, ErrScanNoBarcode):
		return errNoBarcode
	}
	a.cfg.Log.Warn("credential photo not read", "user_id", p.UserID, "err", err)
	return errNoBarcode
}

// withScanSlot runs fn once one of the scan slots is free.
func withScanSlot(ctx context.Context, fn func() error) error {
	select {
	case scanSlots <- struct{}{}:
	case <-ctx.Done():
		e := *errScanBusy
		e.RetryAfter = time.Second
		return &e
	}
	defer func() { <-scanSlots }()
	return fn()
}

// readCredential reads a credential's listed fields (never the image).
func readCredential(tx Tx, id string) (*Credential, bool, error) {
	get := func(field string) ([]byte, bool, error) {
		c, ok, err := tx.Get(EntityCredential, id, field)
		return c.Value, ok, err
	}
	typ, ok, err := get("type")
	if err != nil || !ok {
		return nil, false, err
	}
	c := &Credential{ID: id, Type: string(typ), Problems: []string{}, Extracted: json.RawMessage("{}")}
	status, _, err := get("status")
	if err != nil {
		return nil, false, err
	}
	c.Status = string(status)
	if v, ok, err := get("verification"); err != nil {
		return nil, false, err
	} else if ok {
		var sv CredentialVerification
		if json.Unmarshal(v, &sv) == nil {
			c.Verification = sv.Status
			if len(sv.Problems) > 0 {
				c.Problems = sv.Problems
			}
		}
	}
	if v, ok, err := get("extracted"); err != nil {
		return nil, false, err
	} else if ok && json.Valid(v) {
		c.Extracted = json.RawMessage(v)
	}
	if v, ok, err := get("created_at"); err != nil {
		return nil, false, err
	} else if ok {
		c.CreatedAt, _ = time.Parse(time.RFC3339Nano, string(v))
	}
	if v, ok, err := get("confirmed_at"); err != nil {
		return nil, false, err
	} else if ok {
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			c.ConfirmedAt = &t
		}
	}
	return c, true, nil
}

// Credentials lists the principal's credentials, oldest first.
func (a *CredentialService) Credentials(ctx context.Context, p *Principal) ([]*Credential, error) {
	var out []*Credential
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityCredential)
		if err != nil {
			return err
		}
		for _, id := range ids {
			c, ok, err := readCredential(tx, id)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	if out == nil {
		out = []*Credential{}
	}
	return out, nil
}

// CredentialImage returns a credential's image and its media type.
func (a *CredentialService) CredentialImage(ctx context.Context, p *Principal, id string) (contentType string, image []byte, err error) {
	err = a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		c, ok, err := tx.Get(EntityCredential, id, "image")
		if err != nil {
			return err
		}
		if !ok {
			return errCredentialNotFound
		}
		image = c.Value
		return nil
	})
	if errors.Is(err, errCredentialNotFound) {
		return "", nil, errCredentialNotFound
	}
	if err != nil {
		return "", nil, Internal(err)
	}
	contentType = ImageContentType(image)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return contentType, image, nil
}

// Profile fields that confirming a licence with fill_profile writes when
// the profile has none of the fields fillTargets lists for them.
const (
	FillName    = "name"    // given, middle and family names
	FillAddress = "address" // street, city, state and postal code, one line
)

// fillTargets is where what a licence says goes in the profile: each item
// to the first of its fields the profile already has (so that a profile
// with a home_address gets no second address field), else to its default.
var fillTargets = []struct {
	fields []string
	def    string
	value  func(LicenceFields) string
}{
	{[]string{"name", "full_name"}, FillName, LicenceFields.Name},
	{[]string{"home_address", "address", "postal_address", "street_address"}, FillAddress, func(f LicenceFields) string { return f.Address.OneLine() }},
}

// FillChange is one profile field that confirming a credential with fill
// writes: its value before (Old, "" when the field is new) and after.
type FillChange struct {
	Field string
	Old   string
	New   string
	Ring  string // the field's ring, kept (a new field's default ring)
	IsNew bool
}

// fillPlan is what filling the profile from extracted would write.
func fillPlan(tx Tx, extracted json.RawMessage) ([]FillChange, error) {
	var ex LicenceFields
	if json.Unmarshal(extracted, &ex) != nil {
		return nil, nil
	}
	var out []FillChange
	for _, t := range fillTargets {
		v := t.value(ex)
		if v == "" {
			continue
		}
		ch := FillChange{Field: t.def, New: v, Ring: DefaultRing(t.def), IsNew: true}
		for _, name := range t.fields {
			cur, ok, err := fieldValue(tx, name)
			if err != nil {
				return nil, err
			}
			if ok {
				ch = FillChange{Field: name, Old: cur.Text(), New: v, Ring: cur.Ring}
				break
			}
		}
		out = append(out, ch)
	}
	return out, nil
}

// FillPreview says what ConfirmCredential with fill would write to the
// profile, field by field, before and after, without writing anything.
func (a *CredentialService) FillPreview(ctx context.Context, p *Principal, id string) ([]FillChange, error) {
	var out []FillChange
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		c, ok, err := readCredential(tx, id)
		if err != nil {
			return err
		} else if !ok {
			return errCredentialNotFound
		}
		out, err = fillPlan(tx, c.Extracted)
		return err
	})
	if errors.Is(err, errCredentialNotFound) {
		return nil, errCredentialNotFound
	}
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// ConfirmCredential marks a pending credential confirmed (a confirmed one
// stays as it is, with its first confirmation time). From then on a
// verified credential's date of birth is the one age claims use. With fill,
// the document's name and address are written to the profile's fields as
// fillTargets maps them (the name to "name"; the address to the
// home_address or address the profile has, else to a new "address"), each
// kept in its ring, or its default ring when new; filled lists the fields
// written.
func (a *CredentialService) ConfirmCredential(ctx context.Context, p *Principal, id string, fill bool) (c *Credential, filled []string, err error) {
	filled = []string{}
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		var ok bool
		var err error
		if c, ok, err = readCredential(tx, id); err != nil {
			return err
		} else if !ok {
			return errCredentialNotFound
		}
		if c.Status != CredentialConfirmed {
			now := a.now()
			c.Status, c.ConfirmedAt = CredentialConfirmed, &now
			if err := tx.Put(Cell{Entity: EntityCredential, ID: id, Field: "status", Value: []byte(CredentialConfirmed)}); err != nil {
				return err
			}
			if err := tx.Put(Cell{Entity: EntityCredential, ID: id, Field: "confirmed_at", Value: []byte(now.Format(timeLayout))}); err != nil {
				return err
			}
		}
		if !fill {
			return nil
		}
		plan, err := fillPlan(tx, c.Extracted)
		if err != nil {
			return err
		}
		for _, f := range plan {
			if err := putField(tx, f.Field, f.New, f.Ring); err != nil {
				return err
			}
			filled = append(filled, f.Field)
		}
		return nil
	})
	if errors.Is(err, errCredentialNotFound) {
		return nil, nil, errCredentialNotFound
	}
	if err != nil {
		return nil, nil, Internal(err)
	}
	return c, filled, nil
}

// RejectCredential deletes a credential, pending or confirmed, with its
// image and fields.
func (a *CredentialService) RejectCredential(ctx context.Context, p *Principal, id string) error {
	err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		if _, ok, err := tx.Get(EntityCredential, id, "type"); err != nil {
			return err
		} else if !ok {
			return errCredentialNotFound
		}
		return tx.Delete(EntityCredential, id)
	})
	if errors.Is(err, errCredentialNotFound) {
		return errCredentialNotFound
	}
	if err != nil {
		return Internal(err)
	}
	return nil
}
