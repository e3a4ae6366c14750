package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/mail"
	"github.com/secure-personal-profile/spp/app/mail/mailtest"
	"github.com/secure-personal-profile/spp/store"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func smtpMailer(s app.SMTPSettings) (app.Sender, error) {
	return mail.New(mail.Config{Addr: s.Addr, From: s.From, User: s.User, Password: s.Password, AllowPlaintext: s.Plaintext})
}

// TestDeviceSettings: this device's settings are kept sealed (the SMTP
// password with them), checked, and applied at once where they can be: a
// listener that cannot move refuses and saves nothing; a new e-mail relay
// delivers what waits in the outbox; a test e-mail says what the relay
// answered.
func TestDeviceSettings(t *testing.T) {
	relay := mailtest.Start(t, mailtest.Options{})
	var moved []string
	listen := func(addr string) error {
		if strings.HasSuffix(addr, ":1") {
			return errors.New("listen tcp " + addr + ": bind: address already in use")
		}
		moved = append(moved, addr)
		return nil
	}
	env := storetest.New(t, app.Config{Device: app.DeviceHooks{Listen: listen, Mailer: smtpMailer}})
	ctx := context.Background()
	outbox := env.App.StartOutbox(ctx)
	p := newUser(t, env, "device@example.org")

	s, err := env.App.DeviceSettings(ctx)
	if err != nil || s.ListenAddr != "" || s.SMTP.Addr != "" {
		t.Fatalf("fresh: %+v %v", s, err)
	}
	for _, bad := range []app.DeviceSettings{
		{ListenAddr: "no-port"},
		{SMTP: app.SMTPSettings{Addr: "smtp.example.org"}},
		{SMTP: app.SMTPSettings{Addr: "smtp.example.org:587", From: "not an address"}},
		{Relays: []string{"relay.example.org"}},
	} {
		if _, err := env.App.SetDeviceSettings(ctx, bad); app.AsError(err).Kind != app.KindInvalid {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
	if _, err := env.App.SetDeviceSettings(ctx, app.DeviceSettings{ListenAddr: "127.0.0.1:1"}); app.AsError(err).Code != "listen_failed" || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a busy port: %v", err)
	}
	if s, _ := env.App.DeviceSettings(ctx); s.ListenAddr != "" {
		t.Fatal("a refused listener address was saved")
	}

	// A doctor's e-mail waits: no relay yet.
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org"}); err != nil {
		t.Fatal(err)
	}
	outbox.Flush(ctx) // it finds no relay: the mail waits (a minute, without this device's settings)
	if err := env.App.SendTestEmail(ctx, "me@example.org"); app.AsError(err).Code != "no_mailer" {
		t.Fatalf("a test e-mail without a relay: %v", err)
	}
	set := app.DeviceSettings{ListenAddr: "127.0.0.1:8123", Relays: []string{"/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWExample"},
		SMTP: app.SMTPSettings{Addr: relay.Addr, From: "profile@example.org", Password: "relay-pass-QX7"}}
	later, err := env.App.SetDeviceSettings(ctx, set)
	if err != nil || strings.Join(later, ",") != "sync and relays" || len(moved) != 1 || moved[0] != "127.0.0.1:8123" {
		t.Fatalf("save: %v %v %v (the relays take effect at the next start)", later, err, moved)
	}
	// The doctor's link, which waited, goes with the new relay at once.
	if m := relay.Wait(t, 1, 10*time.Second); m[0].To[0] != "dr@example.org" {
		t.Fatalf("the waiting mail: %+v", m)
	}
	relay.SetRefuse(true)
	if err := env.App.SendTestEmail(ctx, "me@example.org"); app.AsError(err).Code != "smtp_failed" || !strings.Contains(err.Error(), "did not take") {
		t.Fatalf("a relay that refuses: %v", err)
	}
	relay.SetRefuse(false)
	if err := env.App.SendTestEmail(ctx, "me@example.org"); err != nil {
		t.Fatalf("test e-mail: %v", err)
	}
	if m := relay.Wait(t, 2, 10*time.Second); m[1].To[0] != "me@example.org" {
		t.Fatalf("the test mail: %+v", m)
	}
	s, _ = env.App.DeviceSettings(ctx)
	if s.SMTP.Password != "relay-pass-QX7" || len(s.Relays) != 1 {
		t.Fatalf("reloaded: %+v", s)
	}
	// Sealed at rest: the password is in no file of the data directory.
	var files []byte
	for _, f := range []string{store.DBFile, store.DBFile + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(env.Dir, f))
		files = append(files, b...)
	}
	if bytes.Contains(files, []byte("relay-pass-QX7")) || bytes.Contains(files, []byte("203.0.113.5")) {
		t.Fatal("a device setting is in the database in clear")
	}
}
