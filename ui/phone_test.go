package ui_test

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

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
	ui.OnUI(func() { w.Resize(fyne.NewSize(400, 800)) })
	ui.OnUI(func() {
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
		ui.OnUI(func() { sh.Select(title) })
		waitFor(t, title, func() bool { return sh.Idle() && sh.Title.Text == title && !sh.Back.Disabled() })
	}
	ui.OnUI(func() { test.Tap(sh.Back) })
	waitFor(t, "back to Health", func() bool { return sh.Idle() && sh.Title.Text == "Health" })
	ui.OnUI(func() { test.Tap(sh.Back); test.Tap(sh.Back) })
	waitFor(t, "back to My profile", func() bool { return sh.Idle() && sh.Title.Text == "My profile" && sh.Back.Disabled() })
	// On the desktop, no header: the tabs carry their titles.
	ui.OnUI(func() { w.Resize(ui.DefaultSize) })
	ui.OnUI(func() {
		if sh.Header.Visible() || !sh.Lock.Visible() {
			t.Fatal("desktop shows the phone header")
		}
	})
}

// TestPhoneTabsReachTheBottomEdge: on a phone the status line takes no
// row while it has nothing to say, so the tab bar sits at the window's
// bottom edge (no empty strip under it); with something to say, it shows
// (issue 15).
func TestPhoneTabsReachTheBottomEdge(t *testing.T) {
	u, _, w := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	sh := u.Shell
	ui.OnUI(func() { w.Resize(fyne.NewSize(400, 800)) })
	waitFor(t, "idle", func() bool { return sh.Idle() })
	gap := func() (g float32) {
		ui.OnUI(func() {
			d := fyne.CurrentApp().Driver()
			tabs, content := d.AbsolutePositionForObject(sh.Tabs), d.AbsolutePositionForObject(w.Content())
			g = content.Y + w.Content().Size().Height - (tabs.Y + sh.Tabs.Size().Height)
		})
		return g
	}
	if sh.Status.Text != "" {
		t.Fatalf("status %q", sh.Status.Text)
	}
	if g := gap(); g > 0.5 {
		t.Fatalf("%v px under the tab bar with nothing to say", g)
	}
	p := sh.Profile
	ui.OnUI(func() {
		test.Tap(p.NewField)
		test.Tap(p.Save)
	})
	waitFor(t, "the refusal", func() bool { return sh.Idle() && sh.Status.Visible() && sh.Status.Text != "" })
	if g := gap(); g < sh.Status.MinSize().Height {
		t.Fatalf("the status line %q has %v px", sh.Status.Text, g)
	}
}

// TestPhoneHeaderSaysWhichScreen: the tab bar marks a screen behind "…"
// only by a line over "…" (Fyne's AppTabs draws its overflow button
// itself), so the header names it prominently: the screen's icon and its
// title, larger than the tabs' labels (issue 15).
func TestPhoneHeaderSaysWhichScreen(t *testing.T) {
	u, _, w := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	sh := u.Shell
	ui.OnUI(func() { w.Resize(fyne.NewSize(400, 800)) })
	for _, c := range []struct {
		title string
		icon  fyne.Resource
	}{{"Health", theme.ListIcon()}, {"Privacy rings", theme.VisibilityOffIcon()}, {"Sharing", theme.MailSendIcon()}} {
		ui.OnUI(func() { sh.Select(c.title) })
		waitFor(t, c.title, func() bool { return sh.Idle() && sh.Title.Text == c.title })
		ui.OnUI(func() {
			if !sh.TitleIcon.Visible() || sh.TitleIcon.Resource == nil || sh.TitleIcon.Resource.Name() != c.icon.Name() {
				t.Errorf("%s: the header's icon is %v", c.title, sh.TitleIcon.Resource)
			}
			var size float32
			for _, o := range test.LaidOutObjects(sh.Header) {
				if txt, ok := o.(*canvas.Text); ok && txt.Text == c.title {
					size = txt.TextSize
				}
			}
			if size <= theme.TextSize() {
				t.Errorf("%s: the header's title at %v, the tabs' labels at %v", c.title, size, theme.TextSize())
			}
		})
	}
}
