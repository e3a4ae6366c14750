package ui_test

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/ui"
)

// TestPhoneLayout: at 400×800 every screen shows its title and a way back,
// My profile, Sharing and Emergency are tabs one tap away (not behind
// "…"), and Lock sits in the header, not on a row of its own (issue 15
// §8).
func TestPhoneLayout(t *testing.T) {
	u, _, w := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	sh := u.Shell
	fyne.DoAndWait(func() { w.Resize(fyne.NewSize(400, 800)) })
	fyne.DoAndWait(func() {
		if !sh.Header.Visible() || !sh.PhoneLock.Visible() || sh.Lock.Visible() {
			t.Fatalf("phone header %v, its Lock %v, the bar's Lock %v", sh.Header.Visible(), sh.PhoneLock.Visible(), sh.Lock.Visible())
		}
		if sh.Title.Text != "My profile" || !sh.Back.Disabled() {
			t.Fatalf("title %q, back enabled %v", sh.Title.Text, !sh.Back.Disabled())
		}
		// The tab buttons drawn in the bar (the rest are behind "…").
		bar := map[string]bool{}
		for _, o := range test.LaidOutObjects(w.Content()) {
			if txt, ok := o.(*canvas.Text); ok && o.Visible() {
				bar[txt.Text] = true
			}
		}
		for _, title := range []string{"My profile", "Sharing", "Emergency"} {
			if !bar[title] {
				t.Errorf("%s is not one tap away", title)
			}
		}
	})
	for _, title := range []string{"Settings", "Health", "Devices"} {
		fyne.DoAndWait(func() { sh.Select(title) })
		waitFor(t, title, func() bool { return sh.Idle() && sh.Title.Text == title && !sh.Back.Disabled() })
	}
	fyne.DoAndWait(func() { test.Tap(sh.Back) })
	waitFor(t, "back to Health", func() bool { return sh.Idle() && sh.Title.Text == "Health" })
	fyne.DoAndWait(func() { test.Tap(sh.Back); test.Tap(sh.Back) })
	waitFor(t, "back to My profile", func() bool { return sh.Idle() && sh.Title.Text == "My profile" && sh.Back.Disabled() })
	// On the desktop, no header: the tabs carry their titles.
	fyne.DoAndWait(func() { w.Resize(ui.DefaultSize) })
	fyne.DoAndWait(func() {
		if sh.Header.Visible() || !sh.Lock.Visible() {
			t.Fatal("desktop shows the phone header")
		}
	})
}
