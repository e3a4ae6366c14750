package ui

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// noticeShell is a shell with only what run, at and say use, in a test
// window (for its dialogs).
func noticeShell(t *testing.T) (*Shell, fyne.Window) {
	t.Helper()
	a := test.NewApp()
	t.Cleanup(a.Quit)
	w := a.NewWindow("t")
	w.Resize(fyne.NewSize(600, 400))
	s := &Shell{u: &UI{window: w, fyne: a, Now: time.Now}, Status: widget.NewLabel(""),
		Progress: widget.NewProgressBarInfinite(), Lock: widget.NewButton("Lock", nil)}
	w.SetContent(container.NewVBox(s.Status, s.Progress))
	return s, w
}

// idle waits until the shell's work is done.
func idle(t *testing.T, s *Shell) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !s.Idle(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the work")
		}
	}
}

// says reports whether the notice n shows text.
func says(n *widget.Label, text string) bool { return n.Visible() && n.Text == text }

var errFieldName = app.E(app.KindInvalid, "invalid_field_name", "updated_fields has an invalid field name!")

// TestANoticeSaysWhatIsHappening: while an action runs, the notice under
// its button says what it does ("Saving Address…"), not the outcome of
// the action before; then its own outcome — what it says, its error —
// and an action that ends with nothing to say leaves no "…" behind
// (issue 15).
func TestANoticeSaysWhatIsHappening(t *testing.T) {
	s, _ := noticeShell(t)
	n := notice()
	s.at(n).say("Saved: Phone.")

	release := make(chan struct{})
	s.at(n).run("Saving Address", func(context.Context) error { <-release; return nil }, func(error) { s.say("Saved: Address.") })
	if !says(n, "Saving Address…") || s.Status.Text != "Saving Address…" {
		t.Fatalf("while saving, the notice says %q", n.Text)
	}
	close(release)
	idle(t, s)
	if !says(n, "Saved: Address.") {
		t.Fatalf("after saving: %q", n.Text)
	}

	s.at(n).run("Saving", func(context.Context) error { return errFieldName }, nil)
	idle(t, s)
	if !says(n, codeMessages["invalid_field_name"]) {
		t.Fatalf("the error: %q", n.Text)
	}

	s.at(n).run("Refreshing", func(context.Context) error { return nil }, nil)
	idle(t, s)
	if n.Visible() {
		t.Fatalf("a silent success leaves %q", n.Text)
	}
}

// TestAnActionWithoutANoticeLeavesTheLastOneAlone: work started without
// at — a reload, a background refresh — never writes into the notice of
// the button used last, even when it fails; the status line says it.
func TestAnActionWithoutANoticeLeavesTheLastOneAlone(t *testing.T) {
	s, _ := noticeShell(t)
	n := notice()
	s.at(n).run("Saving", func(context.Context) error { return nil }, func(error) { s.say("Saved: Phone.") })
	idle(t, s)
	s.run("Loading", func(context.Context) error { return errFieldName }, nil)
	idle(t, s)
	if !says(n, "Saved: Phone.") || s.Status.Text != codeMessages["invalid_field_name"] {
		t.Fatalf("notice %q, status %q", n.Text, s.Status.Text)
	}

	// A check that refuses before any work is that action's last word.
	s.at(n).say("Type the field's name first.")
	s.run("Loading", func(context.Context) error { return errFieldName }, nil)
	idle(t, s)
	if !says(n, "Type the field's name first.") {
		t.Fatalf("after a refusal, a reload's error lands there: %q", n.Text)
	}

	// Work running beside an action does not speak in its notice either.
	release := make(chan struct{})
	s.at(n).run("Saving", func(context.Context) error { <-release; return nil }, func(error) { s.say("Saved: Phone.") })
	loaded := make(chan struct{})
	s.run("Loading", func(context.Context) error { return errFieldName }, func(error) { close(loaded) })
	<-loaded
	if !says(n, "Saving…") {
		t.Fatalf("while saving, the other work's error: %q", n.Text)
	}
	close(release)
	idle(t, s)
	if !says(n, "Saved: Phone.") {
		t.Fatalf("after saving: %q", n.Text)
	}
}

