// Package mail delivers the outbox's e-mail (kind "email") over SMTP:
// STARTTLS whenever the server offers it, optional PLAIN authentication
// only over TLS or to a relay on this host, and plain text only to a relay
// on this host unless explicitly allowed.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Config says how to reach the SMTP relay.
type Config struct {
	Addr     string // HOST:PORT of the relay
	From     string // the envelope and header sender
	User     string // for AUTH PLAIN; "" for none
	Password string
	// AllowPlaintext sends without TLS to a relay that does not offer
	// STARTTLS even when it is not on this host (a link in a message is
	// a secret: off by default).
	AllowPlaintext bool
	// RootCAs verifies the relay's certificate; nil for the system's.
	RootCAs *x509.CertPool
	// Hello is the name given in EHLO; "localhost" when empty.
	Hello   string
	Timeout time.Duration // per message; 30 s when zero
}

// Sender is an app.Sender of kind "email".
type Sender struct {
	cfg  Config
	host string
}

var _ app.Sender = (*Sender)(nil)

// New checks cfg and returns a sender.
func New(cfg Config) (*Sender, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("mail: SMTP address %q must be HOST:PORT", cfg.Addr)
	}
	if !app.ValidEmail(cfg.From) {
		return nil, fmt.Errorf("mail: sender address %q is not a plain e-mail address", cfg.From)
	}
	if cfg.User != "" && cfg.Password == "" {
		return nil, errors.New("mail: an SMTP user needs a password")
	}
	if cfg.Hello == "" {
		cfg.Hello = "localhost"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Sender{cfg: cfg, host: host}, nil
}

// Kind is "email".
func (s *Sender) Kind() string { return app.KindEmail }

// loopback reports whether the relay is on this host.
func (s *Sender) loopback() bool {
	if s.host == "localhost" {
		return true
	}
	ip := net.ParseIP(s.host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers one message. Errors say what failed (never the message).
func (s *Sender) Send(ctx context.Context, m *app.Message) error {
	var e app.Email
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		return fmt.Errorf("mail: undecodable message: %w", err)
	}
	if !app.ValidEmail(e.To) {
		return errors.New("mail: recipient is not a plain e-mail address")
	}
	body, err := s.compose(e, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mail: connecting to %s: %w", s.cfg.Addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return smtpErr("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.Hello); err != nil {
		return smtpErr("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return smtpErr("STARTTLS", err)
		}
	} else if !s.loopback() && !s.cfg.AllowPlaintext {
		return fmt.Errorf("mail: %s does not offer STARTTLS; refusing to send in plain text (allow it explicitly to do so)", s.cfg.Addr)
	}
	if s.cfg.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("mail: %s does not offer AUTH", s.cfg.Addr)
		}
		// PlainAuth itself refuses to send credentials without TLS unless
		// the relay is on this host.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.User, s.cfg.Password, s.host)); err != nil {
			return smtpErr("AUTH", err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return smtpErr("MAIL FROM", err)
	}
	if err := c.Rcpt(e.To); err != nil {
		return smtpErr("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		w.Close()
		return smtpErr("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("DATA", err)
	}
	// The message was accepted at the end of DATA: a failed QUIT does not
	// make it undelivered.
	c.Quit()
	return nil
}

// compose renders the RFC 5322 message: plain UTF-8 text, quoted-printable.
func (s *Sender) compose(e app.Email, m *app.Message) ([]byte, error) {
	var b bytes.Buffer
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	_, domain, _ := strings.Cut(s.cfg.From, "@")
	date := m.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	hdr := [][2]string{
		{"From", s.cfg.From},
		{"To", e.To},
		{"Subject", mime.QEncoding.Encode("utf-8", headerText(e.Subject))},
		{"Date", date.Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "." + m.ID + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"},
	}
	for _, h := range hdr {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(strings.ReplaceAll(e.Text, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// smtpErr says at which stage delivery failed and, for an answer of the
// server, only its code: a server's text may quote the recipient, and the
// outbox keeps its last error in clear and logs it.
func smtpErr(stage string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Errorf("mail: %s: server answered %d", stage, te.Code)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("mail: %s: no answer in time", stage)
	}
	return fmt.Errorf("mail: %s: %w", stage, err)
}

// headerText keeps a header value on one line.
func headerText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
