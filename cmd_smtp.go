package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/mail"
)

// smtpOptions are the flags of outgoing e-mail (trusted contacts told of
// an emergency grant, doctors sent their links).
type smtpOptions struct {
	addr, from, user, passwordFile string
	plaintext                      bool
}

func (o *smtpOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "smtp-addr", "", "SMTP relay `HOST:PORT` for outgoing e-mail (STARTTLS when offered); without it e-mail waits in the outbox")
	fs.StringVar(&o.from, "smtp-from", "", "sender `ADDRESS` of outgoing e-mail (required with --smtp-addr)")
	fs.StringVar(&o.user, "smtp-user", "", "SMTP `USER` for AUTH PLAIN (sent only over TLS or to a relay on this host)")
	fs.StringVar(&o.passwordFile, "smtp-password-file", "", "`FILE` holding the SMTP password (or set SPP_SMTP_PASSWORD)")
	fs.BoolVar(&o.plaintext, "smtp-plaintext", false, "allow e-mail in plain text to a relay beyond this host that offers no STARTTLS")
}

// check validates the flags without reading any file.
func (o *smtpOptions) check() error {
	if o.addr == "" {
		if o.from != "" || o.user != "" || o.passwordFile != "" {
			return errors.New("--smtp-from, --smtp-user and --smtp-password-file need --smtp-addr")
		}
		return nil
	}
	if o.from == "" {
		return errors.New("--smtp-addr needs --smtp-from")
	}
	return nil
}

// sender returns the e-mail sender the flags describe, or nil without
// --smtp-addr. The password comes from --smtp-password-file or the
// SPP_SMTP_PASSWORD environment variable, never from the command line.
func (o *smtpOptions) sender() (app.Sender, error) {
	if o.addr == "" {
		return nil, nil
	}
	password := os.Getenv("SPP_SMTP_PASSWORD")
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("reading --smtp-password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	s, err := mail.New(mail.Config{Addr: o.addr, From: o.from, User: o.user, Password: password, AllowPlaintext: o.plaintext})
	if err != nil {
		return nil, err
	}
	return s, nil
}
