package ui_test

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/secure-personal-profile/spp/ui"
)

// TestDevicesPartsInTheirOwnTabs: the Devices screen opens on its devices
// and pairing; the backup forms and the outbox (read-only) are tabs of
// their own, one tap away, not under the forms (issue 15 §7).
func TestDevicesPartsInTheirOwnTabs(t *testing.T) {
	u, _, _ := signedIn(t)
	d := devicesScreen(t, u)
	ui.OnUI(func() {
		p := d.Parts
		if p == nil || len(p.Items) != 3 || p.Items[0].Text != "Devices" || p.Items[1].Text != "Backup" || p.Items[2].Text != "Outgoing mail" {
			t.Fatal("not the three tabs Devices, Backup, Outgoing mail")
		}
		if p.Selected() != p.Items[0] || !d.SyncStatus.Visible() {
			t.Fatal("the screen does not open on its devices")
		}
		p.SelectIndex(2)
		if !d.Delivery.Visible() || !strings.Contains(d.Delivery.Text, "SMTP") {
			t.Fatalf("the outbox tab says %q", d.Delivery.Text)
		}
		if len(d.Outbox) != 0 || fyne.CurrentApp().Driver().AbsolutePositionForObject(d.Delivery).Y > 200 {
			t.Fatal("the outbox is not at the top of its tab")
		}
	})
}

// TestDevicesNoticesUnderTheirActions: what exporting, importing and
// pairing did — or why not — shows in the notice under that button, and
// only there (issue 15 §1, §10).
func TestDevicesNoticesUnderTheirActions(t *testing.T) {
	u, env, _ := signedIn(t)
	startSync(t, env)
	d := devicesScreen(t, u)
	ui.OnUI(func() {
		d.Parts.SelectIndex(1)
		test.Type(d.ExportPass, "one passphrase")
		test.Type(d.ExportRepeat, "another")
		test.Tap(d.Export)
		if !shows(d.ExportNotice, "The passphrases do not match.") || d.ImportNotice.Visible() {
			t.Fatalf("under Export %q, under Import %q", d.ExportNotice.Text, d.ImportNotice.Text)
		}
		test.Tap(d.Import.Button)
		if !shows(d.ImportNotice, "Choose the container file first.") || d.ExportNotice.Text != "The passphrases do not match." {
			t.Fatalf("under Import %q, under Export %q", d.ImportNotice.Text, d.ExportNotice.Text)
		}
		d.Parts.SelectIndex(0)
		d.ThisDevice.SetText(strings.Repeat("a name far too long ", 4))
		test.Tap(d.Pair)
	})
	waitFor(t, "the pairing refused", func() bool {
		return u.Shell.Idle() && d.PairNotice.Visible() && d.PairNotice.Text != "" && d.PairNotice.Text == u.Shell.Status.Text
	})
	ui.OnUI(func() {
		if d.ExportNotice.Text != "The passphrases do not match." || d.DevicesNotice.Visible() {
			t.Fatalf("pairing spoke elsewhere: %q, %q", d.ExportNotice.Text, d.DevicesNotice.Text)
		}
		d.ThisDevice.SetText("desk")
		test.Tap(d.Pair)
	})
	waitFor(t, "the code", func() bool { return u.Shell.Idle() && d.PairCode.Text != "" })
	ui.OnUI(func() {
		if d.PairNotice.Visible() {
			t.Fatalf("the refusal stays beside the code made: %q", d.PairNotice.Text)
		}
	})
}
