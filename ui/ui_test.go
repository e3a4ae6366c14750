package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
	"github.com/secure-personal-profile/spp/ui"
)

// waitFor polls cond (work runs off the UI goroutine) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		ui.OnUI(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Tests act on the widgets as the UI goroutine does, one step at a time
// with the callbacks of work ending in the background (ui.OnUI): tap,
// typeIn and newUI are such steps, and waitFor polls in them. What a test
// reads outside them it reads once the work it waits for is done.

// tap taps o (see ui.OnUI).
func tap(o fyne.Tappable) { ui.OnUI(func() { test.Tap(o) }) }

// typeIn types text into e (see ui.OnUI).
func typeIn(e fyne.Focusable, text string) { ui.OnUI(func() { test.Type(e, text) }) }

// newUI builds the UI over a in w (see ui.OnUI).
func newUI(a *app.App, w fyne.Window) (u *ui.UI) {
	ui.OnUI(func() { u = ui.New(a, w) })
	return u
}

// signedIn returns a UI with a freshly created profile, signed in; when
// the test ends its work is waited for and it locks, so that nothing of
// it (a countdown, a subscription) runs on into the next test.
func signedIn(t *testing.T) (*ui.UI, *storetest.Env, fyne.Window) {
	t.Helper()
	return signedInWith(t, app.Config{})
}

// signedInWith is signedIn over an app configured with cfg.
func signedInWith(t *testing.T, cfg app.Config) (*ui.UI, *storetest.Env, fyne.Window) {
	t.Helper()
	env := storetest.New(t, cfg)
	a := test.NewApp()
	t.Cleanup(a.Quit)
	w := a.NewWindow("t")
	ui.OnUI(func() { w.Resize(ui.DefaultSize) })
	u := newUI(env.App, w)
	t.Cleanup(u.Close)
	t.Cleanup(func() {
		waitFor(t, "the work in flight at the end", func() bool { return u.Shell == nil || u.Shell.Idle() })
		ui.OnUI(func() {
			if u.Responder != nil {
				test.Tap(u.Responder.Back)
			}
			u.Lock()
		})
	})
	s := &u.Start
	typeIn(s.NewName, "Grace Hopper")
	typeIn(s.NewEmail, "grace@example.org")
	typeIn(s.NewHandle, "grace")
	typeIn(s.NewPassword, "cobol-compiler-1959")
	typeIn(s.NewConfirm, "cobol-compiler-1959")
	tap(s.CreateButton)
	waitFor(t, "sign-in after create", func() bool { return u.Principal() != nil && u.Shell != nil })
	return u, env, w
}

func TestCreateLockAndUnlock(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := newUI(env.App, a.NewWindow("t"))
	s := &u.Start
	typeIn(s.NewName, "Grace Hopper")
	typeIn(s.NewEmail, "grace@example.org")
	typeIn(s.NewPassword, "cobol-compiler-1959")
	typeIn(s.NewConfirm, "cobol-compiler-1958")
	tap(s.CreateButton)
	if s.Status.Text != "The passwords do not match." || u.Principal() != nil {
		t.Fatalf("mismatch accepted: %q", s.Status.Text)
	}
	ui.OnUI(func() { s.NewConfirm.SetText("") })
	typeIn(s.NewConfirm, "cobol-compiler-1959")
	tap(s.CreateButton)
	waitFor(t, "sign-in after create", func() bool { return u.Shell != nil })
	waitFor(t, "profile shown", func() bool { return u.Shell.Profile.Who.Text == "Grace Hopper <grace@example.org>" })

	tap(u.Shell.Lock)
	if u.Principal() != nil || u.Shell != nil {
		t.Fatal("still signed in after lock")
	}
	s = &u.Start
	ui.OnUI(func() { s.Email.SetText("grace@example.org") }) // kept from the last sign-in, or set
	typeIn(s.Password, "wrong password here")
	tap(s.UnlockButton)
	waitFor(t, "error", func() bool { return s.Status.Text == "Wrong e-mail or password: type them again." })
	if u.Principal() != nil {
		t.Fatal("unlocked with a wrong password")
	}
	ui.OnUI(func() { s.Password.SetText("") })
	typeIn(s.Password, "cobol-compiler-1959")
	tap(s.UnlockButton)
	waitFor(t, "unlock "+s.Status.Text, func() bool { return u.Shell != nil && u.Shell.Profile.Who.Text == "Grace Hopper <grace@example.org>" })
	_ = s
}

