package ui_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
	"github.com/secure-personal-profile/spp/ui"
)

// waitFor polls cond (work runs off the UI goroutine) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCreateLockAndUnlock(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	w := a.NewWindow("t")
	u := ui.New(env.App, w)

	test.Type(u.NewName, "Grace Hopper")
	test.Type(u.NewEmail, "grace@example.org")
	test.Type(u.NewHandle, "grace")
	test.Type(u.NewPassword, "cobol-compiler-1959")
	test.Type(u.NewConfirm, "cobol-compiler-1958")
	test.Tap(u.CreateButton)
	if u.Status.Text != "The passwords do not match." || u.Principal() != nil {
		t.Fatalf("mismatch accepted: %q", u.Status.Text)
	}
	u.NewConfirm.SetText("")
	test.Type(u.NewConfirm, "cobol-compiler-1959")
	test.Tap(u.CreateButton)
	waitFor(t, "sign-in after create", func() bool { return u.Principal() != nil })
	if got := u.SignedIn.Text; got != "Signed in as Grace Hopper <grace@example.org>" {
		t.Fatalf("home shows %q", got)
	}

	test.Tap(u.LockButton)
	if u.Principal() != nil {
		t.Fatal("still signed in after lock")
	}
	test.Type(u.Email, "grace@example.org")
	test.Type(u.Password, "wrong password here")
	test.Tap(u.UnlockButton)
	waitFor(t, "error", func() bool { return u.Status.Text == "email or password is wrong!" })
	if u.Principal() != nil {
		t.Fatal("unlocked with a wrong password")
	}
	u.Password.SetText("")
	test.Type(u.Password, "cobol-compiler-1959")
	test.Tap(u.UnlockButton)
	waitFor(t, "unlock", func() bool { return u.Principal() != nil })
	if got := u.SignedIn.Text; got != "Signed in as Grace Hopper <grace@example.org>" {
		t.Fatalf("home shows %q", got)
	}
}

func TestCreateShowsTheAppsError(t *testing.T) {
	env := storetest.New(t, app.Config{})
	a := test.NewApp()
	defer a.Quit()
	u := ui.New(env.App, a.NewWindow("t"))
	test.Type(u.NewEmail, "not-an-email")
	test.Type(u.NewPassword, "long enough password")
	test.Type(u.NewConfirm, "long enough password")
	test.Tap(u.CreateButton)
	waitFor(t, "error", func() bool { return u.Status.Text == "email format error!" })
}
