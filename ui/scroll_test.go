package ui_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/ui"
)

// children are the objects drawn inside o.
func children(o fyne.CanvasObject) []fyne.CanvasObject {
	switch c := o.(type) {
	case *fyne.Container:
		return c.Objects
	case fyne.Widget:
		return test.WidgetRenderer(c).Objects()
	}
	return nil
}

// pageOf is the innermost scroller, under root, that holds obj (not one
// of obj's own), or nil.
func pageOf(root, obj fyne.CanvasObject) *container.Scroll {
	var walk func(o fyne.CanvasObject, in *container.Scroll) (*container.Scroll, bool)
	walk = func(o fyne.CanvasObject, in *container.Scroll) (*container.Scroll, bool) {
		if o == obj {
			return in, true
		}
		if s, ok := o.(*container.Scroll); ok {
			in = s
		}
		for _, c := range children(o) {
			if s, ok := walk(c, in); ok {
				return s, true
			}
		}
		return nil, false
	}
	s, _ := walk(root, nil)
	return s
}

// innerScroll is a text box's own scroller.
func innerScroll(t *testing.T, e fyne.Widget) *container.Scroll {
	t.Helper()
	for _, o := range test.WidgetRenderer(e).Objects() {
		if s, ok := o.(*container.Scroll); ok {
			return s
		}
	}
	t.Fatal("the text box has no scroller of its own")
	return nil
}

// wheelOver turns the mouse wheel with the pointer over box, brought into
// view on its page, and fails unless the page scrolled (on the UI
// goroutine).
func wheelOver(t *testing.T, w fyne.Window, name string, box fyne.CanvasObject) {
	t.Helper()
	page := pageOf(w.Canvas().Content(), box)
	if page == nil {
		t.Fatalf("%s: on no scrolling page", name)
	}
	d := fyne.CurrentApp().Driver()
	most := page.Content.Size().Height - page.Size().Height
	if most <= 0 {
		t.Fatalf("%s: the page (%v in %v) has nothing to scroll", name, page.Content.Size(), page.Size())
	}
	top := d.AbsolutePositionForObject(box).Y - d.AbsolutePositionForObject(page).Y + page.Offset.Y
	page.ScrollToOffset(fyne.NewPos(0, min(max(top-10, 0), most)))
	at := d.AbsolutePositionForObject(box).Add(fyne.NewPos(box.Size().Width/2, min(box.Size().Height/2, 12)))
	before := page.Offset.Y
	dy := float32(-40) // towards the end of the page
	if before >= most-1 {
		dy = 40
	}
	test.Scroll(w.Canvas(), at, 0, dy)
	if page.Offset.Y == before {
		t.Errorf("%s: the wheel over the text box left the page at %v", name, before)
	}
}

// TestWheelOverATextBoxScrollsThePage: on the long screens (Emergency,
// Health, Devices, and Settings), the mouse wheel over a text box — of
// one line or many, typed into or not — scrolls the screen, as it does
// elsewhere on it (issue 15 §7); and a text box of many lines grows to
// show all it holds, so that it has nothing to scroll of its own.
func TestWheelOverATextBoxScrollsThePage(t *testing.T) {
	u, _, w := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	ui.OnUI(func() { w.Resize(fyne.NewSize(400, 460)) })
	show := func(title string) {
		ui.OnUI(func() { u.Shell.Select(title) })
		waitFor(t, title, func() bool { return u.Shell.Idle() })
	}

	show("Emergency")
	e := u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	ui.OnUI(func() {
		wheelOver(t, w, "emergency information", e.Info)
		wheelOver(t, w, "trusted contacts", e.Contacts)
		// Many lines typed: the box shows them all, and the wheel still
		// scrolls the page.
		test.Type(e.Conditions, strings.Repeat("unconscious\n", 11)+"a condition described at length, in words enough to wrap onto a second row or more")
		w.Resize(fyne.NewSize(400, 461))
		in := innerScroll(t, e.Conditions)
		if need, has := in.Content.MinSize().Height, in.Size().Height; need > has+0.5 {
			t.Errorf("the conditions need %v high, the box shows %v", need, has)
		}
		wheelOver(t, w, "conditions, typed into", e.Conditions)
	})

	show("Health")
	h := u.Shell.Screen("Health").(*ui.HealthScreen)
	ui.OnUI(func() {
		wheelOver(t, w, "record", h.NewData)
		wheelOver(t, w, "record type", h.NewType)
		wheelOver(t, w, "doctor's e-mail", h.Doctor)
		wheelOver(t, w, "passcode", h.Passcode)
	})

	show("Devices")
	d := u.Shell.Screen("Devices").(*ui.DevicesScreen)
	ui.OnUI(func() {
		d.Parts.SelectIndex(1) // Backup
		wheelOver(t, w, "export passphrase", d.ExportPass)
		wheelOver(t, w, "new password", d.Import.Password)
	})

	show("Settings")
	s := u.Shell.Screen("Settings").(*ui.SettingsScreen)
	ui.OnUI(func() {
		wheelOver(t, w, "relays", s.Run.Relays)
		wheelOver(t, w, "e-mail relay", s.Run.SMTPAddr)
	})
}

// TestGrownTextBoxFollowsItsText: a text box of many lines on a page is
// as tall as its text needs, never less than it starts at, and shrinks
// back when the text goes.
func TestGrownTextBoxFollowsItsText(t *testing.T) {
	u, _, w := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	ui.OnUI(func() { u.Shell.Select("Health") })
	waitFor(t, "health", func() bool { return u.Shell.Idle() })
	h := u.Shell.Screen("Health").(*ui.HealthScreen)
	var empty, full float32
	ui.OnUI(func() {
		empty = h.NewData.Size().Height
		h.NewData.SetText(strings.Repeat("a long line of a health record, ", 30))
		w.Resize(ui.DefaultSize.AddWidthHeight(1, 0))
		full = h.NewData.Size().Height
		in := innerScroll(t, h.NewData)
		if need, has := in.Content.MinSize().Height, in.Size().Height; need > has+0.5 {
			t.Errorf("the record needs %v high, the box shows %v", need, has)
		}
		h.NewData.SetText("")
		w.Resize(ui.DefaultSize)
	})
	if full <= empty*2 {
		t.Fatalf("the box is %v high empty and %v with thirty lines' worth", empty, full)
	}
	ui.OnUI(func() {
		if got := h.NewData.Size().Height; got != empty {
			t.Errorf("emptied, the box is %v high, not %v again", got, empty)
		}
	})
}