// Issue 12 §4: a stranger's failures over the API lock the e-mail there
// (its lock-out and its ceiling), never the device's owner out of the
// app's own window.
func TestUnlockWhileTheAPILocksTheEmail(t *testing.T) {
	u, env, _ := signedIn(t)
	tap(u.Shell.Lock)
	ctx := context.Background()
	for i := 0; i < app.LoginEmailLimit; i++ {
		env.App.LoginFrom(ctx, fmt.Sprintf("203.0.%d.%d", i/200, i%200+1), "grace@example.org", "a stranger's guess")
	}
	for i := 0; i < app.LoginFailureLimit; i++ {
		env.App.Login(ctx, "grace@example.org", "a stranger's guess")
	}
	if _, err := env.App.Login(ctx, "grace@example.org", "cobol-compiler-1959"); app.AsError(err).Kind != app.KindRateLimited {
		t.Fatalf("the API's login: %v, want 429", err)
	}
	s := &u.Start
	ui.OnUI(func() { s.Email.SetText("grace@example.org") }) // kept from the last sign-in, or set
	typeIn(s.Password, "cobol-compiler-1959")
	tap(s.UnlockButton)
	waitFor(t, "unlock", func() bool { return u.Shell != nil && u.Principal() != nil })
}

func TestCreateShowsTheAppsError(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := newUI(env.App, a.NewWindow("t"))
	typeIn(u.Start.NewEmail, "not-an-email")
	typeIn(u.Start.NewPassword, "long enough password")
	typeIn(u.Start.NewConfirm, "long enough password")
	tap(u.Start.CreateButton)
	waitFor(t, "error", func() bool {
		return u.Start.Status.Text == "That is not an e-mail address: type it as name@example.org."
	})
}

func TestProfileEditAddMoveRemove(t *testing.T) {
	u, env, w := signedIn(t)
	p := u.Shell.Profile
	waitFor(t, "fields", func() bool { _, ok := p.Field("email"); return ok })

	// Add a field in the private ring.
	tap(p.NewField)
	typeIn(p.Name, "phone")
	typeIn(p.Value, "+15551234567")
	ui.OnUI(func() { p.Ring.SetSelected(app.RingPrivate) })
	tap(p.Save)
	waitFor(t, "phone saved", func() bool {
		f, ok := p.Field("phone")
		return ok && f.Text() == "+15551234567" && f.Ring == app.RingPrivate
	})

	// Edit the name and move it to the restricted ring.
	for i := 0; i < p.List.Length(); i++ {
		ui.OnUI(func() { p.List.Select(i) })
		if p.Name.Text == "Name" {
			break
		}
	}
	if p.Name.Text != "Name" || p.Value.Text != "Grace Hopper" || p.Ring.Selected != app.RingPublic {
		t.Fatalf("editor shows %q %q %q", p.Name.Text, p.Value.Text, p.Ring.Selected)
	}
	ui.OnUI(func() { p.Value.SetText("Rear Admiral Grace Hopper") })
	ui.OnUI(func() { p.Ring.SetSelected(app.RingRestricted) })
	tap(p.Save)
	waitFor(t, "name saved", func() bool {
		f, _ := p.Field("name")
		return f.Text() == "Rear Admiral Grace Hopper" && f.Ring == app.RingRestricted
	})
	// The change is in the store, not only on screen.
	fields, err := env.App.Fields(context.Background(), u.Principal())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]app.Field{}
	for _, f := range fields {
		got[f.Name] = f
	}
	if got["name"].Text() != "Rear Admiral Grace Hopper" || got["name"].Ring != app.RingRestricted || got["phone"].Text() != "+15551234567" {
		t.Fatalf("store has %+v", got)
	}

	// Remove the phone.
	for i := 0; i < p.List.Length(); i++ {
		ui.OnUI(func() { p.List.Select(i) })
		if p.Name.Text == "Phone" {
			break
		}
	}
	tap(p.Remove)
	tapDialogButton(t, w, "Remove")
	waitFor(t, "phone removed", func() bool { _, ok := p.Field("phone"); return !ok })
}

