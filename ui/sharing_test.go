package ui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/store/storetest"
	"github.com/secure-personal-profile/spp/ui"
)

// decodeCanvasQR renders the QR code an image on screen shows (its
// resource, drawn by Fyne's software painter at the size the screen gives
// it) and decodes the picture back to text.
func decodeCanvasQR(t *testing.T, img *canvas.Image) string {
	t.Helper()
	var (
		res     fyne.Resource
		visible bool
		size    fyne.Size
	)
	ui.OnUI(func() { res, visible, size = img.Resource, img.Visible(), img.MinSize() })
	if res == nil || !visible {
		t.Fatal("no QR code shown")
	}
	var pic image.Image
	ui.OnUI(func() { // the painter shares Fyne's caches with the UI
		c := canvas.NewImageFromResource(res)
		c.FillMode, c.ScaleMode = img.FillMode, img.ScaleMode
		w := test.NewTempWindow(t, c)
		w.SetPadded(false)
		w.Resize(size)
		pic = w.Canvas().Capture()
	})
	var buf bytes.Buffer
	if err := png.Encode(&buf, pic); err != nil {
		t.Fatal(err)
	}
	return decodeQRPNG(t, buf.Bytes())
}

// decodeQRPNG decodes a QR code picture with app/qr.Decode. About one code
// in a hundred that go-qrcode makes defeats gozxing's finder-pattern
// detector (the modules are perfect; the detector misplaces a corner), so
// a picture Decode cannot read is decoded again as a pure barcode: a
// clean, axis-aligned rendering, which is what a screen shows.
func decodeQRPNG(t *testing.T, b []byte) string {
	t.Helper()
	text, err := qr.Decode(b)
	if err == nil {
		return text
	}
	m, _, derr := image.Decode(bytes.NewReader(b))
	if derr != nil {
		t.Fatalf("QR picture unreadable: %v", derr)
	}
	bmp, berr := gozxing.NewBinaryBitmapFromImage(m)
	if berr != nil {
		t.Fatal(berr)
	}
	res, perr := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if perr != nil {
		t.Fatalf("QR code on screen does not decode: %v; as a pure barcode: %v", err, perr)
	}
	return res.GetText()
}

// screenFitsPhone renders the window at a phone's 400x800 and checks that the
// screen with the given tab title, as it is now (lists filled, codes
// shown), needs no more width than that; then it restores the desktop size.
func screenFitsPhone(t *testing.T, u *ui.UI, title string) {
	t.Helper()
	w := u.Window()
	ui.OnUI(func() {
		defer w.Resize(ui.DefaultSize)
		w.Resize(fyne.NewSize(400, 800))
		if img := w.Canvas().Capture(); img.Bounds().Dx() < 400 {
			t.Errorf("captured %v", img.Bounds())
		}
		for _, it := range u.Shell.Tabs.Items {
			if it.Text == title {
				if min := it.Content.MinSize(); min.Width > 400 {
					t.Errorf("%s needs %v wide on a phone", title, min.Width)
				}
				return
			}
		}
		t.Errorf("no tab %q", title)
	})
}

