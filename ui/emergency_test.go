package ui_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image/png"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/ui"
)

// shownQR decodes the QR code an image on screen shows.
func shownQR(t *testing.T, img *canvas.Image) string {
	t.Helper()
	if img.Resource == nil {
		t.Fatal("no QR code shown")
	}
	text, err := qr.Decode(img.Resource.Content())
	if err != nil {
		t.Fatalf("QR code on screen: %v", err)
	}
	return text
}

// TestEmergencySetupCardAndLog sets emergency access up, shows the card
// (its QR code opens the emergency page) and saves it as a PNG; a grant on
// this device refreshes the log and raises a notification, a refused
// attempt does not; a tampered log shows its chain broken.
func TestEmergencySetupCardAndLog(t *testing.T) {
	u, env, w := signedIn(t)
	ctx := context.Background()
	p := u.Principal()
	if _, err := env.App.SetPublicURL(ctx, p, "https://spp.example.org"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	e := u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	waitFor(t, "not set up", func() bool {
		return strings.Contains(e.State.Text, "not set up") && strings.HasPrefix(e.Chain.Text, ui.ChainOK+": no one")
	})
	if e.Card.Visible() || !reflect.DeepEqual(e.Fields.Options, []string{"E-mail", "Handle", "Name"}) {
		t.Fatalf("card visible %v, fields offered %v", e.Card.Visible(), e.Fields.Options)
	}

	waitIdle(t, u)
	ui.OnUI(func() { e.Fields.SetSelected([]string{"Name"}) }) // shown by its label, stored by its key
	typeIn(e.Info, "Allergic to penicillin")
	ui.OnUI(func() { e.Responders.SetSelected("Verified responders only") })
	typeIn(e.Conditions, "unconscious")
	typeIn(e.Contacts, "kin@example.org\n+1 555 123 4567")
	tap(e.Save)
	waitFor(t, "card shown", func() bool { return e.Card.Visible() && e.Preview.Resource != nil })

	url, err := env.App.EmergencyURL(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := shownQR(t, e.Preview); got != url || !strings.HasPrefix(url, "https://spp.example.org/api/v1/emergency/") {
		t.Fatalf("QR code on the card carries %q, want %q", got, url)
	}
	if l := e.CardLines(); len(l) < 2 || l[0] != "Scan in an emergency" || l[1] != "Grace Hopper" || e.URL.Text != url {
		t.Fatalf("card: %q %q", l, e.URL.Text)
	}
	cfg, err := env.App.EmergencyConfig(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.InfoField, []string{"name"}) || string(cfg.EmergencyInfo) != `"Allergic to penicillin"` ||
		cfg.Responders != app.RespondersVerified || !reflect.DeepEqual(cfg.Conditions, []string{"unconscious"}) ||
		!reflect.DeepEqual(cfg.TrustedContacts, []string{"kin@example.org", "+15551234567"}) {
		t.Fatalf("stored configuration: %+v", cfg)
	}

	// Saving again keeps the card's address.
	waitIdle(t, u)
	ui.OnUI(func() { e.Responders.SetSelected("Any responder") })
	tap(e.Save)
	waitFor(t, "saved again", func() bool { return strings.Contains(u.Shell.Status.Text, "card stays the same") })
	if cfg, err = env.App.EmergencyConfig(ctx, p); err != nil || cfg.Responders != app.RespondersAny || cfg.URL != url {
		t.Fatalf("after the second save: %+v %v", cfg, err)
	}
	waitIdle(t, u)
	ui.OnUI(func() { e.Responders.SetSelected("Verified responders only") })
	tap(e.Save)
	waitFor(t, "verified again", func() bool {
		c, err := env.App.EmergencyConfig(ctx, p)
		return err == nil && c.Responders == app.RespondersVerified && e.Responders.Selected == "Verified responders only"
	})
	waitIdle(t, u)
	if cfg, _ := env.App.EmergencyConfig(ctx, p); !reflect.DeepEqual(e.Fields.Selected, []string{"Name"}) || !reflect.DeepEqual(cfg.InfoField, []string{"name"}) {
		t.Fatalf("fields chosen %q, stored %q", e.Fields.Selected, cfg.InfoField)
	}

	// The printable card: a PNG whose QR code opens the same page.
	waitIdle(t, u)
	var card bytes.Buffer
	if err := e.WriteCard(&card); err != nil {
		t.Fatal(err)
	}
	cfgImg, err := png.DecodeConfig(bytes.NewReader(card.Bytes()))
	if err != nil || cfgImg.Width < 600 || cfgImg.Height <= cfgImg.Width {
		t.Fatalf("card PNG: %+v %v", cfgImg, err)
	}
	if got, err := qr.Decode(card.Bytes()); err != nil || got != url {
		t.Fatalf("saved card's QR code: %q %v", got, err)
	}

	// A refused attempt is logged, but raises no notification.
	test.AssertNotificationSent(t, nil, func() {
		if _, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "stranger", Reason: "curious", Email: "grace@example.org", Client: "192.0.2.9"}); err == nil {
			t.Fatal("an unverified responder was granted")
		}
		ui.OnUI(func() { u.Shell.Select("My profile") })
		waitIdle(t, u)
		ui.OnUI(func() { u.Shell.Select("Emergency") })
		waitFor(t, "refusal logged", func() bool { return len(e.LogLines()) == 1 })
		waitIdle(t, u)
	})
	if l := e.LogLines()[0]; !strings.Contains(l, " · refused: responder not verified · responder stranger, not verified · through the API from 192.0.2.9 · reason: curious") ||
		strings.Contains(l, "not_verified") {
		t.Fatalf("log line: %q", l)
	}

	// A grant: the log refreshes by itself and the system notifies.
	emt, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-7", Name: "Sam Medic", Organization: "City EMS"})
	if err != nil {
		t.Fatal(err)
	}
	want := &fyne.Notification{Title: "Emergency access granted"}
	test.AssertNotificationSent(t, want, func() {
		g, err := env.App.GrantEmergency(ctx, app.GrantRequest{ResponderID: "EMT-7", Reason: "found unconscious", Email: "grace@example.org", Client: "192.0.2.7", ResponderSecret: emt.Secret})
		if err != nil {
			t.Fatal(err)
		}
		want.Content = fmt.Sprintf("Responder EMT-7 (Sam Medic, City EMS), verified, was shown your emergency information at %s. See Emergency → Access log.", g.At.Local().Format("15:04"))
		waitFor(t, "log refreshed by the grant", func() bool {
			return len(e.LogLines()) == 2 && strings.HasPrefix(e.Chain.Text, ui.ChainOK+": 2 entries")
		})
		waitIdle(t, u)
	})
	if l := e.LogLines()[0]; !strings.HasPrefix(l, "#2 · ") || !strings.Contains(l, "granted · responder EMT-7 (Sam Medic, City EMS), verified") ||
		!strings.Contains(l, "from 192.0.2.7") || !strings.Contains(l, "reason: found unconscious") {
		t.Fatalf("grant's log line: %q", l)
	}

	// Someone alters the log file: the chain shows it.
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(env.Dir, store.DBFile)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE emergency_log SET prev_hash = hash WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	ui.OnUI(func() { u.Shell.Select("My profile") })
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	waitFor(t, "broken chain shown", func() bool { return strings.HasPrefix(e.Chain.Text, ui.ChainBroken+" at entry 2") })
	fitsPhone(t, u, w, "Emergency")
}

