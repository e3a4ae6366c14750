package mail_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/mail"
	"github.com/secure-personal-profile/spp/app/mail/mailtest"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func message(t *testing.T, e app.Email) *app.Message {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return &app.Message{ID: app.NewID(), Kind: app.KindEmail, Payload: b, CreatedAt: time.Now()}
}

func TestSendOverSTARTTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: true, User: "relay-user", Password: "relay-secret"})
	s, err := mail.New(mail.Config{Addr: srv.Addr, From: "spp@example.org", User: "relay-user", Password: "relay-secret", RootCAs: srv.Pool})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind() != "email" {
		t.Fatalf("kind %q", s.Kind())
	}
	// A subject with a line break must not inject a header.
	err = s.Send(context.Background(), message(t, app.Email{
		To: "dr.okafor@example.org", Subject: "Résumé for Zoë\r\nBcc: evil@example.org",
		Text: "Line one — with UTF-8 ✓\nA long line " + strings.Repeat("x", 120) + "\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	ms := srv.Messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	m := ms[0]
	if !m.TLS || m.AuthUser != "relay-user" || m.From != "spp@example.org" || len(m.To) != 1 || m.To[0] != "dr.okafor@example.org" {
		t.Fatalf("envelope: tls=%v auth=%q from=%q to=%q", m.TLS, m.AuthUser, m.From, m.To)
	}
	if got := m.Header("Subject"); got != "Résumé for Zoë  Bcc: evil@example.org" {
		t.Fatalf("subject %q", got)
	}
	if m.Header("Bcc") != "" || m.Header("From") != "spp@example.org" || m.Header("To") != "dr.okafor@example.org" || m.Header("Message-ID") == "" || m.Header("Date") == "" {
		t.Fatalf("headers wrong:\n%s", m.Data)
	}
	if txt := m.Text(); !strings.Contains(txt, "Line one — with UTF-8 ✓\n") || !strings.Contains(txt, strings.Repeat("x", 120)) {
		t.Fatalf("body %q", txt)
	}
}

func TestPlainRelayOnThisHostAndNoCredentialsWithoutTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	s, err := mail.New(mail.Config{Addr: srv.Addr, From: "spp@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message(t, app.Email{To: "a@example.org", Subject: "s", Text: "t"})); err != nil {
		t.Fatal(err)
	}
	if ms := srv.Messages(); len(ms) != 1 || ms[0].TLS {
		t.Fatalf("messages %+v", ms)
	}
	// The relay offers no TLS, so it offers no AUTH either: the password
	// is never sent in clear, and the message waits.
	s2, _ := mail.New(mail.Config{Addr: srv.Addr, From: "spp@example.org", User: "u", Password: "p"})
	err = s2.Send(context.Background(), message(t, app.Email{To: "a@example.org", Subject: "s", Text: "t"}))
	if err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("auth without TLS: %v", err)
	}
}

func TestRefusesPlaintextToARemoteRelay(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine to stand for a remote relay")
	}
	srv := mailtest.Start(t, mailtest.Options{Host: ip})
	s, _ := mail.New(mail.Config{Addr: srv.Addr, From: "spp@example.org"})
	err := s.Send(context.Background(), message(t, app.Email{To: "a@example.org", Subject: "s", Text: "t"}))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || len(srv.Messages()) != 0 {
		t.Fatalf("plain text to a remote relay: %v", err)
	}
	s2, _ := mail.New(mail.Config{Addr: srv.Addr, From: "spp@example.org", AllowPlaintext: true})
	if err := s2.Send(context.Background(), message(t, app.Email{To: "a@example.org", Subject: "s", Text: "t"})); err != nil || len(srv.Messages()) != 1 {
		t.Fatalf("explicitly allowed plain text: %v", err)
	}
}

func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

func TestNewChecksTheConfiguration(t *testing.T) {
	for _, c := range []mail.Config{
		{Addr: "no-port", From: "a@example.org"},
		{Addr: "127.0.0.1:25", From: "not an address"},
		{Addr: "127.0.0.1:25", From: "a@example.org", User: "u"},
	} {
		if _, err := mail.New(c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

// TestOutboxDeliversOverSMTPAndRetries runs the app's persistent outbox
// with this sender against a real SMTP server that is down at first.
func TestOutboxDeliversOverSMTPAndRetries(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	auth, err := env.App.Register(ctx, app.Registration{Email: "m@example.org", Password: "mail test password"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	srv := mailtest.Start(t, mailtest.Options{TLS: true})
	srv.SetRefuse(true)
	s, _ := mail.New(mail.Config{Addr: srv.Addr, From: "spp@example.org", RootCAs: srv.Pool})
	payload, _ := json.Marshal(app.Email{To: "contact@example.org", Subject: "Hello", Text: "body"})
	if err := env.App.Enqueue(ctx, p, app.KindEmail, payload); err != nil {
		t.Fatal(err)
	}
	o := env.App.StartOutbox(ctx, s)
	o.Flush(ctx)
	es, err := env.App.OutboxEntries(ctx, p)
	if err != nil || len(es) != 1 || es[0].Status != "waiting" || es[0].Attempts != 1 || es[0].LastError != "mail: RCPT TO: server answered 451" || es[0].To != "contact@example.org" {
		t.Fatalf("after a refusal: %+v %v", es, err)
	}
	srv.SetRefuse(false)
	env.Clock.Advance(5 * time.Second)
	o.Flush(ctx)
	es, _ = env.App.OutboxEntries(ctx, p)
	if es[0].Status != "delivered" || es[0].LastError != "" {
		t.Fatalf("after retry: %+v", es[0])
	}
	if ms := srv.Messages(); len(ms) != 1 || ms[0].Header("Subject") != "Hello" || !ms[0].TLS {
		t.Fatalf("arrived: %+v", ms)
	}
}
