package ui_test

// Issue 15 §3: a form left empty says what to type, in people's words,
// before anything is asked of the app, whose missing_parameter messages
// ("email and password must exist!") are the API's only.

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
	"github.com/secure-personal-profile/spp/ui"
)

// noAPIWords fails when text reads as one of the app's missing_parameter
// messages.
func noAPIWords(t *testing.T, where, text string) {
	t.Helper()
	if strings.Contains(text, "must exist") {
		t.Fatalf("%s shows the API's words: %q", where, text)
	}
}

// TestStartFormsLeftEmptySayWhatToType: Unlock, Create profile, Join and
// Restore, tapped with their fields empty, say what to type there, and no
// work starts.
func TestStartFormsLeftEmptySayWhatToType(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := newUI(env.App, a.NewWindow("t"))
	defer u.Close()
	s := &u.Start
	check := func(what, want string) {
		t.Helper()
		var got string
		var running bool
		ui.OnUI(func() { got, running = s.Status.Text, s.Progress.Visible() })
		if got != want || running {
			t.Fatalf("%s: status %q (work started: %v), want %q", what, got, running, want)
		}
		noAPIWords(t, what, got)
	}

	tap(s.UnlockButton)
	check("Unlock, both empty", "Type your e-mail address and password to unlock.")
	typeIn(s.Email, "grace@example.org")
	tap(s.UnlockButton)
	check("Unlock without a password", "Type your e-mail address and password to unlock.")

	tap(s.CreateButton)
	check("Create profile, empty", "Type your e-mail address and a password (twice) to create your profile.")
	typeIn(s.NewPassword, "cobol-compiler-1959")
	typeIn(s.NewConfirm, "cobol-compiler-1959")
	tap(s.CreateButton)
	check("Create profile without an e-mail", "Type your e-mail address and a password (twice) to create your profile.")

	tap(s.JoinButton)
	check("Join, empty", "Paste the pairing code your other device shows under Devices → Pair a new device, or read its QR code from an image.")
	typeIn(s.JoinCode, "spp-pair:something")
	tap(s.JoinButton)
	check("Join without a password", "Type the password that unlocks this profile on your other device.")

	ui.OnUI(func() { s.Restore.From("empty.sppc", []byte{}) })
	tap(s.Restore.Button)
	check("Restore, an empty file", "That file is empty: choose a file made with Devices → Backup → Export.")
	ui.OnUI(func() { s.Restore.From("backup.sppc", []byte("a container")) })
	tap(s.Restore.Button)
	check("Restore without the passphrase", "Type the backup's passphrase: the one chosen when it was exported.")
	typeIn(s.Restore.Pass, "backup passphrase 1")
	tap(s.Restore.Button)
	check("Restore without a new password", "Choose a new password for this device and type it twice.")
	if u.Principal() != nil {
		t.Fatal("signed in")
	}
}

// TestBackupImportLeftEmptySaysWhatToType: Devices → Backup → Import with
// a file but no passphrase says so under Import.
func TestBackupImportLeftEmptySaysWhatToType(t *testing.T) {
	u, _, _ := signedIn(t)
	d := devicesScreen(t, u)
	ui.OnUI(func() {
		d.Parts.SelectIndex(1)
		d.Import.From("backup.sppc", []byte("a container"))
		test.Tap(d.Import.Button)
		if want := "Type the backup's passphrase: the one chosen when it was exported."; !shows(d.ImportNotice, want) || u.Shell.Status.Text != want {
			t.Fatalf("under Import %q, status %q", d.ImportNotice.Text, u.Shell.Status.Text)
		}
		test.Type(d.Import.Pass, "backup passphrase 1")
		test.Tap(d.Import.Button)
		if want := "Choose a new password for this device and type it twice."; !shows(d.ImportNotice, want) {
			t.Fatalf("under Import %q", d.ImportNotice.Text)
		}
	})
	waitIdle(t, u)
	noAPIWords(t, "Import", d.ImportNotice.Text)
	if d.LastImport() != nil {
		t.Fatal("imported")
	}
}

// TestResponderFormLeftEmptySaysWhatToType: the lock screen's emergency
// flow without a responder id or reason says what to type, and nothing is
// logged.
func TestResponderFormLeftEmptySaysWhatToType(t *testing.T) {
	u, env, _ := signedIn(t)
	emergencySetUp(t, env.App, u.Principal(), app.RespondersAny)
	waitIdle(t, u)
	tap(u.Shell.Lock)
	tap(u.Start.Emergency)
	r := u.Responder
	waitFor(t, "the form", func() bool { return !r.Show.Disabled() })
	want := "Type your responder id and the reason you need the information."
	tap(r.Show)
	if r.Status.Text != want {
		t.Fatalf("empty: status %q", r.Status.Text)
	}
	typeIn(r.ResponderID, "volunteer-1")
	tap(r.Show)
	if r.Status.Text != want {
		t.Fatalf("without a reason: status %q", r.Status.Text)
	}
	waitFor(t, "no work", func() bool { return !r.Show.Disabled() })
	if r.Status.Text != want || r.Result.Visible() {
		t.Fatalf("status %q, result shown %v", r.Status.Text, r.Result.Visible())
	}
}

// TestCredentialsEmptyFileIsNoPicture: an empty image file reads as no
// picture, not as the API's missing credential_image.
func TestCredentialsEmptyFileIsNoPicture(t *testing.T) {
	u, _, _ := signedIn(t)
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Credentials") })
	c := u.Shell.Screen("Credentials").(*ui.CredentialsScreen)
	waitIdle(t, u)
	ui.OnUI(func() { c.AddImage([]byte{}) })
	want := "That file is not a picture: choose a PNG, JPEG, GIF or WebP photo."
	waitFor(t, "the empty file refused", func() bool {
		return u.Shell.Idle() && u.Shell.Status.Text == want && shows(c.Added, want)
	})
	if c.List.Length() != 0 {
		t.Fatalf("%d listed", c.List.Length())
	}
}

// TestRingsNewRingWithoutANameSaysSo: Create ring with a field but no
// name says to name it, under Create ring.
func TestRingsNewRingWithoutANameSaysSo(t *testing.T) {
	u, _, _ := signedIn(t)
	r := ringsScreen(t, u)
	waitIdle(t, u)
	ui.OnUI(func() {
		r.NewField.SetSelected("E-mail")
		test.Tap(r.Create)
		if !shows(r.Created, "Give the new ring a name.") || u.Shell.Status.Text != "Give the new ring a name." {
			t.Fatalf("under Create %q, status %q", r.Created.Text, u.Shell.Status.Text)
		}
		test.Type(r.NewName, "   ")
		test.Tap(r.Create)
		if !shows(r.Created, "Give the new ring a name.") {
			t.Fatalf("a blank name: under Create %q", r.Created.Text)
		}
	})
	waitIdle(t, u)
	if r.Ring("   ") != nil {
		t.Fatal("a ring without a name")
	}
}
