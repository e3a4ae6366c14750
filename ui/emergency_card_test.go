package ui_test

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/ui"
)

// TestEmergencyCardReachAndFacts: a card whose page only this device can
// open carries no QR code and says so, offering Settings; the facts a
// responder needs are printed only when chosen; once the public URL is
// reachable by anyone the QR code opens the emergency page there; the
// preview is the saved PNG, and the PDF holds it.
func TestEmergencyCardReachAndFacts(t *testing.T) {
	u, env, w := signedIn(t)
	ctx := context.Background()
	p := u.Principal()
	emergencySetUp(t, env.App, p, app.RespondersVerified)
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	e := u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	waitFor(t, "card", func() bool { return e.Card.Visible() && e.Preview.Resource != nil })
	waitIdle(t, u)

	same := func(what string) {
		t.Helper()
		var saved bytes.Buffer
		if err := e.WriteCard(&saved); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(saved.Bytes(), e.Preview.Resource.Content()) {
			t.Fatalf("%s: the saved PNG is not the preview", what)
		}
	}
	has := func(line string) bool { return slices.Contains(e.CardLines(), line) }

	// Only this device can open the page: no QR code, and the card says
	// where the information is.
	if !strings.Contains(e.Reach.Text, "opens only on this device") || !e.SetURL.Visible() || e.URL.Visible() {
		t.Fatalf("reach %q, set URL shown %v", e.Reach.Text, e.SetURL.Visible())
	}
	if _, err := qr.Decode(e.Preview.Resource.Content()); err == nil {
		t.Fatal("a QR code on a card whose page no responder can open")
	}
	if !has("Emergency information") || !has("Grace Hopper") || has("Blood type: O-") {
		t.Fatalf("card lines %q", e.CardLines())
	}
	same("no QR code")

	// The facts, prefilled from the profile, printed only when chosen.
	for f, want := range map[string]string{ui.FactBloodType: "O-", ui.FactAllergies: "penicillin", ui.FactContact: "kin@example.org", ui.FactName: "Grace Hopper"} {
		if got := e.FactValue[f].Text; got != want {
			t.Fatalf("%s prefilled %q, want %q", f, got, want)
		}
	}
	ui.OnUI(func() { e.Facts.SetSelected([]string{ui.FactName, ui.FactBloodType, ui.FactAllergies}) })
	if !has("Blood type: O-") || !has("Allergies: penicillin") || has("Emergency contact: kin@example.org") || has("Conditions: ") {
		t.Fatalf("card lines %q", e.CardLines())
	}
	same("facts")
	ui.OnUI(func() { e.FactValue[ui.FactDiagnoses].SetText("Type 1 diabetes") })
	if has("Conditions: Type 1 diabetes") {
		t.Fatal("an unchosen fact printed")
	}
	ui.OnUI(func() { e.Facts.SetSelected([]string{ui.FactDiagnoses, ui.FactContact}) })
	if !has("Conditions: Type 1 diabetes") || !has("Emergency contact: kin@example.org") || has("Blood type: O-") || has("Grace Hopper") {
		t.Fatalf("card lines %q", e.CardLines())
	}
	same("other facts")

	// The way to set the public URL.
	tap(e.SetURL)
	if got := u.Shell.Tabs.Selected().Text; got != "Settings" {
		t.Fatalf("the button opened %q", got)
	}

	// Reachable by anyone: the QR code opens the emergency page there,
	// with the facts beside it.
	waitIdle(t, u)
	if _, err := env.App.SetPublicURL(ctx, p, "https://spp.example.org"); err != nil {
		t.Fatal(err)
	}
	url, err := env.App.EmergencyURL(ctx, p)
	if err != nil || !strings.HasPrefix(url, "https://spp.example.org/api/v1/emergency/") {
		t.Fatalf("emergency URL %q %v", url, err)
	}
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	waitFor(t, "reachable by anyone", func() bool { return strings.HasPrefix(e.Reach.Text, "Anyone can open") })
	waitIdle(t, u)
	if e.SetURL.Visible() || e.URL.Text != url {
		t.Fatalf("set URL shown %v, URL %q", e.SetURL.Visible(), e.URL.Text)
	}
	if got := shownQR(t, e.Preview); got != url {
		t.Fatalf("the card's QR code opens %q, want %q", got, url)
	}
	if !has("Scan in an emergency") || !has("Conditions: Type 1 diabetes") {
		t.Fatalf("card lines %q", e.CardLines())
	}
	same("QR code and facts")
	ui.OnUI(func() { e.Facts.SetSelected([]string{ui.FactName}) })
	if got := shownQR(t, e.Preview); got != url || has("Conditions: Type 1 diabetes") {
		t.Fatalf("QR %q, lines %q", got, e.CardLines())
	}
	same("QR code")

	// The PDF: one page holding the card's image at its size.
	var pdf bytes.Buffer
	if err := e.WritePDF(&pdf); err != nil {
		t.Fatal(err)
	}
	b := pdf.Bytes()
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", b[:min(len(b), 16)])
	}
	images := regexp.MustCompile(`/Type /XObject\s*/Subtype /Image\s*/Width (\d+)\s*/Height (\d+)`).FindAllSubmatch(b, -1)
	if len(images) != 1 || string(images[0][1]) != "680" || string(images[0][2]) != "880" {
		t.Fatalf("images in the PDF: %q", images)
	}
	if n := bytes.Count(b, []byte("/Type /Page\n")) + bytes.Count(b, []byte("/Type /Page ")); n != 1 {
		t.Fatalf("%d pages", n)
	}
	fitsPhone(t, u, w, "Emergency")
}
