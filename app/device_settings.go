package app

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
)

// This device's own settings (issue 14 item 7): where its listener
// listens, how it sends e-mail, whether it syncs and through which relays.
// They are device-local (never synced) and kept sealed under the
// installation key, the SMTP password with them. A flag given on the
// command line wins over a saved setting. The listener address and the
// e-mail relay apply at once; sync and relays at the next start.

// DeviceSettings are this device's settings.
type DeviceSettings struct {
	ListenAddr string       `json:"listen_addr,omitempty"` // HOST:PORT ("" : the default or --addr)
	SMTP       SMTPSettings `json:"smtp"`
	SyncOff    bool         `json:"sync_off,omitempty"`
	Relays     []string     `json:"relays,omitempty"` // circuit relay multiaddrs with /p2p/ID
}

// SMTPSettings are how this device sends e-mail.
type SMTPSettings struct {
	Addr      string `json:"addr,omitempty"` // HOST:PORT ("" : e-mail waits in the outbox)
	From      string `json:"from,omitempty"`
	User      string `json:"user,omitempty"`
	Password  string `json:"password,omitempty"`  // sealed at rest with the rest
	Plaintext bool   `json:"plaintext,omitempty"` // allow plain text to a relay beyond this host
}

// DeviceHooks are what main.go gives the domain to apply device settings
// at once: a listener moved to another address (an error such as "address
// already in use" leaves the old one serving), and the e-mail sender for
// given SMTP settings (nil settings Addr: none).
type DeviceHooks struct {
	Listen func(addr string) error
	Mailer func(SMTPSettings) (Sender, error)
}

const deviceSettingsName = "device-settings"

var (
	errListenAddr = E(KindInvalid, "invalid_listen_addr", "the listener address must be HOST:PORT with a port from 1 to 65535!")
	errSMTPAddr   = E(KindInvalid, "invalid_smtp_addr", "the e-mail relay must be HOST:PORT!")
	errSMTPFrom   = E(KindInvalid, "invalid_smtp_from", "the sender must be an e-mail address!")
	errRelayAddr  = E(KindInvalid, "invalid_relay", "a relay must be a multiaddr with /p2p/ and the relay's id!")
	errNoMailer   = E(KindUnprocessable, "no_mailer", "no e-mail relay is set on this device: e-mail waits in the outbox!")
)

// Check refuses settings that cannot work, saying which.
func (s *DeviceSettings) Check() error {
	if s.ListenAddr != "" {
		_, port, err := net.SplitHostPort(s.ListenAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return errListenAddr
		}
	}
	if s.SMTP.Addr != "" {
		if _, _, err := net.SplitHostPort(s.SMTP.Addr); err != nil {
			return errSMTPAddr
		}
		if !ValidEmail(s.SMTP.From) {
			return errSMTPFrom
		}
	}
	for _, r := range s.Relays {
		if !strings.HasPrefix(r, "/") || !strings.Contains(r, "/p2p/") {
			return errRelayAddr
		}
	}
	return nil
}

// DeviceSettings returns this device's saved settings (zero when none).
func (a *DeviceService) DeviceSettings(ctx context.Context) (*DeviceSettings, error) {
	s := &DeviceSettings{}
	b, err := a.store.LocalValue(ctx, deviceSettingsName)
	if errors.Is(err, ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return nil, Internal(err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, Internal(err)
	}
	return s, nil
}

// SetDeviceSettings saves this device's settings and applies what can be
// applied at once: the listener moves (refused, and nothing saved, when
// the new address cannot be listened on), the e-mail sender changes. It
// says what waits for the next start.
func (a *DeviceService) SetDeviceSettings(ctx context.Context, s DeviceSettings) (later []string, err error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	old, err := a.DeviceSettings(ctx)
	if err != nil {
		return nil, err
	}
	h := a.cfg.Device
	if s.ListenAddr != old.ListenAddr && s.ListenAddr != "" {
		if h.Listen == nil {
			later = append(later, "the listener address")
		} else if err := h.Listen(s.ListenAddr); err != nil {
			return nil, E(KindConflict, "listen_failed", "cannot listen on "+s.ListenAddr+": "+listenProblem(err))
		}
	}
	if s.SMTP != old.SMTP {
		if err := a.useMailer(s.SMTP); err != nil {
			return nil, err
		}
	}
	if s.SyncOff != old.SyncOff || strings.Join(s.Relays, " ") != strings.Join(old.Relays, " ") {
		later = append(later, "sync and relays")
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, Internal(err)
	}
	if err := a.store.PutLocalValue(ctx, deviceSettingsName, b); err != nil {
		return nil, Internal(err)
	}
	a.cfg.Log.Info("device settings saved", "listen", s.ListenAddr, "smtp", s.SMTP.Addr != "", "sync_off", s.SyncOff, "relays", len(s.Relays))
	return later, nil
}

// useMailer makes the running outbox send e-mail with these settings.
func (a *core) useMailer(s SMTPSettings) error {
	o := a.outbox.Load()
	if a.cfg.Device.Mailer == nil || o == nil {
		return nil
	}
	var m Sender
	if s.Addr != "" {
		var err error
		if m, err = a.cfg.Device.Mailer(s); err != nil {
			return E(KindInvalid, "invalid_smtp", err.Error())
		}
	}
	o.setSender(KindEmail, m)
	if m != nil {
		// What waited for want of a relay goes now.
		if err := a.store.RetryKind(context.Background(), KindEmail, a.now()); err != nil {
			return Internal(err)
		}
	}
	a.kickOutbox()
	return nil
}

// SendTestEmail sends one message now, not through the outbox, with this
// device's e-mail settings, and says what the relay answered.
func (a *DeviceService) SendTestEmail(ctx context.Context, to string) error {
	if !ValidEmail(to) {
		return E(KindInvalid, "invalid_email", "email format error!")
	}
	s, err := a.DeviceSettings(ctx)
	if err != nil {
		return err
	}
	if s.SMTP.Addr == "" || a.cfg.Device.Mailer == nil {
		return errNoMailer
	}
	m, err := a.cfg.Device.Mailer(s.SMTP)
	if err != nil {
		return E(KindInvalid, "invalid_smtp", err.Error())
	}
	payload, err := json.Marshal(Email{To: to, Subject: "Secure Personal Profile: a test message", Text: "This device can send e-mail: trusted contacts and doctors will receive what it sends.\n"})
	if err != nil {
		return Internal(err)
	}
	if err := m.Send(ctx, a.NewMessage("", KindEmail, payload)); err != nil {
		return E(KindUnprocessable, "smtp_failed", "the e-mail relay did not take the message: "+err.Error())
	}
	return nil
}

func listenProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "address already in use"):
		return "the port is in use by another program"
	case strings.Contains(msg, "permission denied"):
		return "this user may not use that port"
	case strings.Contains(msg, "cannot assign requested address"):
		return "this machine has no such address"
	}
	return msg
}
