package ui_test

import (
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/ui"
)

// TestUnlockKeepsEmailAfterAutoLock: the unlock screen that auto-lock
// brings back has the e-mail filled in; the password is not (issue 15
// §10).
func TestUnlockKeepsEmailAfterAutoLock(t *testing.T) {
	u, _, _ := signedIn(t)
	now := time.Now()
	u.Now = func() time.Time { return now }
	u.Touch()
	u.SetAutoLock(time.Minute)
	now = now.Add(2 * time.Minute)
	ui.OnUI(u.CheckIdle)
	if u.Principal() != nil {
		t.Fatal("not locked")
	}
	if got := u.Start.Email.Text; got != "grace@example.org" {
		t.Fatalf("e-mail after auto-lock: %q", got)
	}
	if u.Start.Password.Text != "" {
		t.Fatal("the password is kept")
	}
	// Unlocking with it, then locking again, keeps it still.
	typeIn(u.Start.Password, "cobol-compiler-1959")
	tap(u.Start.UnlockButton)
	waitFor(t, "unlocked", func() bool { return u.Principal() != nil && u.Shell != nil })
	ui.OnUI(u.Lock)
	if got := u.Start.Email.Text; got != "grace@example.org" {
		t.Fatalf("e-mail after lock: %q", got)
	}
}
