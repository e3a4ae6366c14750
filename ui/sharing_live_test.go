package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"github.com/secure-personal-profile/spp/ui"
)

// TestSharingRequestArrivesLive: a third party's request shows on the
// Sharing screen while it is open, marked unverified, with a system
// notification (issue 15 §9).
func TestSharingRequestArrivesLive(t *testing.T) {
	u, env, _ := signedIn(t)
	s := sharingScreen(t, u)
	want := &fyne.Notification{Title: "New request", Content: "shop.example (unverified) asks for your e-mail. See Sharing."}
	test.AssertNotificationSent(t, want, func() {
		if _, _, err := env.App.NewRequest(context.Background(), "192.0.2.10", "shop.example", "email", "grace", ""); err != nil {
			t.Fatal(err)
		}
		// The notification is sent on the UI goroutine once the event is read.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			var shown bool
			ui.OnUI(func() { shown = s.Request("shop.example", "email") != nil })
			if shown {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	waitFor(t, "the request shown", func() bool {
		r := s.Request("shop.example", "email")
		return r != nil && r.Approve != nil && strings.Contains(r.Text.Text, "Unverified")
	})
}
