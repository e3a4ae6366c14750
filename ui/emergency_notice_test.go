package ui_test

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/ui"
)

// TestEmergencySaveSaysSoUnderSave: what saving emergency access did —
// or why it did not — shows under Save, at the foot of the long form,
// not only in the status line far below (issue 15 §1, §10).
func TestEmergencySaveSaysSoUnderSave(t *testing.T) {
	u, _, _ := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	e := u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	waitFor(t, "the emergency screen", func() bool { return u.Shell.Idle() && e.State.Text != "" })
	ui.OnUI(func() { test.Tap(e.Save) })
	waitFor(t, "refused", func() bool {
		return u.Shell.Idle() && e.SaveNotice.Visible() && e.SaveNotice.Text != "" && e.SaveNotice.Text == u.Shell.Status.Text
	})
	ui.OnUI(func() {
		test.Type(e.Info, "Allergic to penicillin")
		test.Tap(e.Save)
	})
	waitFor(t, "saved", func() bool {
		return u.Shell.Idle() && shows(e.SaveNotice, "Emergency access is set up: print your card.")
	})
	ui.OnUI(func() {
		if e.CardNotice.Visible() {
			t.Fatalf("saving spoke under the card: %q", e.CardNotice.Text)
		}
		// Another part of the screen: the notice under Save keeps its
		// words, and what happens now does not land there.
		e.Parts.SelectIndex(1)
		e.Parts.SelectIndex(0)
		test.Tap(e.SaveCard) // asks where to save: nothing said yet
		if e.SaveNotice.Text != "Emergency access is set up: print your card." {
			t.Fatalf("under Save now: %q", e.SaveNotice.Text)
		}
	})
}
