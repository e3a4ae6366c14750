package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/mail"
	"github.com/secure-personal-profile/spp/app/mail/mailtest"
	"github.com/secure-personal-profile/spp/ui"
)

// TestDeviceSettingsInTheGUI: the Settings screen sets how this device
// runs; a bad value is refused in place, a saved relay sends a test
// e-mail that arrives, and what waits for the next start says so.
func TestDeviceSettingsInTheGUI(t *testing.T) {
	relay := mailtest.Start(t, mailtest.Options{})
	cfg := app.Config{Device: app.DeviceHooks{Mailer: func(s app.SMTPSettings) (app.Sender, error) {
		return mail.New(mail.Config{Addr: s.Addr, From: s.From, User: s.User, Password: s.Password, AllowPlaintext: s.Plaintext})
	}}}
	u, _, _ := signedInWith(t, cfg)
	ui.OnUI(func() { u.Shell.Select("Settings") })
	waitIdle(t, u)
	s := u.Shell.Screen("Settings").(*ui.SettingsScreen)
	r := &s.Run
	if !r.SyncOn.Checked {
		t.Fatal("sync is off by default")
	}
	ui.OnUI(func() { r.ListenAddr.SetText("not an address") })
	tap(r.Save)
	waitFor(t, "the refusal in place", func() bool {
		return r.Result.Text == "Not saved. Type the listener address as host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080."
	})

	tap(r.SendTest)
	waitFor(t, "no relay yet", func() bool { return strings.Contains(r.Result.Text, "Test e-mail not sent") })

	ui.OnUI(func() {
		r.ListenAddr.SetText("")
		r.SMTPAddr.SetText(relay.Addr)
		r.SMTPFrom.SetText("profile@example.org")
		r.Relays.SetText("/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWExample\n")
	})
	tap(r.Save)
	waitFor(t, "saved", func() bool { return strings.HasPrefix(r.Result.Text, "Saved.") })
	if !strings.Contains(r.Result.Text, "Sync and relays take effect when the app next starts") {
		t.Fatalf("saved: %q", r.Result.Text)
	}
	typeIn(r.TestTo, "grace@example.org")
	tap(r.SendTest)
	waitFor(t, "sent", func() bool { return strings.HasPrefix(r.Result.Text, "Test e-mail sent to grace@example.org") })
	if m := relay.Wait(t, 1, 10*time.Second); m[0].To[0] != "grace@example.org" {
		t.Fatalf("mail: %+v", m)
	}
	// Shown again from what was saved.
	ui.OnUI(func() { u.Shell.Select("My profile") })
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Settings") })
	waitIdle(t, u)
	waitFor(t, "reloaded", func() bool { return r.SMTPAddr.Text == relay.Addr && strings.Contains(r.Relays.Text, "203.0.113.5") })
}
