package ui_test

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
	"github.com/secure-personal-profile/spp/ui"
)

// TestFileDialogOpensUsable: a file dialog opens at most of the window
// (not Fyne's small default), starting in the home's Pictures when there
// is one (issue 15 §7).
func TestFileDialogOpensUsable(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.Mkdir(filepath.Join(home, "Pictures"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	t.Cleanup(a.Quit)
	w := a.NewWindow("t")
	ui.OnUI(func() { w.Resize(ui.DefaultSize) })
	u := newUI(env.App, w)
	t.Cleanup(u.Close)
	ui.OnUI(func() {
		u.Start.Tabs.SelectIndex(2) // Join
		test.Tap(u.Start.JoinFromImage)
	})
	var got fyne.Size
	ui.OnUI(func() {
		pop, ok := w.Canvas().Overlays().Top().(*widget.PopUp)
		if !ok {
			t.Fatalf("no dialog: %T", w.Canvas().Overlays().Top())
		}
		got = pop.Content.Size()
	})
	if want := ui.FileDialogSize(w.Canvas().Size()); got.Width < want.Width-40 || got.Height < want.Height-40 {
		t.Fatalf("file dialog %v in a %v window; want about %v", got, w.Canvas().Size(), want)
	}
}