// TestTheReloadAfterAnActionSpeaksInItsNotice: a reload that the action's
// done starts keeps "Saving…" in the notice (not "Loading…") and says the
// outcome there.
func TestTheReloadAfterAnActionSpeaksInItsNotice(t *testing.T) {
	s, _ := noticeShell(t)
	n := notice()
	reloading := make(chan struct{})
	release := make(chan struct{})
	s.at(n).run("Saving Phone", func(context.Context) error { return nil }, func(error) {
		s.run("Loading your profile", func(context.Context) error { close(reloading); <-release; return nil }, func(error) {
			s.say("Saved: Phone.")
		})
	})
	<-reloading
	if !says(n, "Saving Phone…") {
		t.Fatalf("while reloading: %q", n.Text)
	}
	close(release)
	idle(t, s)
	if !says(n, "Saved: Phone.") {
		t.Fatalf("after the reload: %q", n.Text)
	}
}

// TestANoticeWaitsForItsDialog: an action that asks first (a save dialog)
// speaks in its notice once the dialog is answered; work started while
// the dialog is open does not.
func TestANoticeWaitsForItsDialog(t *testing.T) {
	s, w := noticeShell(t)
	n := notice()
	var d dialog.Dialog
	// Encrypt, then ask where to save, then write.
	s.at(n).run("Encrypting", func(context.Context) error { return nil }, func(error) {
		d = dialog.NewInformation("Save", "where?", w)
		d.Show()
	})
	idle(t, s)
	if n.Visible() {
		t.Fatalf("while the dialog asks: %q", n.Text)
	}
	s.run("Refreshing", func(context.Context) error { return errFieldName }, nil)
	idle(t, s)
	if n.Visible() {
		t.Fatalf("other work spoke in the notice: %q", n.Text)
	}
	d.Hide()
	release := make(chan struct{})
	s.run("Saving the file", func(context.Context) error { <-release; return nil }, func(error) { s.say("Exported.") })
	if !says(n, "Saving the file…") {
		t.Fatalf("while writing: %q", n.Text)
	}
	close(release)
	idle(t, s)
	if !says(n, "Exported.") {
		t.Fatalf("after writing: %q", n.Text)
	}
}

// TestACancelledFileDialogLetsItsNoticeGo: a file dialog opened from a
// button with a notice (at) and cancelled with nothing to say leaves the
// notice to no one, so the next work started without at (a refresh) does
// not speak there; the same for a save dialog that says nothing on a
// cancel.
func TestACancelledFileDialogLetsItsNoticeGo(t *testing.T) {
	s, w := noticeShell(t)
	n := notice()
	for _, open := range []func(){
		func() { openFile(s.at(n), nil, func(r fyne.URIReadCloser) { r.Close() }) },
		func() { saveFile(s.at(n), "card.png", nil, "", func(w fyne.URIWriteCloser) { w.Close() }) },
	} {
		OnUI(open)
		OnUI(func() {
			cancel := findButton(w.Canvas().Overlays().Top(), "Cancel")
			if cancel == nil {
				t.Fatal("no Cancel in the file dialog")
			}
			test.Tap(cancel)
		})
		if s.dialogShown() {
			t.Fatal("the dialog is still open")
		}
		s.run("Refreshing", func(context.Context) error { return errFieldName }, nil)
		idle(t, s)
		if n.Visible() {
			t.Fatalf("a refresh after the cancel spoke in the notice: %q", n.Text)
		}
	}
}

// findButton is the button labelled text in o's tree (nil: none).
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	if b, ok := o.(*widget.Button); ok && b.Text == text {
		return b
	}
	var kids []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		kids = c.Objects
	case *widget.PopUp:
		kids = []fyne.CanvasObject{c.Content}
	case fyne.Widget:
		kids = test.WidgetRenderer(c).Objects()
	}
	for _, k := range kids {
		if b := findButton(k, text); b != nil {
			return b
		}
	}
	return nil
}