// appErrorCode is the code of an *app.Error, "" for anything else.
func appErrorCode(err error) string {
	var e *app.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func sharingScreen(t *testing.T, u *ui.UI) *ui.SharingScreen {
	t.Helper()
	s, ok := u.Shell.Screen("Sharing").(*ui.SharingScreen)
	if !ok {
		t.Fatal("no Sharing screen")
	}
	// Calls still running when the test ends would touch Fyne's caches
	// while the next test runs.
	t.Cleanup(func() {
		waitFor(t, "the sharing screen to be idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	ui.OnUI(func() { u.Shell.Select("Sharing") })
	waitFor(t, "the sharing screen to load", func() bool { return u.Shell.Idle() && len(s.FieldChoices()) > 0 })
	return s
}

func TestSharingApproveAndDenyRequests(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	a := env.App
	shopPoll, _, err := a.NewRequest(ctx, "192.0.2.10", "shop.example", "email", "grace", "")
	if err != nil {
		t.Fatal(err)
	}
	bankPoll, _, err := a.NewRequest(ctx, "192.0.2.11", "bank.example", "name", "grace", "")
	if err != nil {
		t.Fatal(err)
	}
	s := sharingScreen(t, u)
	waitFor(t, "two pending requests", func() bool {
		r1, r2 := s.Request("shop.example", "email"), s.Request("bank.example", "name")
		return r1 != nil && r1.Approve != nil && r2 != nil && r2.Deny != nil
	})
	if txt := s.Request("shop.example", "email").Text.Text; !strings.Contains(txt, "shop.example asks for your e-mail") {
		t.Fatalf("request shown as %q", txt)
	}

	ui.OnUI(func() { s.ApproveFor.SetSelected("1 day") })
	tap(s.Request("shop.example", "email").Approve)
	waitFor(t, "the approval", func() bool {
		r := s.Request("shop.example", "email")
		return r != nil && r.Approve == nil && strings.Contains(r.Text.Text, "approved")
	})
	// The third party polls and gets a token that verifies the e-mail.
	v, err := a.PollRequest(ctx, shopPoll)
	if err != nil || v.State != app.RequestApproved || v.VerificationToken == "" {
		t.Fatalf("poll after approve: %+v %v", v, err)
	}
	if d := v.ShareExpiresAt.Sub(env.Clock.Now()); d != 24*time.Hour {
		t.Fatalf("approved share lasts %v, want the 1 day chosen", d)
	}
	ver, err := a.Verify(ctx, v.VerificationToken)
	if err != nil || string(ver.Claims["email"]) != `"grace@example.org"` {
		t.Fatalf("verify: %+v %v", ver, err)
	}
	// The service is listed with what it now sees.
	waitFor(t, "shop.example in the services", func() bool {
		r := s.ServiceRow("shop.example")
		return r != nil && strings.Contains(r.Sees.Text, "E-mail (shared")
	})

	tap(s.Request("bank.example", "name").Deny)
	waitFor(t, "the denial", func() bool {
		r := s.Request("bank.example", "name")
		return r != nil && r.Deny == nil && strings.Contains(r.Text.Text, "denied")
	})
	v, err = a.PollRequest(ctx, bankPoll)
	if err != nil || v.State != app.RequestDenied || v.VerificationToken != "" {
		t.Fatalf("poll after deny: %+v %v", v, err)
	}
	if s.ServiceRow("bank.example") != nil {
		t.Fatal("a denied service is listed as having something")
	}
	screenFitsPhone(t, u, "Sharing")
}

func TestSharingCreateShareShowsItsQRCode(t *testing.T) {
	u, env, _ := signedIn(t)
	s := sharingScreen(t, u)
	choices := strings.Join(s.FieldChoices(), ",")
	if !strings.Contains(choices, "E-mail") || !strings.Contains(choices, "Age over 18") || strings.Contains(choices, "_") {
		t.Fatalf("field choices: %s", choices)
	}

	// A form without a service or a field says what it lacks, in words
	// (not the API's "service_id,info_field must exist!"), under Share;
	// nothing is shared. The field is chosen by its label, shared by its
	// key.
	for _, c := range []struct{ service, field, want string }{
		{"", "", "Type the service's name (e.g. shop.example) and choose what to share first."},
		{"", "E-mail", "Type the name of the service to share your e-mail with (e.g. shop.example) first."},
		{"club.example", " ", "Choose what to share with club.example first (e.g. E-mail, Age over 18)."},
	} {
		ui.OnUI(func() { s.Service.SetText(c.service); s.Field.SetText(c.field) })
		tap(s.ShareButton)
		waitFor(t, "the form's words", func() bool {
			return u.Shell.Idle() && s.ShareNotice.Visible() && s.ShareNotice.Text == c.want && u.Shell.Status.Text == c.want
		})
	}
	if acc, err := env.App.Access(context.Background(), u.Principal()); err != nil || len(acc) != 0 {
		t.Fatalf("shared from an incomplete form: %+v %v", acc, err)
	}

	ui.OnUI(func() { s.Service.SetText(""); s.Field.SetText("E-mail") })
	typeIn(s.Service, "club.example")
	ui.OnUI(func() { s.Expiry.SetSelected("30 days") })
	tap(s.ShareButton)
	waitFor(t, "the share's QR code", func() bool { return strings.Contains(s.VerifyURL.Text, app.VerifyPagePath+"#") })

	// The QR code carries the offline code: the verify page of the
	// public URL with the signed credential in the fragment.
	code := decodeCanvasQR(t, s.QR)
	if code != s.VerifyURL.Text {
		t.Fatalf("QR code carries %q, the screen shows %q", code, s.VerifyURL.Text)
	}
	if !s.VerifyURL.Selectable {
		t.Fatal("the code's text cannot be selected")
	}
	if prefix := env.App.URL(app.VerifyPagePath) + "#"; !strings.HasPrefix(code, prefix) {
		t.Fatalf("QR code %q is not under %q", code, prefix)
	}
	c := verifyShareCode(t, env, code)
	if d := c.ExpiresAt.Sub(env.Clock.Now()); d < 30*24*time.Hour-time.Second || d > 30*24*time.Hour {
		t.Fatalf("share lasts %v, want 30 days", d)
	}
	if _, err := app.VerifyCode(code, "other.example", env.Clock.Now()); appErrorCode(err) != "wrong_audience" {
		t.Fatalf("the code verifies for another audience: %v", err)
	}
	for _, want := range []string{"This code proves your e-mail to club.example by itself; no connection needed.", "Valid until " + c.ExpiresAt.Local().Format("2 Jan 2006")} {
		if !strings.Contains(s.QRExpires.Text, want) {
			t.Fatalf("the text under the code says %q, want %q", s.QRExpires.Text, want)
		}
	}
	// Honest: the profile sets no public URL, so the code's link opens
	// on this device only.
	if s.Reach.Text.Text != "Only this device can open this: no one else's phone or browser can." {
		t.Fatalf("who can open it: %q", s.Reach.Text.Text)
	}
	if s.Credential.Text != "" {
		t.Fatal("a credential in wallet format is shown for a share not made in it")
	}

	// The service now appears with the share, whose code can be shown
	// again: signed again (maybe at another second), the same claims.
	waitFor(t, "club.example listed", func() bool {
		r := s.ServiceRow("club.example")
		return r != nil && len(r.ShowQR) == 1
	})
	ui.OnUI(func() { s.VerifyURL.SetText("") })
	for _, b := range s.ServiceRow("club.example").ShowQR {
		tap(b)
	}
	waitFor(t, "the QR code shown again", func() bool { return strings.Contains(s.VerifyURL.Text, app.VerifyPagePath+"#") })
	again := decodeCanvasQR(t, s.QR)
	if again != s.VerifyURL.Text {
		t.Fatalf("QR code shown again carries %q, the screen shows %q", again, s.VerifyURL.Text)
	}
	if c2 := verifyShareCode(t, env, again); c2.ID != c.ID || c2.Issuer != c.Issuer || !c2.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("shown again: %+v, first %+v", c2, c)
	}
	screenFitsPhone(t, u, "Sharing")

	// "Set where people reach you" opens the Settings screen's field.
	tap(s.Reach.Set)
	waitFor(t, "the Settings screen", func() bool {
		return u.Shell.Tabs.Selected().Text == "Settings" && u.Window().Canvas().Focused() == u.Shell.Settings.PublicURL
	})
}

// verifyShareCode verifies a share code of the e-mail for club.example
// offline, as any verifier would.
func verifyShareCode(t *testing.T, env *storetest.Env, code string) *app.CodeCheck {
	t.Helper()
	c, err := app.VerifyCode(code, "club.example", env.Clock.Now())
	if err != nil {
		t.Fatalf("the code does not verify: %v", err)
	}
	if string(c.Claims["email"]) != `"grace@example.org"` || c.Audience != "club.example" || len(c.Claims) != 1 {
		t.Fatalf("the code verifies %+v", c)
	}
	return c
}

// The wallet format: the share is also an SD-JWT VC, shown to copy; the
// QR code stays the offline code.
func TestSharingWalletFormat(t *testing.T) {
	u, env, _ := signedIn(t)
	s := sharingScreen(t, u)
	typeIn(s.Service, "club.example")
	ui.OnUI(func() { s.Field.SetText("email") })
	tap(s.Wallet)
	tap(s.ShareButton)
	waitFor(t, "the credential", func() bool { return s.Credential.Text != "" })
	cred := s.Credential.Text
	if !strings.HasSuffix(cred, "~") || strings.Count(cred, "~") != 2 {
		t.Fatalf("not an SD-JWT with one disclosure: %q", cred)
	}
	hdr, _, _ := strings.Cut(cred, ".")
	if b, err := base64.RawURLEncoding.DecodeString(hdr); err != nil || !strings.Contains(string(b), `"typ":"dc+sd-jwt"`) {
		t.Fatalf("SD-JWT header %s %v", b, err)
	}
	verifyShareCode(t, env, decodeCanvasQR(t, s.QR))
	tap(s.CopyCredential)
	if got := fyne.CurrentApp().Clipboard().Content(); got != cred {
		t.Fatalf("clipboard holds %q", got)
	}
	screenFitsPhone(t, u, "Sharing")
}

func TestSharingRevokeEndsVerification(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	sh, err := env.App.CreateShare(ctx, u.Principal(), app.ShareRequest{ServiceID: "club.example", InfoField: "email"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Verify(ctx, sh.VerificationToken); err != nil {
		t.Fatal(err)
	}
	s := sharingScreen(t, u)
	waitFor(t, "club.example listed", func() bool {
		r := s.ServiceRow("club.example")
		return r != nil && r.Revoke != nil && strings.Contains(r.Sees.Text, "E-mail (shared")
	})
	row := s.ServiceRow("club.example")
	tap(row.Revoke)
	// The first tap only asks for confirmation.
	if !strings.HasPrefix(row.Revoke.Text, "Tap again") {
		t.Fatalf("revoke button says %q after one tap", row.Revoke.Text)
	}
	if _, err := env.App.Verify(ctx, sh.VerificationToken); err != nil {
		t.Fatalf("one tap revoked: %v", err)
	}
	tap(row.Revoke)
	waitFor(t, "the revocation shown", func() bool {
		r := s.ServiceRow("club.example")
		return r != nil && r.Revoke == nil && r.Sees.Text == "Sees nothing now." && strings.Contains(r.Text.Text, "Access revoked")
	})
	_, err = env.App.Verify(ctx, sh.VerificationToken)
	if appErrorCode(err) != "verification_token_revoked" {
		t.Fatalf("verify after revoke: %v", err)
	}
	acc, err := env.App.Access(ctx, u.Principal())
	if err != nil || len(acc) != 1 || len(acc[0].Sees) != 0 || acc[0].Shares[0].State != "revoked" {
		b, _ := json.Marshal(acc)
		t.Fatalf("access after revoke: %s %v", b, err)
	}
}
