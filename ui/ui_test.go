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
		fyne.DoAndWait(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// signedIn returns a UI with a freshly created profile, signed in.
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
	w.Resize(ui.DefaultSize)
	u := ui.New(env.App, w)
	t.Cleanup(u.Close)
	s := &u.Start
	test.Type(s.NewName, "Grace Hopper")
	test.Type(s.NewEmail, "grace@example.org")
	test.Type(s.NewHandle, "grace")
	test.Type(s.NewPassword, "cobol-compiler-1959")
	test.Type(s.NewConfirm, "cobol-compiler-1959")
	test.Tap(s.CreateButton)
	waitFor(t, "sign-in after create", func() bool { return u.Principal() != nil && u.Shell != nil })
	return u, env, w
}

func TestCreateLockAndUnlock(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := ui.New(env.App, a.NewWindow("t"))
	s := &u.Start
	test.Type(s.NewName, "Grace Hopper")
	test.Type(s.NewEmail, "grace@example.org")
	test.Type(s.NewPassword, "cobol-compiler-1959")
	test.Type(s.NewConfirm, "cobol-compiler-1958")
	test.Tap(s.CreateButton)
	if s.Status.Text != "The passwords do not match." || u.Principal() != nil {
		t.Fatalf("mismatch accepted: %q", s.Status.Text)
	}
	s.NewConfirm.SetText("")
	test.Type(s.NewConfirm, "cobol-compiler-1959")
	test.Tap(s.CreateButton)
	waitFor(t, "sign-in after create", func() bool { return u.Shell != nil })
	waitFor(t, "profile shown", func() bool { return u.Shell.Profile.Who.Text == "Grace Hopper <grace@example.org>" })

	test.Tap(u.Shell.Lock)
	if u.Principal() != nil || u.Shell != nil {
		t.Fatal("still signed in after lock")
	}
	s = &u.Start
	s.Email.SetText("grace@example.org") // kept from the last sign-in, or set
	test.Type(s.Password, "wrong password here")
	test.Tap(s.UnlockButton)
	waitFor(t, "error", func() bool { return s.Status.Text == "Wrong e-mail or password: type them again." })
	if u.Principal() != nil {
		t.Fatal("unlocked with a wrong password")
	}
	s.Password.SetText("")
	test.Type(s.Password, "cobol-compiler-1959")
	test.Tap(s.UnlockButton)
	waitFor(t, "unlock "+s.Status.Text, func() bool { return u.Shell != nil && u.Shell.Profile.Who.Text == "Grace Hopper <grace@example.org>" })
	_ = s
}

// Issue 12 §4: a stranger's failures over the API lock the e-mail there
// (its lock-out and its ceiling), never the device's owner out of the
// app's own window.
func TestUnlockWhileTheAPILocksTheEmail(t *testing.T) {
	u, env, _ := signedIn(t)
	test.Tap(u.Shell.Lock)
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
	s.Email.SetText("grace@example.org") // kept from the last sign-in, or set
	test.Type(s.Password, "cobol-compiler-1959")
	test.Tap(s.UnlockButton)
	waitFor(t, "unlock", func() bool { return u.Shell != nil && u.Principal() != nil })
}

func TestCreateShowsTheAppsError(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := ui.New(env.App, a.NewWindow("t"))
	test.Type(u.Start.NewEmail, "not-an-email")
	test.Type(u.Start.NewPassword, "long enough password")
	test.Type(u.Start.NewConfirm, "long enough password")
	test.Tap(u.Start.CreateButton)
	waitFor(t, "error", func() bool {
		return u.Start.Status.Text == "That is not an e-mail address: type it as name@example.org."
	})
}

func TestProfileEditAddMoveRemove(t *testing.T) {
	u, env, w := signedIn(t)
	p := u.Shell.Profile
	waitFor(t, "fields", func() bool { _, ok := p.Field("email"); return ok })

	// Add a field in the private ring.
	test.Tap(p.NewField)
	test.Type(p.Name, "phone")
	test.Type(p.Value, "+15551234567")
	p.Ring.SetSelected(app.RingPrivate)
	test.Tap(p.Save)
	waitFor(t, "phone saved", func() bool {
		f, ok := p.Field("phone")
		return ok && f.Text() == "+15551234567" && f.Ring == app.RingPrivate
	})

	// Edit the name and move it to the restricted ring.
	for i := 0; i < p.List.Length(); i++ {
		p.List.Select(i)
		if p.Name.Text == "Name" {
			break
		}
	}
	if p.Name.Text != "Name" || p.Value.Text != "Grace Hopper" || p.Ring.Selected != app.RingPublic {
		t.Fatalf("editor shows %q %q %q", p.Name.Text, p.Value.Text, p.Ring.Selected)
	}
	p.Value.SetText("Rear Admiral Grace Hopper")
	p.Ring.SetSelected(app.RingRestricted)
	test.Tap(p.Save)
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
		p.List.Select(i)
		if p.Name.Text == "Phone" {
			break
		}
	}
	test.Tap(p.Remove)
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
	fyne.DoAndWait(u.CheckIdle)
	if u.Principal() == nil {
		t.Fatal("locked before the idle time")
	}
	u.Touch() // activity postpones the lock
	now = now.Add(90 * time.Second)
	fyne.DoAndWait(u.CheckIdle)
	if u.Principal() == nil {
		t.Fatal("activity did not postpone the lock")
	}
	now = now.Add(time.Minute)
	fyne.DoAndWait(u.CheckIdle)
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
	for _, size := range []fyne.Size{fyne.NewSize(1280, 800), fyne.NewSize(400, 800)} {
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
	u := ui.New(env.App, a.NewWindow("t"))
	defer u.Close()
	s := &u.Start
	test.Tap(s.Restore.Button)
	if s.Status.Text != "Choose a backup file first." {
		t.Fatalf("status %q", s.Status.Text)
	}
	s.Restore.From("mary.spp", exp.Container)
	test.Type(s.Restore.Pass, "wrong passphrase!")
	test.Type(s.Restore.Password, "new device password")
	test.Type(s.Restore.Repeat, "new device password")
	test.Tap(s.Restore.Button)
	waitFor(t, "wrong passphrase refused", func() bool {
		return s.Status.Text == "The passphrase is wrong or the backup file is damaged: type the passphrase again, or choose another copy of the backup."
	})
	s.Restore.Pass.SetText("")
	test.Type(s.Restore.Pass, "backup passphrase 1")
	test.Tap(s.Restore.Button)
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
	u := ui.New(env.App, w)
	defer u.Close()
	w.Resize(fyne.NewSize(400, 800))
	if min := w.Content().MinSize(); min.Width > 400 {
		t.Fatalf("start screen needs %v wide", min.Width)
	}
}
