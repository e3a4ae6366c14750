package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

// dialogObjects are the objects of the dialog on top of w (nil: none).
func dialogObjects(w fyne.Window) []fyne.CanvasObject {
	top := w.Canvas().Overlays().Top()
	if top == nil {
		return nil
	}
	return test.LaidOutObjects(top)
}

// dialogText is the text of the labels of the dialog on top of w.
func dialogText(w fyne.Window) string {
	var b strings.Builder
	for _, o := range dialogObjects(w) {
		if l, ok := o.(*widget.Label); ok {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

// tapDialogButton taps the button labelled label of the dialog on top of
// w.
func tapDialogButton(t *testing.T, w fyne.Window, label string) {
	t.Helper()
	var found *widget.Button
	waitFor(t, "a dialog with "+label, func() bool {
		for _, o := range dialogObjects(w) {
			if b, ok := o.(*widget.Button); ok && b.Text == label {
				found = b
				return true
			}
		}
		return false
	})
	tap(found)
}

// selectField selects the listed field whose label is shown as label.
func selectField(t *testing.T, p interface {
	Field(string) (app.Field, bool)
}, list *widget.List, name *widget.SelectEntry, label string) {
	t.Helper()
	for i := 0; i < list.Length(); i++ {
		ui.OnUI(func() { list.Select(i) })
		if name.Text == label {
			return
		}
	}
	t.Fatalf("no field %q listed", label)
}

// Issue 15 §3, §4: fields are typed and shown by their labels and stored
// by their keys, the common ones suggested, a date of birth with a
// calendar; a bad name says what to do; Save says what it saved.
func TestProfileFieldsByLabel(t *testing.T) {
	u, env, _ := signedIn(t)
	p := u.Shell.Profile
	waitFor(t, "fields", func() bool { _, ok := p.Field("email"); return ok })
	waitIdle(t, u)
	if !strings.Contains(strings.Join(p.Suggested(), "|"), "Home address|Phone|Date of birth|Blood type|Allergies") {
		t.Fatalf("suggested: %v", p.Suggested())
	}

	tap(p.NewField)
	typeIn(p.Name, "Home address")
	typeIn(p.Value, "1 Old Road, Arlington")
	tap(p.Save)
	waitFor(t, "saved", func() bool { _, ok := p.Field("home_address"); return ok && u.Shell.Idle() })
	if got := u.Shell.Status.Text; got != "Saved: Home address." {
		t.Fatalf("status %q", got)
	}
	if _, ok := p.Field("home address"); ok {
		t.Fatal("stored under its label")
	}
	for _, o := range p.Suggested() {
		if o == "Home address" {
			t.Fatalf("Home address still suggested: %v", p.Suggested())
		}
	}
	selectField(t, p, p.List, p.Name, "Home address")
	if p.Value.Text != "1 Old Road, Arlington" {
		t.Fatalf("editor shows %q", p.Value.Text)
	}

	// A name that cannot be a key: what to do, not the API's string.
	tap(p.NewField)
	typeIn(p.Name, "3rd thing!")
	typeIn(p.Value, "x")
	tap(p.Save)
	waitIdle(t, u)
	if got := u.Shell.Status.Text; !strings.HasPrefix(got, "Use letters, digits and spaces for a field's name") {
		t.Fatalf("status %q", got)
	}

	// The date of birth: a calendar, stored as YYYY-MM-DD.
	tap(p.NewField)
	typeIn(p.Name, "Date of birth")
	if p.Value.Visible() || !p.DOB.Visible() {
		t.Fatalf("date of birth: text box shown %v, calendar shown %v", p.Value.Visible(), p.DOB.Visible())
	}
	d := time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC)
	p.DOB.SetDate(&d)
	tap(p.Save)
	waitFor(t, "date saved", func() bool {
		f, ok := p.Field("date_of_birth")
		return ok && f.Text() == "1985-04-12" && u.Shell.Idle()
	})
	if got := u.Shell.Status.Text; got != "Saved: Date of birth." {
		t.Fatalf("status %q", got)
	}

	// Moving a field says so too.
	selectField(t, p, p.List, p.Name, "Home address")
	ui.OnUI(func() { p.Ring.SetSelected(app.RingSemiPrivate) })
	tap(p.Save)
	waitFor(t, "moved", func() bool { f, _ := p.Field("home_address"); return f.Ring == app.RingSemiPrivate && u.Shell.Idle() })
	if got := u.Shell.Status.Text; got != "Saved: Home address, now in semi-private." {
		t.Fatalf("status %q", got)
	}
	fields, err := env.App.Fields(context.Background(), u.Principal())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if strings.Contains(f.Name, " ") {
			t.Fatalf("a key with a space: %q", f.Name)
		}
	}
}

// Issue 15 §4: removing a field asks first; keeping it leaves it.
func TestProfileRemoveAsksFirst(t *testing.T) {
	u, _, w := signedIn(t)
	p := u.Shell.Profile
	waitFor(t, "fields", func() bool { _, ok := p.Field("email"); return ok })
	tap(p.NewField)
	typeIn(p.Name, "Phone")
	typeIn(p.Value, "+15551234567")
	tap(p.Save)
	waitFor(t, "phone saved", func() bool { _, ok := p.Field("phone"); return ok && u.Shell.Idle() })

	selectField(t, p, p.List, p.Name, "Phone")
	tap(p.Remove)
	var txt string
	ui.OnUI(func() { txt = dialogText(w) })
	if !strings.Contains(txt, "Remove Phone?") || !strings.Contains(txt, "+15551234567") {
		t.Fatalf("dialog says %q", txt)
	}
	tapDialogButton(t, w, "Keep")
	waitIdle(t, u)
	if _, ok := p.Field("phone"); !ok {
		t.Fatal("removed though kept")
	}

	tap(p.Remove)
	tapDialogButton(t, w, "Remove")
	waitFor(t, "phone removed", func() bool { _, ok := p.Field("phone"); return !ok && u.Shell.Idle() })
	if got := u.Shell.Status.Text; got != "Removed: Phone." {
		t.Fatalf("status %q", got)
	}
}
