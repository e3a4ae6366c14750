package ui_test

import (
	"testing"

	"github.com/secure-personal-profile/spp/ui"
)

// TestEmergencyLogInItsOwnTab: the emergency access log is a tab of its
// own beside the set-up form, one tap away at either size (issue 15 §7).
func TestEmergencyLogInItsOwnTab(t *testing.T) {
	u, _, _ := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	e := u.Shell.Screen("Emergency").(*ui.EmergencyScreen)
	ui.OnUI(func() { u.Shell.Select("Emergency") })
	waitFor(t, "the emergency screen", func() bool { return u.Shell.Idle() })
	ui.OnUI(func() {
		if e.Parts == nil || len(e.Parts.Items) != 2 || e.Parts.Items[1].Text != "Access log" {
			t.Fatal("no Access log tab")
		}
		e.Parts.SelectIndex(1)
		if !e.Chain.Visible() || e.Chain.Text == "" {
			t.Fatalf("the log's chain check is not shown: %q", e.Chain.Text)
		}
	})
}
