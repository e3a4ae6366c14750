package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/webhook"
	"github.com/secure-personal-profile/spp/store/storetest"
	p2psync "github.com/secure-personal-profile/spp/sync"
	"github.com/secure-personal-profile/spp/ui"
)

const gracePassword = "cobol-compiler-1959" // signedIn's password

func devicesScreen(t *testing.T, u *ui.UI) *ui.DevicesScreen {
	t.Helper()
	d, ok := u.Shell.Screen("Devices").(*ui.DevicesScreen)
	if !ok {
		t.Fatal("no Devices screen")
	}
	t.Cleanup(func() {
		waitFor(t, "the devices screen to be idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	ui.OnUI(func() { u.Shell.Select("Devices") })
	waitFor(t, "the devices screen to load", func() bool { return u.Shell.Idle() && d.SyncStatus.Text != "" })
	return d
}

// startSync runs a device's real sync service (libp2p on 127.0.0.1 only).
func startSync(t *testing.T, env *storetest.Env) {
	t.Helper()
	svc, err := p2psync.New(env.App.Replica(), p2psync.Config{
		Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.App.SetSyncer(svc)
	t.Cleanup(func() { svc.Close() })
}

func TestDevicesPairShowsTheCodeAndRemoveUnpairs(t *testing.T) {
	u, env, _ := signedIn(t)
	startSync(t, env)
	d := devicesScreen(t, u)
	tap(d.Reload)
	waitFor(t, "sync on", func() bool { return strings.HasPrefix(d.SyncStatus.Text, "Sync is on") && !d.Pair.Disabled() })

	ui.OnUI(func() { d.ThisDevice.SetText("desk") })
	tap(d.Pair)
	waitFor(t, "the pairing code", func() bool { return strings.HasPrefix(d.PairCode.Text, app.PairCodePrefix) })
	code := decodeCanvasQR(t, d.PairQR)
	if code != d.PairCode.Text {
		t.Fatalf("QR code carries %q, the text is %q", code, d.PairCode.Text)
	}
	if !d.PairCode.Selectable {
		t.Fatal("the code text cannot be selected")
	}
	var c string
	ui.OnUI(func() { c = d.Countdown.Text }) // it ticks in the background
	if c != "Expires in 10:00" && c != "Expires in 9:59" {
		t.Fatalf("countdown %q", c)
	}
	tap(d.CopyCode)
	if got := fyne.CurrentApp().Clipboard().Content(); got != code {
		t.Fatalf("clipboard holds %q", got)
	}
	// This device is listed under the name given.
	waitFor(t, "this device listed", func() bool {
		r := d.Device(env.DB.DeviceID())
		return r != nil && r.Remove == nil && strings.HasPrefix(r.Text.Text, "desk (this device)")
	})

	// A second device joins with the code read from the QR code.
	phone := storetest.New(t, app.Config{})
	startSync(t, phone)
	if _, err := phone.App.Join(context.Background(), code, gracePassword, "phone"); err != nil {
		t.Fatalf("join with the code on screen: %v", err)
	}
	phoneID := phone.DB.DeviceID()
	// The host learns of the phone in the background: reload until it shows.
	waitFor(t, "the phone listed with its last sync", func() bool {
		r := d.Device(phoneID)
		if r != nil && r.Remove != nil && strings.HasPrefix(r.Text.Text, "phone: ") && strings.Contains(r.Text.Text, "last synced") {
			return true
		}
		if u.Shell.Idle() {
			test.Tap(d.Reload)
		}
		return false
	})

	screenFitsPhone(t, u, "Devices")

	// The countdown runs on the app's clock; past it the code is gone.
	ui.OnUI(func() { // between two of the countdown's ticks, which read the clock
		env.Clock.Advance(app.PairCodeTTL + time.Second)
		d.UpdateCountdown()
		if !strings.HasPrefix(d.Countdown.Text, "This code has expired") || d.PairQR.Visible() || d.PairCode.Text != "" {
			t.Fatalf("after expiry: %q, QR shown %v, code %q", d.Countdown.Text, d.PairQR.Visible(), d.PairCode.Text)
		}
	})

	// Remove takes two taps.
	rm := d.Device(phoneID).Remove
	tap(rm)
	if !strings.HasPrefix(rm.Text, "Tap again") {
		t.Fatalf("remove button says %q after one tap", rm.Text)
	}
	tap(rm)
	waitFor(t, "the phone removed", func() bool { return d.Device(phoneID) == nil && d.Device(env.DB.DeviceID()) != nil })
	ds, err := env.App.Devices(context.Background(), u.Principal())
	if err != nil || len(ds) != 1 || ds[0].ID != env.DB.DeviceID() {
		t.Fatalf("devices after remove: %+v %v", ds, err)
	}
	l, _, err := env.App.DeviceList(context.Background(), u.Principal().UserID, u.Principal().DEK)
	if err != nil || len(l.Devices) != 1 || l.Devices[0].DeviceID != env.DB.DeviceID() {
		t.Fatalf("signed list after remove: %+v %v", l, err)
	}
}

// signedInOn signs a new profile in on another window of the running test
// app, over env.
func signedInOn(t *testing.T, env *storetest.Env, name, email, handle, password string) *ui.UI {
	t.Helper()
	w := fyne.CurrentApp().NewWindow("second")
	ui.OnUI(func() { w.Resize(ui.DefaultSize) })
	u := newUI(env.App, w)
	s := &u.Start
	typeIn(s.NewName, name)
	typeIn(s.NewEmail, email)
	typeIn(s.NewHandle, handle)
	typeIn(s.NewPassword, password)
	typeIn(s.NewConfirm, password)
	tap(s.CreateButton)
	waitFor(t, "sign-in on the second store", func() bool { return u.Principal() != nil && u.Shell != nil })
	return u
}

func TestDevicesExportImportRoundTrip(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	if _, err := env.App.UpdateInfo(ctx, u.Principal(), json.RawMessage(`{"phone":"+15551234567"}`)); err != nil {
		t.Fatal(err)
	}
	d := devicesScreen(t, u)
	// Without sync, pairing is off and says why.
	if !strings.HasPrefix(d.SyncStatus.Text, "Sync is off") || !d.Pair.Disabled() {
		t.Fatalf("sync status %q, pair disabled %v", d.SyncStatus.Text, d.Pair.Disabled())
	}

	path := filepath.Join(t.TempDir(), "grace.sppc")
	writer := func() fyne.URIWriteCloser {
		w, err := storage.Writer(storage.NewFileURI(path))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	// The app's own checks: a weak passphrase exports nothing.
	typeIn(d.ExportPass, "short")
	typeIn(d.ExportRepeat, "short")
	d.ExportTo(writer())
	waitFor(t, "the weak passphrase refused", func() bool {
		return u.Shell.Idle() && u.Shell.Status.Text == "Choose a stronger passphrase: at least 8 characters and not a common one."
	})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a failed export left a file behind: %v", err)
	}
	ui.OnUI(func() { d.ExportPass.SetText("") })
	ui.OnUI(func() { d.ExportRepeat.SetText("") })
	typeIn(d.ExportPass, "a long passphrase 42")
	typeIn(d.ExportRepeat, "a long passphrase 24")
	d.ExportTo(writer())
	if u.Shell.Status.Text != "The passphrases do not match." {
		t.Fatalf("status %q", u.Shell.Status.Text)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a failed export left a file behind: %v", err)
	}
	ui.OnUI(func() { d.ExportRepeat.SetText("") })
	typeIn(d.ExportRepeat, "a long passphrase 42")
	d.ExportTo(writer())
	waitFor(t, "the export saved", func() bool { return strings.HasPrefix(u.Shell.Status.Text, "Exported your profile to grace.sppc") })
	if d.ExportPass.Text != "" || d.ExportRepeat.Text != "" {
		t.Fatal("passphrase left in the form")
	}
	container, err := os.ReadFile(path)
	if err != nil || len(container) == 0 {
		t.Fatalf("container file: %d bytes, %v", len(container), err)
	}
	if strings.Contains(string(container), "+15551234567") || strings.Contains(string(container), "grace@example.org") {
		t.Fatal("the container holds profile data in the clear")
	}

	// A second store, where someone else is signed in, imports it.
	env2 := storetest.New(t, app.Config{})
	u2 := signedInOn(t, env2, "Ada Lovelace", "ada@example.org", "ada", "analytical-engine-1843")
	d2 := devicesScreen(t, u2)
	tap(d2.Import.Button)
	if u2.Shell.Status.Text != "Choose the container file first." {
		t.Fatalf("status %q", u2.Shell.Status.Text)
	}
	r, err := storage.Reader(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	d2.Import.Read(r)
	waitFor(t, "the file read", func() bool { return strings.HasPrefix(d2.Import.File.Text, "grace.sppc (") })

	typeIn(d2.Import.Pass, "a wrong passphrase")
	typeIn(d2.Import.Password, "new-password-2024")
	typeIn(d2.Import.Repeat, "new-password-2024")
	tap(d2.Import.Button)
	waitFor(t, "the wrong passphrase refused", func() bool {
		return u2.Shell.Status.Text == "The passphrase is wrong or the backup file is damaged: type the passphrase again, or choose another copy of the backup."
	})
	if d2.LastImport() != nil {
		t.Fatal("imported with a wrong passphrase")
	}
	ui.OnUI(func() { d2.Import.Pass.SetText("") })
	typeIn(d2.Import.Pass, "a long passphrase 42")
	tap(d2.Import.Button)
	waitFor(t, "the import", func() bool { return d2.LastImport() != nil })
	if im := d2.LastImport(); im.Email != "grace@example.org" || im.UserID != u.Principal().UserID {
		t.Fatalf("imported %+v", im)
	}
	if !strings.HasPrefix(u2.Shell.Status.Text, "Imported the profile of grace@example.org") || d2.Import.Password.Text != "" {
		t.Fatalf("status %q, password left %v", u2.Shell.Status.Text, d2.Import.Password.Text != "")
	}

	// Lock, and sign in there as Grace with the new password.
	ui.OnUI(u2.Lock)
	s := &u2.Start
	ui.OnUI(func() { s.Email.SetText("grace@example.org") }) // kept from the last sign-in, or set
	typeIn(s.Password, "new-password-2024")
	tap(s.UnlockButton)
	waitFor(t, "Grace signed in on the second store", func() bool {
		return u2.Shell != nil && u2.Shell.Profile.Who.Text == "Grace Hopper <grace@example.org>"
	})
	waitFor(t, "the phone field", func() bool {
		f, ok := u2.Shell.Profile.Field("phone")
		return ok && f.Text() == "+15551234567"
	})
	if _, err := env2.App.Login(ctx, "grace@example.org", gracePassword); err == nil {
		t.Fatal("the old password opens the imported profile")
	}
}

// TestDevicesShowAWebhookFailedForGood: a webhook to a loopback address,
// on a device that refuses private addresses, is failed for good after
// its one attempt, and the outbox says so in words.
func TestDevicesShowAWebhookFailedForGood(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := u.Principal()
	if _, err := env.App.RegisterService(ctx, p, "acme", "Acme", "http://127.0.0.1:9/events"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "phone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15551234567"}`)); err != nil {
		t.Fatal(err)
	}
	env.App.StartOutbox(ctx, webhook.New(nil, false))
	waitFor(t, "the failure", func() bool {
		es, err := env.App.OutboxEntries(ctx, p)
		return err == nil && len(es) == 1 && es[0].Status == "failed"
	})
	d := devicesScreen(t, u)
	waitFor(t, "the outbox shown", func() bool { return len(d.Outbox) == 1 })
	got := d.Outbox[0].Text
	if !strings.HasPrefix(got, "Webhook event: failed for good: address not allowed (") || !strings.HasSuffix(got, "it will not be tried again.") {
		t.Fatalf("outbox shows %q", got)
	}
}

func TestDevicesShowWhatTheOutboxHolds(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mail, _ := json.Marshal(app.Email{To: "doctor@example.org", Subject: "Your link", Text: "secret link body"})
	if err := env.App.Enqueue(ctx, u.Principal(), app.KindEmail, mail); err != nil {
		t.Fatal(err)
	}
	// The outbox runs with no e-mail sender: the message waits, and why.
	env.App.StartOutbox(ctx)
	waitFor(t, "a delivery attempt", func() bool {
		es, err := env.App.OutboxEntries(ctx, u.Principal())
		return err == nil && len(es) == 1 && es[0].LastError != ""
	})
	d := devicesScreen(t, u)
	waitFor(t, "the outbox shown", func() bool { return len(d.Outbox) == 1 })
	got := d.Outbox[0].Text
	if !strings.HasPrefix(got, "E-mail to doctor@example.org: waiting since") || !strings.Contains(got, "no email delivery configured") {
		t.Fatalf("outbox shows %q", got)
	}
	if strings.Contains(got, "secret link body") {
		t.Fatal("the outbox shows a message body")
	}
	if !strings.HasPrefix(d.Delivery.Text, "No SMTP relay is set up on this device") {
		t.Fatalf("delivery %q", d.Delivery.Text)
	}
}
