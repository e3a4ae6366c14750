package ui_test

// Issue 15 §10: what an action says (its outcome or its error) shows in a
// notice right under the button that caused it, on every screen.

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/idscan"
	"github.com/secure-personal-profile/spp/ui"
)

// saysUnder waits until the notice n shows want and checks that, as laid
// out in the window, it sits right under the widget the user acted on
// (no more than 40 px below it, in its column).
func saysUnder(t *testing.T, u *ui.UI, near fyne.CanvasObject, n *widget.Label, want string) {
	t.Helper()
	waitFor(t, "«"+want+"» under its button", func() bool {
		return u.Shell.Idle() && n.Visible() && strings.Contains(n.Text, want)
	})
	var (
		np, bp fyne.Position
		bs     fyne.Size
	)
	ui.OnUI(func() {
		d := fyne.CurrentApp().Driver()
		// Lay the window out again, as a real driver does on its next
		// frame once a notice shows.
		if c := d.CanvasForObject(n); c != nil {
			c.Content().Refresh()
		}
		np, bp, bs = d.AbsolutePositionForObject(n), d.AbsolutePositionForObject(near), near.Size()
	})
	if gap := np.Y - (bp.Y + bs.Height); gap < -1 || gap > 40 || np.X > bp.X+bs.Width || bs.Height == 0 {
		t.Fatalf("«%s» at %v, the button at %v (%v): not right under it", n.Text, np, bp, bs)
	}
}

// hidden reports whether a notice shows nothing now.
func hidden(n *widget.Label) bool {
	var v bool
	ui.OnUI(func() { v = !n.Visible() })
	return v
}

func TestNoticesOnProfile(t *testing.T) {
	u, _, w := signedIn(t)
	p := u.Shell.Profile
	waitFor(t, "fields", func() bool { _, ok := p.Field("email"); return ok })
	waitIdle(t, u)
	if !hidden(p.Notice) {
		t.Fatalf("a notice before any action: %q", p.Notice.Text)
	}

	tap(p.NewField)
	tap(p.Save)
	saysUnder(t, u, p.Save, p.Notice, "Type the field's name first")

	typeIn(p.Name, "Phone")
	typeIn(p.Value, "+15551234567")
	tap(p.Save)
	saysUnder(t, u, p.Save, p.Notice, "Saved: Phone.")

	selectField(t, p, p.List, p.Name, "Phone")
	tap(p.Remove)
	tapDialogButton(t, w, "Remove")
	saysUnder(t, u, p.Remove, p.Notice, "Removed: Phone.")
}

func TestNoticesOnCredentials(t *testing.T) {
	u, _, w := signedInWith(t, app.Config{Scanner: idscan.Scanner{}})
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Credentials") })
	c := u.Shell.Screen("Credentials").(*ui.CredentialsScreen)
	waitIdle(t, u)
	if hidden(c.None) || !strings.HasPrefix(c.None.Text, "No credentials yet") {
		t.Fatal("an empty list says nothing")
	}

	ui.OnUI(func() { c.Type.SetSelected("Driver's licence") })
	c.AddImage(noBarcodePNG(t))
	saysUnder(t, u, c.FromFile, c.Added, "No barcode found: photograph the back of the card")

	c.AddImage(licencePNG(t))
	saysUnder(t, u, c.FromFile, c.Added, "Read. Check what was found, then confirm or reject.")
	if !hidden(c.None) {
		t.Fatal("the list says it is empty beside a credential")
	}

	tap(c.Fill)
	tap(c.Confirm)
	tapDialogButton(t, w, "Cancel")
	saysUnder(t, u, c.Confirm, c.Notice, "Nothing was changed.")
	if !hidden(c.Added) {
		t.Fatalf("the photo's notice stays beside the confirmation's: %q", c.Added.Text)
	}
	tap(c.Confirm)
	tapDialogButton(t, w, "Fill and confirm")
	saysUnder(t, u, c.Confirm, c.Notice, "Confirmed. Filled from the document: Name")

	ui.OnUI(func() { c.Type.SetSelected("Other") })
	c.AddImage(noBarcodePNG(t))
	saysUnder(t, u, c.FromFile, c.Added, "Read.")
	if !hidden(c.Notice) {
		t.Fatalf("the last credential's notice stays beside the new one: %q", c.Notice.Text)
	}
	tap(c.Reject)
	saysUnder(t, u, c.Reject, c.Notice, "Rejected: the document and its image are deleted.")
}

func TestNoticesOnRings(t *testing.T) {
	u, _, _ := signedIn(t)
	r := ringsScreen(t, u)

	tap(r.Move)
	saysUnder(t, u, r.Move, r.Moved, "Choose a field and the ring to move it to.")
	ui.OnUI(func() { r.MoveField.SetSelected("E-mail") })
	ui.OnUI(func() { r.MoveTo.SetSelected(app.RingPrivate) })
	tap(r.Move)
	saysUnder(t, u, r.Move, r.Moved, "Moved E-mail to private.")

	typeIn(r.NewName, "Family")
	ui.OnUI(func() { r.NewField.SetSelected("E-mail") })
	tap(r.Create)
	saysUnder(t, u, r.Create, r.Created, "Created the ring Family, protected as private.")

	typeIn(r.RoleService, "club.example")
	ui.OnUI(func() { r.RoleRing.SetSelected("Family") })
	tap(r.GiveRole)
	saysUnder(t, u, r.GiveRole, r.Given, "club.example now holds the Family ring.")
	if r.Moved.Text != "Moved E-mail to private." {
		t.Fatalf("another section's notice changed: %q", r.Moved.Text)
	}
}

func TestNoticesOnSettings(t *testing.T) {
	u := signedInOnNet(t)
	s := settingsScreen(t, u)
	if !hidden(s.Saved) || !hidden(s.AutoLockSaid) {
		t.Fatalf("notices before any action: %q, %q", s.Saved.Text, s.AutoLockSaid.Text)
	}

	ui.OnUI(func() { s.PublicURL.SetText("") })
	typeIn(s.PublicURL, "ftp://home.example.org")
	tap(s.SavePublicURL)
	saysUnder(t, u, s.SavePublicURL, s.Saved, "That is not a web address this profile can be reached at")

	setPublicURL(t, u, s, "https://home.example.org")
	saysUnder(t, u, s.SavePublicURL, s.Saved, "Public URL saved: every new code and link points at https://home.example.org.")

	tap(s.CheckReach)
	saysUnder(t, u, s.CheckReach, s.CheckResult, "Answered by a device of this profile at https://home.example.org.")

	ui.OnUI(func() { s.AutoLock.SetSelected("10 min") })
	saysUnder(t, u, s.AutoLock, s.AutoLockSaid, "Auto-lock: this device locks after 10 min without a touch.")

	// The device settings' test e-mail fails in place, under its button,
	// and nowhere else.
	tap(s.Run.SendTest)
	saysUnder(t, u, s.Run.SendTest, s.Run.Result, "Test e-mail not sent")
	if !strings.HasPrefix(s.Saved.Text, "Public URL saved") || !strings.HasPrefix(s.AutoLockSaid.Text, "Auto-lock: this device") {
		t.Fatalf("the test e-mail's error shown beside other actions: %q, %q", s.Saved.Text, s.AutoLockSaid.Text)
	}
}
