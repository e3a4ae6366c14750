package ui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/ui"
)

// emergencySetUp sets the signed-in user's emergency access up through
// the domain.
func emergencySetUp(t *testing.T, a *app.App, p *app.Principal, responders string) {
	t.Helper()
	crit, _ := json.Marshal(map[string]any{"responders": responders})
	_, err := a.SetupEmergency(context.Background(), p, app.EmergencySetup{
		TrustedContacts: json.RawMessage(`["kin@example.org"]`),
		EmergencyInfo:   json.RawMessage(`{"blood_type":"O-","allergies":["penicillin"]}`),
		Criteria:        crit,
		InfoField:       json.RawMessage(`["name","handle"]`),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestResponderOnTheLockScreen: the locked app's "Emergency information"
// button opens the responder's flow; a wrong secret sees nothing; the
// right one sees the information in large type, the grant is in the
// person's log (via the device), the contacts are told, the profile stays
// locked, and the lock screen comes back after a few idle minutes.
func TestResponderOnTheLockScreen(t *testing.T) {
	u, env, w := signedIn(t)
	ctx := context.Background()
	emergencySetUp(t, env.App, u.Principal(), app.RespondersVerified)
	emt, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-7", Name: "Sam Medic", Organization: "City EMS"})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	tap(u.Shell.Lock)
	now := time.Now()
	u.Now = func() time.Time { return now }

	s := &u.Start
	if !s.Emergency.Visible() || s.Emergency.Text != "Emergency information" {
		t.Fatal("no emergency button on the lock screen")
	}
	tap(s.Emergency)
	r := u.Responder
	if r == nil {
		t.Fatal("the responder's screen did not open")
	}
	waitFor(t, "whose information", func() bool {
		return r.PersonLabel.Text == "Emergency information of Grace Hopper." && !r.Show.Disabled()
	})
	if r.Person.Visible() {
		t.Fatal("a choice of person with one profile on the device")
	}

	// A wrong secret: refused, nothing shown.
	typeIn(r.ResponderID, "EMT-7")
	typeIn(r.Reason, "found unconscious")
	typeIn(r.Secret, "not the secret")
	tap(r.Show)
	waitFor(t, "refusal", func() bool {
		return r.Status.Text == "You could not be verified as a responder: check your responder id and give your secret or badge."
	})
	if r.Result.Visible() || r.InfoText() != "" || strings.Contains(r.Info.String(), "O-") {
		t.Fatalf("a refused responder sees %q", r.Info.String())
	}
	if u.Principal() != nil {
		t.Fatal("signed in")
	}

	// The right secret.
	typeIn(r.Secret, emt.Secret)
	tap(r.Show)
	waitFor(t, "information shown", func() bool { return r.Result.Visible() })
	info := r.InfoText()
	for _, want := range []string{"Grace Hopper", "Blood type: O-", "Allergies: penicillin", "Handle: grace"} {
		if !strings.Contains(info, want) {
			t.Fatalf("shown %q, lacks %q", info, want)
		}
	}
	if h, ok := r.Info.Segments[0].(*widget.TextSegment); !ok || h.Style != widget.RichTextStyleHeading || h.Text != "Grace Hopper" {
		t.Fatalf("the name is not the heading: %#v", r.Info.Segments[0])
	}
	// What the contacts were told is kept current in the background
	// (watchTold): read it, and lay the screen out, as the UI goroutine.
	ui.OnUI(func() {
		if !strings.Contains(r.Responder.Text, "Sam Medic, City EMS") ||
			!strings.Contains(r.Told.Text, "1 contact by e-mail (queued: this device has no mail relay") {
			t.Fatalf("responder %q, told %q", r.Responder.Text, r.Told.Text)
		}
		if u.Principal() != nil || r.Secret.Text != "" || r.Form.Visible() {
			t.Fatal("the profile was unlocked, or the form kept the secret")
		}
		// The responder's screen fits a phone.
		w.Resize(fyne.NewSize(400, 800))
		if min := w.Content().MinSize(); min.Width > 400 {
			t.Fatalf("the responder's screen needs %v wide", min.Width)
		}
		w.Resize(ui.DefaultSize)
	})

	// Idle: still shown after 2 minutes, the lock screen after 3.
	now = now.Add(2 * time.Minute)
	ui.OnUI(u.CheckIdle)
	if u.Responder == nil {
		t.Fatal("closed before its idle time")
	}
	now = now.Add(ui.ResponderIdle)
	ui.OnUI(u.CheckIdle)
	if u.Responder != nil || u.Start.Status.Text != "Locked." || u.Principal() != nil {
		t.Fatal("not back to the lock screen after the idle time")
	}

	// The person's log has both attempts, from this device.
	auth, err := env.App.Login(ctx, "grace@example.org", "cobol-compiler-1959")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	l, err := env.App.EmergencyLog(ctx, p)
	if err != nil || !l.Verified || len(l.Entries) != 2 {
		t.Fatalf("log %+v %v", l, err)
	}
	if e := l.Entries[0]; e.Outcome != app.OutcomeNotVerified || e.Via != "device" {
		t.Fatalf("refusal logged as %+v", e)
	}
	if e := l.Entries[1]; e.Outcome != app.OutcomeGranted || e.Via != "device" || e.Client != app.ClientThisDevice || e.ResponderID != "EMT-7" || e.Reason != "found unconscious" {
		t.Fatalf("grant logged as %+v", e)
	}
}

// Several people on one device: the responder chooses by name; with
// "responders":"any" a reason is enough; a badge's picture proves a
// responder where the criteria ask for one.
func TestResponderChoosesThePerson(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	emergencySetUp(t, env.App, u.Principal(), app.RespondersAny)
	auth, err := env.App.Register(ctx, app.Registration{Name: "Ada Lovelace", Email: "ada@example.org", Password: "analytical-engine-1843"})
	if err != nil {
		t.Fatal(err)
	}
	ada, _ := env.App.Authenticate(ctx, auth.Token)
	emergencySetUp(t, env.App, ada, app.RespondersVerified)
	env.App.Logout(ctx, ada)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := env.App.TrustResponderOrg(ctx, "City EMS", pub); err != nil {
		t.Fatal(err)
	}
	badge, err := app.IssueBadge(priv, app.Badge{ResponderID: "EMT-9", Name: "Kim Medic", IssuedAt: time.Now(), Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	badgePNG, err := qr.PNG(badge, 512)
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	tap(u.Shell.Lock)

	tap(u.Start.Emergency)
	r := u.Responder
	waitFor(t, "a choice", func() bool { return r.Person.Visible() && len(r.Person.Options) == 2 })
	if strings.Join(r.Person.Options, "|") != "Ada Lovelace|Grace Hopper" {
		t.Fatalf("offered %v", r.Person.Options)
	}
	typeIn(r.ResponderID, "passer-by")
	typeIn(r.Reason, "collapsed in the street")
	tap(r.Show)
	if r.Status.Text != "Choose whose emergency information first." {
		t.Fatalf("status %q", r.Status.Text)
	}
	// Ada asks for a verified responder: a passer-by is refused.
	ui.OnUI(func() { r.Person.SetSelected("Ada Lovelace") })
	tap(r.Show)
	waitFor(t, "refused", func() bool {
		return r.Status.Text == "You could not be verified as a responder: check your responder id and give your secret or badge."
	})
	if r.Result.Visible() {
		t.Fatal("shown to an unverified responder")
	}
	// Grace allows any responder.
	ui.OnUI(func() { r.Person.SetSelected("Grace Hopper") })
	tap(r.Show)
	waitFor(t, "Grace's information", func() bool { return strings.Contains(r.InfoText(), "Grace Hopper") })
	if !strings.Contains(r.Responder.Text, "Not a verified responder") {
		t.Fatalf("responder %q", r.Responder.Text)
	}
	tap(r.Done)
	if u.Responder != nil {
		t.Fatal("Done did not lock")
	}

	// Ada's information for a badge read from its picture.
	tap(u.Start.Emergency)
	r = u.Responder
	waitFor(t, "a choice", func() bool { return len(r.Person.Options) == 2 })
	ui.OnUI(func() { r.Person.SetSelected("Ada Lovelace") })
	typeIn(r.ResponderID, "EMT-9")
	typeIn(r.Reason, "found unconscious")
	ui.OnUI(func() { r.SetBadgeImage("badge.png", badgePNG) })
	if r.Status.Text != "Badge read from badge.png." {
		t.Fatalf("status %q", r.Status.Text)
	}
	tap(r.Show)
	waitFor(t, "Ada's information", func() bool { return strings.Contains(r.InfoText(), "Ada Lovelace") })
	if strings.Contains(r.InfoText(), "grace") || !strings.Contains(r.Responder.Text, "Kim Medic") {
		t.Fatalf("shown %q, responder %q", r.InfoText(), r.Responder.Text)
	}
}
