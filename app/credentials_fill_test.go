package app_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// fakeScanner reads every image as the same licence, numbered number.
type fakeScanner struct{ number string }

func (fakeScanner) CheckImage([]byte, int) error { return nil }
func (fakeScanner) DecodeImage([]byte) error     { return nil }
func (s *fakeScanner) ReadLicence([]byte) (*app.Licence, error) {
	dob := "1985-04-12"
	return &app.Licence{
		DocumentNumber: s.number,
		Fields: app.LicenceFields{
			FirstName: "GRACE", LastName: "HOPPER", DateOfBirth: &dob,
			Address:        app.LicenceAddress{Street: "123 MAIN ST", City: "SACRAMENTO", State: "CA", PostalCode: "95814"},
			DocumentNumber: "••••" + s.number[len(s.number)-4:],
		},
	}, nil
}
func (fakeScanner) VerifyLicence(*app.Licence, time.Time, string) app.CredentialVerification {
	return app.CredentialVerification{Status: app.VerificationVerified}
}

// Issue 15 §5: filling the profile from a licence writes the address to
// the home_address the profile has (no second address field), the preview
// says before and after, and the same licence added again is flagged.
func TestCredentialFillMapsOntoExistingFieldsAndFlagsDuplicates(t *testing.T) {
	sc := &fakeScanner{number: "D1234567"}
	env := storetest.New(t, app.Config{Scanner: sc})
	ctx := context.Background()
	p := newUser(t, env, "fill@example.org")
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"home_address":"1 Old Road, Arlington"}`)); err != nil {
		t.Fatal(err)
	}
	first, err := env.App.AddCredential(ctx, p, app.CredentialDriversLicense, []byte("photo 1"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate != nil {
		t.Fatalf("first licence flagged as a duplicate of %v", first.Duplicate)
	}
	plan, err := env.App.FillPreview(ctx, p, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []app.FillChange{
		{Field: "name", Old: "Grace Hopper", New: "Grace Hopper", Ring: app.RingPublic},
		{Field: "home_address", Old: "1 Old Road, Arlington", New: "123 MAIN ST, SACRAMENTO, CA 95814", Ring: app.RingPrivate},
	}
	if !slices.Equal(plan, want) {
		t.Fatalf("preview %+v, want %+v", plan, want)
	}
	_, filled, err := env.App.ConfirmCredential(ctx, p, first.ID, true)
	if err != nil || !slices.Equal(filled, []string{"name", "home_address"}) {
		t.Fatalf("filled %v %v", filled, err)
	}
	fields, err := env.App.Fields(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f.Name == "address" {
			t.Fatalf("a second address field: %+v", f)
		}
		if f.Name == "home_address" && f.Text() != "123 MAIN ST, SACRAMENTO, CA 95814" {
			t.Fatalf("home_address %q", f.Text())
		}
	}

	// The same licence again: kept, but flagged as the first one's copy.
	again, err := env.App.AddCredential(ctx, p, app.CredentialDriversLicense, []byte("photo 2"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Duplicate == nil || again.Duplicate.ID != first.ID || !again.Duplicate.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("duplicate %+v, want %s at %v", again.Duplicate, first.ID, first.CreatedAt)
	}
	// Another licence (another number, so other data) is no duplicate.
	sc.number = "D7654321"
	other, err := env.App.AddCredential(ctx, p, app.CredentialDriversLicense, []byte("photo 3"))
	if err != nil || other.Duplicate != nil {
		t.Fatalf("another licence: %+v %v", other, err)
	}
}
