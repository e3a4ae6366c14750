package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/callbacktest"
	"github.com/secure-personal-profile/spp/ui"
)

// TestSharingShowsVerifiedRequesters: a request whose callback proved
// its domain shows "Verified: <domain> answered a challenge" and its
// notification does not say unverified; a request without one, or whose
// callback failed, shows unverified (with the reason) and its
// notification says so (issue 15 §9).
func TestSharingShowsVerifiedRequesters(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()

	// The requesters' callback server: it proves the requests it knows,
	// and answers the others with a bare echo.
	cb := callbacktest.New(t, func(w http.ResponseWriter, r *http.Request, ch map[string]string, id string) {
		if strings.HasPrefix(r.URL.Path, "/echo") {
			callbacktest.Echo(w, r, ch, id)
			return
		}
		callbacktest.Right(w, r, ch, id)
	})
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	env.App.StartOutbox(octx, cb.Sender())

	s := sharingScreen(t, u)
	ask := func(service, callback string) {
		t.Helper()
		id, _, err := env.App.NewRequestWith(ctx, "192.0.2.10", app.RequestParams{ServiceID: service, InfoField: "email", Handle: "grace", CallbackURL: callback})
		if err != nil {
			t.Fatal(err)
		}
		cb.Learn(id)
	}
	shown := func(service string) func() bool {
		return func() bool {
			r := s.Request(service, "email")
			return r != nil && r.Approve != nil && !strings.Contains(r.Text.Text, "Checking")
		}
	}
	// notified runs ask and waits until its request is on screen, so the
	// notification it made is the last one sent.
	notified := func(want string, service, callback string) {
		t.Helper()
		test.AssertNotificationSent(t, &fyne.Notification{Title: "New request", Content: want}, func() {
			ask(service, callback)
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				var ok bool
				ui.OnUI(func() { ok = shown(service)() })
				if ok {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}

	notified("casino.example.com asks for your e-mail (verified: casino.example.com answered a challenge). See Sharing.",
		"casino.example.com", "https://casino.example.com/spp")
	waitFor(t, "the verified request", shown("casino.example.com"))
	var txt string
	ui.OnUI(func() { txt = s.Request("casino.example.com", "email").Text.Text })
	if !strings.Contains(txt, "Verified: casino.example.com answered a challenge.") || strings.Contains(txt, "Unverified") {
		t.Fatalf("verified request shows %q", txt)
	}

	notified("shop.example (unverified) asks for your e-mail. See Sharing.", "shop.example", "")
	ui.OnUI(func() { txt = s.Request("shop.example", "email").Text.Text })
	if !strings.Contains(txt, "Unverified: anyone can ask under any name.") || strings.Contains(txt, "Verified:") {
		t.Fatalf("unverified request shows %q", txt)
	}

	notified("bank.example.com (unverified) asks for your e-mail. See Sharing.", "bank.example.com", "https://bank.example.com/echo")
	ui.OnUI(func() { txt = s.Request("bank.example.com", "email").Text.Text })
	if !strings.Contains(txt, "Unverified") || !strings.Contains(txt, "bank.example.com did not prove it asks") || !strings.Contains(txt, "wrong proof") {
		t.Fatalf("failed request shows %q", txt)
	}
}
