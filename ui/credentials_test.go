package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/pdf417"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/idscan"
	"github.com/secure-personal-profile/spp/ui"
)

// licencePNG draws a US driver's licence barcode (an AAMVA payload in a
// PDF417 symbol, as app/httpapi's tests write it) for Grace Brewster
// Hopper, born 1985-04-12, on a white card, valid until 12 April four
// years on (the UI tests run on the real clock). (A minimal copy of the
// generator in app/httpapi/credentials_test.go.)
func licencePNG(t *testing.T) []byte {
	t.Helper()
	dl := "DL" + strings.Join([]string{
		"DCAC", "DCBNONE", "DCDNONE", fmt.Sprintf("DBA0412%d", time.Now().Year()+4), "DCSHOPPER", "DACGRACE", "DADBREWSTER",
		"DBD06012021", "DBB04121985", "DBC2", "DAYBRO", "DAU065 in", "DAG123 MAIN ST", "DAISACRAMENTO",
		"DAJCA", "DAK958140000", "DAQD1234567", "DCF83D9BN217QO983B1", "DCGUSA", "DDEN", "DDFN", "DDGN",
	}, "\n") + "\r"
	z := "ZCZCAORIGINAL\nZCB01\r"
	header := fmt.Sprintf("@\n\x1e\rANSI %s%02d%02d%02d", "636014", 10, 1, 2)
	off := len(header) + 2*10
	payload := header + fmt.Sprintf("DL%04d%04dZC%04d%04d", off, len(dl), off+len(dl), len(z)) + dl + z
	// boombuler/barcode writes a wrong row indicator unless the row count
	// is a multiple of three: pick an error correction level giving one.
	for _, ec := range []byte{5, 4, 3, 6, 2, 7} {
		code, err := pdf417.Encode(payload, ec)
		if err != nil || (code.Bounds().Dy()/2)%3 != 0 {
			continue
		}
		const module, quiet = 3, 30
		cols, rows := code.Bounds().Dx(), code.Bounds().Dy()/2
		img := image.NewRGBA(image.Rect(0, 0, cols*module+2*quiet, rows*module*3+2*quiet))
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		for r := 0; r < rows; r++ {
			for m := 0; m < cols; m++ {
				if c, _, _, _ := code.At(m, r*2).RGBA(); c < 0x8000 {
					for y := 0; y < module*3; y++ {
						for x := 0; x < module; x++ {
							img.Set(quiet+m*module+x, quiet+r*module*3+y, color.Black)
						}
					}
				}
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	t.Fatal("no PDF417 symbol with a row count divisible by 3")
	return nil
}

// noBarcodePNG is a picture with no barcode: a gradient.
func noBarcodePNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for y := 0; y < 80; y++ {
		for x := 0; x < 120; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitIdle waits until no background work of the shell is in flight, so
// that the test acts on still screens (Fyne's test driver runs fyne.Do on
// the calling goroutine, without serialising it).
func waitIdle(t *testing.T, u *ui.UI) {
	t.Helper()
	waitFor(t, "no work in flight", func() bool { return u.Shell.Idle() })
}

// TestCredentialsAddConfirmAndReject adds a licence from its photo, shows
// what was read and the verification, confirms it filling the profile
// (age claims then use the licence's date of birth), and rejects another
// document.
func TestCredentialsAddConfirmAndReject(t *testing.T) {
	u, env, w := signedInWith(t, app.Config{Scanner: idscan.Scanner{}})
	ctx := context.Background()
	p := u.Principal()
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Credentials") })
	c := u.Shell.Screen("Credentials").(*ui.CredentialsScreen)
	if c.Camera.Visible() {
		t.Fatal("a camera button on a desktop")
	}
	waitFor(t, "age line", func() bool { return strings.Contains(c.Age.Text, "no date of birth yet") })
	waitIdle(t, u)

	ui.OnUI(func() { c.Type.SetSelected("Driver's licence") })
	c.AddImage(licencePNG(t))
	waitFor(t, "licence read", func() bool { return c.Current() != nil && !c.Reject.Disabled() && c.Verification.Text != "" })
	if !strings.Contains(c.Fields.Text, "Name: GRACE BREWSTER HOPPER") || !strings.Contains(c.Fields.Text, "Date of birth: 1985-04-12") ||
		!strings.Contains(c.Fields.Text, "Document number: ••••4567") || strings.Contains(c.Fields.Text, "D1234567") {
		t.Fatalf("fields shown: %q", c.Fields.Text)
	}
	if !strings.HasPrefix(c.Verification.Text, "Verification: verified") || c.Problems.Text != "" {
		t.Fatalf("verification shown: %q %q", c.Verification.Text, c.Problems.Text)
	}
	if !c.Heading.Visible() || !strings.Contains(c.Heading.Text, "Driver's licence — pending") || !c.Fill.Visible() || c.Confirm.Disabled() {
		t.Fatalf("details: %q fill %v confirm disabled %v", c.Heading.Text, c.Fill.Visible(), c.Confirm.Disabled())
	}
	if c.List.Length() != 1 {
		t.Fatalf("%d credentials listed", c.List.Length())
	}
	licenceID := c.Current().ID
	waitIdle(t, u)

	tap(c.Fill)
	tap(c.Confirm)
	tapDialogButton(t, w, "Fill and confirm")
	waitFor(t, "confirmed", func() bool {
		cr := c.Credential(licenceID)
		return cr != nil && cr.Status == app.CredentialConfirmed && strings.Contains(c.Age.Text, "1985-04-12")
	})
	waitIdle(t, u)
	if !strings.Contains(c.Age.Text, "from a confirmed, verified credential") || !c.Confirm.Disabled() {
		t.Fatalf("age line %q, confirm disabled %v", c.Age.Text, c.Confirm.Disabled())
	}
	// Age claims now use the licence's date of birth, in the store.
	err := env.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		dob, fromCredential, ok, err := app.DateOfBirth(tx)
		if err == nil && (!ok || !fromCredential || !dob.Equal(time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC))) {
			t.Errorf("date of birth %v from credential %v ok %v", dob, fromCredential, ok)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The profile was filled from the document.
	fields, err := env.App.Fields(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fields {
		got[f.Name] = f.Text()
	}
	if got["name"] != "Grace Brewster Hopper" || got["address"] != "123 MAIN ST, SACRAMENTO, CA 95814" {
		t.Fatalf("profile after fill: %v", got)
	}

	// Another document: kept unverified (nothing decoded), then rejected.
	waitIdle(t, u)
	ui.OnUI(func() { c.Type.SetSelected("Other") })
	c.AddImage(noBarcodePNG(t))
	waitFor(t, "document added", func() bool {
		return c.Current() != nil && c.Current().ID != licenceID && strings.HasPrefix(c.Verification.Text, "Verification: unverified")
	})
	otherID := c.Current().ID
	waitIdle(t, u)
	if !strings.HasPrefix(c.Verification.Text, "Verification: unverified") || c.Fill.Visible() || c.List.Length() != 2 ||
		!strings.HasPrefix(c.Fields.Text, "Nothing is read") {
		t.Fatalf("other document: %q %q fill %v, %d listed", c.Verification.Text, c.Fields.Text, c.Fill.Visible(), c.List.Length())
	}
	tap(c.Reject)
	waitFor(t, "rejected", func() bool { return c.Credential(otherID) == nil && c.List.Length() == 1 && c.Current() == nil })
	stored, err := env.App.Credentials(ctx, p)
	if err != nil || len(stored) != 1 || stored[0].ID != licenceID {
		t.Fatalf("stored after reject: %v %v", stored, err)
	}

	// Not an image: the app's error is shown, nothing is added.
	waitIdle(t, u)
	c.AddImage([]byte("not an image at all"))
	waitFor(t, "error shown", func() bool {
		return u.Shell.Status.Text == "That file is not a picture: choose a PNG, JPEG, GIF or WebP photo."
	})
	if c.List.Length() != 1 || c.FromFile.Disabled() {
		t.Fatalf("after a bad file: %d listed, add disabled %v", c.List.Length(), c.FromFile.Disabled())
	}
	ui.OnUI(func() { c.List.Select(0) })
	fitsPhone(t, u, w, "Credentials")
}

// Issue 15 §5: filling the profile from a licence writes onto the fields
// the user has (home_address, no second address), after showing before
// and after; the same licence added again is said to be a copy. §3: a
// photo with no barcode says what to do.
func TestCredentialsFillShowsChangesAndWarnsOfDuplicates(t *testing.T) {
	u, env, w := signedInWith(t, app.Config{Scanner: idscan.Scanner{}})
	ctx := context.Background()
	p := u.Principal()
	if _, err := env.App.UpdateInfo(ctx, p, []byte(`{"home_address":"1 Old Road, Arlington"}`)); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Credentials") })
	c := u.Shell.Screen("Credentials").(*ui.CredentialsScreen)
	waitIdle(t, u)

	ui.OnUI(func() { c.Type.SetSelected("Driver's licence") })
	c.AddImage(noBarcodePNG(t))
	waitFor(t, "no barcode", func() bool { return u.Shell.Idle() && !c.FromFile.Disabled() })
	if got := u.Shell.Status.Text; got != "No barcode found: photograph the back of the card, flat and in focus." {
		t.Fatalf("status %q", got)
	}

	c.AddImage(licencePNG(t))
	waitFor(t, "licence read", func() bool { return c.Current() != nil && u.Shell.Idle() })
	first := c.Current()
	if strings.Contains(u.Shell.Status.Text, "already added") {
		t.Fatalf("first licence called a copy: %q", u.Shell.Status.Text)
	}
	tap(c.Fill)
	tap(c.Confirm)
	tapDialogButton(t, w, "Cancel")
	waitIdle(t, u)
	if cr, _ := env.App.Credentials(ctx, p); cr[0].Status != app.CredentialPending {
		t.Fatal("confirmed though cancelled")
	}
	tap(c.Confirm)
	waitFor(t, "the preview", func() bool { return strings.Contains(dialogText(w), "→") })
	var txt string
	ui.OnUI(func() { txt = dialogText(w) })
	if !strings.Contains(txt, "Home address: 1 Old Road, Arlington → 123 MAIN ST, SACRAMENTO, CA 95814") ||
		!strings.Contains(txt, "Name: Grace Hopper → Grace Brewster Hopper") {
		t.Fatalf("preview %q", txt)
	}
	tapDialogButton(t, w, "Fill and confirm")
	waitFor(t, "confirmed", func() bool {
		cr := c.Credential(first.ID)
		return cr != nil && cr.Status == app.CredentialConfirmed && u.Shell.Idle()
	})
	if got := u.Shell.Status.Text; got != "Confirmed. Filled from the document: Name, Home address." {
		t.Fatalf("status %q", got)
	}
	fields, err := env.App.Fields(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f.Name == "address" {
			t.Fatalf("a second address field beside home_address: %q", f.Text())
		}
		if f.Name == "home_address" && f.Text() != "123 MAIN ST, SACRAMENTO, CA 95814" {
			t.Fatalf("home_address %q", f.Text())
		}
	}

	// The same licence again.
	c.AddImage(licencePNG(t))
	waitFor(t, "copy read", func() bool { return c.Current() != nil && c.Current().ID != first.ID && u.Shell.Idle() })
	if got := u.Shell.Status.Text; !strings.HasPrefix(got, "You already added this licence on "+first.CreatedAt.Local().Format("2 Jan 2006")) {
		t.Fatalf("status %q", got)
	}
}