// TestEmergencyInfoJSONKept: information typed as a JSON object is kept
// as JSON, and the form shows it again after a new sign-in.
func TestEmergencyInfoJSONKept(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	e := u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	waitFor(t, "loaded", func() bool { return strings.Contains(e.State.Text, "not set up") })
	waitIdle(t, u)
	typeIn(e.Info, `{"blood_type":"O-"}`)
	tap(e.Save)
	waitFor(t, "saved", func() bool { return e.Card.Visible() })
	cfg, err := env.App.EmergencyConfig(ctx, u.Principal())
	if err != nil || !json.Valid(cfg.EmergencyInfo) || string(cfg.EmergencyInfo) != `{"blood_type":"O-"}` {
		t.Fatalf("stored %s %v", cfg.EmergencyInfo, err)
	}
	// After locking and unlocking, the form shows what is stored.
	waitIdle(t, u)
	tap(u.Shell.Lock)
	ui.OnUI(func() { u.Start.Email.SetText("grace@example.org") }) // kept from the last sign-in, or set
	typeIn(u.Start.Password, "cobol-compiler-1959")
	tap(u.Start.UnlockButton)
	waitFor(t, "unlocked", func() bool { return u.Shell != nil })
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	e = u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	waitFor(t, "form filled", func() bool { return e.Info.Text == `{"blood_type":"O-"}` && e.Card.Visible() })

	// Nothing at all to show: the form says what it lacks, in words (not
	// the API's "emergency_info must exist!"), under Save.
	waitIdle(t, u)
	ui.OnUI(func() { e.Info.SetText(""); e.Fields.SetSelected(nil) })
	tap(e.Save)
	want := "Write what a responder should know (blood type, allergies, medication…), or tick a profile field they may see, first."
	waitFor(t, "error", func() bool {
		return u.Shell.Idle() && u.Shell.Status.Text == want && e.SaveNotice.Visible() && e.SaveNotice.Text == want
	})
}