func TestAutoLockAfterIdle(t *testing.T) {
	u, _, _ := signedIn(t)
	now := time.Now()
	u.Now = func() time.Time { return now }
	u.Touch()
	u.SetAutoLock(2 * time.Minute)
	now = now.Add(time.Minute)
	ui.OnUI(u.CheckIdle)
	if u.Principal() == nil {
		t.Fatal("locked before the idle time")
	}
	u.Touch() // activity postpones the lock
	now = now.Add(90 * time.Second)
	ui.OnUI(u.CheckIdle)
	if u.Principal() == nil {
		t.Fatal("activity did not postpone the lock")
	}
	now = now.Add(time.Minute)
	ui.OnUI(u.CheckIdle)
	if u.Principal() != nil || u.Shell != nil {
		t.Fatal("not locked after the idle time")
	}
	// Off means off.
	u.SetAutoLock(0)
	if u.AutoLock() != 0 {
		t.Fatal("auto-lock not off")
	}
}

// TestLayouts renders the signed-in window at a desktop's and a phone's
// size: everything fits the width, and the tabs move to the bottom on a
// phone.
func TestLayouts(t *testing.T) {
	u, _, w := signedIn(t)
	waitIdle(t, u)
	for _, size := range []fyne.Size{fyne.NewSize(1280, 800), fyne.NewSize(400, 800)} {
		ui.OnUI(func() {
			w.Resize(size)
			img := w.Canvas().Capture()
			if img.Bounds().Dx() < int(size.Width) {
				t.Fatalf("captured %v at %v", img.Bounds(), size)
			}
			if min := w.Content().MinSize(); min.Width > size.Width {
				t.Errorf("content needs %v wide, window is %v", min.Width, size.Width)
			}
			for _, it := range u.Shell.Tabs.Items {
				if min := it.Content.MinSize(); min.Width > size.Width {
					t.Errorf("%s needs %v wide at %v", it.Text, min.Width, size)
				}
			}
			if u.Shell.Tabs.Size().Width < size.Width-20 {
				t.Errorf("tabs not laid out to the width at %v: %v", size, u.Shell.Tabs.Size())
			}
		})
	}
}

// A device without the profile restores it from a backup on the start
// screen, and is signed in.
func TestRestoreFromABackupOnTheStartScreen(t *testing.T) {
	ctx := context.Background()
	src := storetest.New(t, app.Config{})
	auth, err := src.App.Register(ctx, app.Registration{Name: "Mary Somerville", Email: "mary@example.org", Password: "connexion-1834"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := src.App.Authenticate(ctx, auth.Token)
	exp, err := src.App.Export(ctx, p, "container", "backup passphrase 1")
	if err != nil {
		t.Fatal(err)
	}

	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := newUI(env.App, a.NewWindow("t"))
	defer u.Close()
	s := &u.Start
	tap(s.Restore.Button)
	if s.Status.Text != "Choose a backup file first." {
		t.Fatalf("status %q", s.Status.Text)
	}
	ui.OnUI(func() { s.Restore.From("mary.spp", exp.Container) })
	typeIn(s.Restore.Pass, "wrong passphrase!")
	typeIn(s.Restore.Password, "new device password")
	typeIn(s.Restore.Repeat, "new device password")
	tap(s.Restore.Button)
	waitFor(t, "wrong passphrase refused", func() bool {
		return s.Status.Text == "The passphrase is wrong or the backup file is damaged: type the passphrase again, or choose another copy of the backup."
	})
	ui.OnUI(func() { s.Restore.Pass.SetText("") })
	typeIn(s.Restore.Pass, "backup passphrase 1")
	tap(s.Restore.Button)
	waitFor(t, "restored and signed in", func() bool {
		return u.Shell != nil && u.Shell.Profile.Who.Text == "Mary Somerville <mary@example.org>"
	})
	if _, err := env.App.Login(ctx, "mary@example.org", "new device password"); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}
}

// The start screen fits a phone's width too.
func TestStartScreenFitsAPhone(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	w := a.NewWindow("t")
	u := newUI(env.App, w)
	defer u.Close()
	ui.OnUI(func() { w.Resize(fyne.NewSize(400, 800)) })
	if min := w.Content().MinSize(); min.Width > 400 {
		t.Fatalf("start screen needs %v wide", min.Width)
	}
}
