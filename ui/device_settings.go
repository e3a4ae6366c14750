package ui

// The Settings screen's section of how this device runs: its listener's
// address, how it sends e-mail (with a test message), whether it syncs and
// through which relays. These are this device's own settings, kept sealed
// on this device (app/device_settings.go); what applies at once says so,
// what waits for the next start says that.

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// RunSettings are the widgets of the section.
type RunSettings struct {
	ListenAddr    *widget.Entry
	SMTPAddr      *widget.Entry
	SMTPFrom      *widget.Entry
	SMTPUser      *widget.Entry
	SMTPPassword  *widget.Entry
	SMTPPlaintext *widget.Check
	SyncOn        *widget.Check
	Relays        *widget.Entry
	Save          *widget.Button
	Result        *widget.Label // what the last save or test did, in place
	TestTo        *widget.Entry
	SendTest      *widget.Button
}

// buildRun is the section of this device's listener, e-mail and sync.
func (s *SettingsScreen) buildRun() fyne.CanvasObject {
	r := &s.Run
	r.ListenAddr = widget.NewEntry()
	r.ListenAddr.SetPlaceHolder("127.0.0.1:8000")
	r.SMTPAddr = widget.NewEntry()
	r.SMTPAddr.SetPlaceHolder("smtp.example.org:587")
	r.SMTPFrom = widget.NewEntry()
	r.SMTPFrom.SetPlaceHolder("profile@example.org")
	r.SMTPUser = widget.NewEntry()
	r.SMTPPassword = widget.NewPasswordEntry()
	r.SMTPPlaintext = widget.NewCheck("Plain text without STARTTLS", nil)
	r.SyncOn = widget.NewCheck("Sync with my other devices", nil)
	r.Relays = widget.NewMultiLineEntry()
	r.Relays.Wrapping = fyne.TextWrapBreak // an address has no spaces: shown whole, it needs no scrolling of its own
	r.Relays.SetPlaceHolder("one a line, as spp relay prints them")
	r.Result = wrapped("")
	r.Result.Hide()
	r.Save = primary("Save device settings", nil, s.saveRun)
	r.TestTo = widget.NewEntry()
	r.TestTo.SetPlaceHolder("you@example.org")
	r.SendTest = widget.NewButton("Send a test e-mail", s.sendTest)
	note := wrapped("Empty relay: e-mail waits in the outbox. Plain text is for a relay that offers no STARTTLS, beyond this machine.")
	return section("How this device runs", note,
		form(formRow{"Listener address", r.ListenAddr}, formRow{"E-mail relay", r.SMTPAddr}, formRow{"Sender", r.SMTPFrom},
			formRow{"Relay user", r.SMTPUser}, formRow{"Relay password", r.SMTPPassword}),
		r.SMTPPlaintext, r.SyncOn,
		form(formRow{"Relays", grown(r.Relays, 2)}),
		r.Save,
		form(formRow{"Test e-mail to", r.TestTo}), r.SendTest,
		r.Result)
}

// refreshRun loads this device's saved settings into the section.
func (s *SettingsScreen) refreshRun() {
	var ds *app.DeviceSettings
	s.shell.run("Reading this device's settings", func(ctx context.Context) (err error) {
		ds, err = s.shell.u.app.DeviceSettings(ctx)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		r := &s.Run
		r.ListenAddr.SetText(ds.ListenAddr)
		r.SMTPAddr.SetText(ds.SMTP.Addr)
		r.SMTPFrom.SetText(ds.SMTP.From)
		r.SMTPUser.SetText(ds.SMTP.User)
		r.SMTPPassword.SetText(ds.SMTP.Password)
		r.SMTPPlaintext.SetChecked(ds.SMTP.Plaintext)
		r.SyncOn.SetChecked(!ds.SyncOff)
		r.Relays.SetText(strings.Join(ds.Relays, "\n"))
	})
}

// runSettings are the section's values as settings.
func (r *RunSettings) settings() app.DeviceSettings {
	var relays []string
	for _, l := range strings.Split(r.Relays.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			relays = append(relays, l)
		}
	}
	return app.DeviceSettings{
		ListenAddr: strings.TrimSpace(r.ListenAddr.Text),
		SMTP: app.SMTPSettings{Addr: strings.TrimSpace(r.SMTPAddr.Text), From: strings.TrimSpace(r.SMTPFrom.Text),
			User: strings.TrimSpace(r.SMTPUser.Text), Password: r.SMTPPassword.Text, Plaintext: r.SMTPPlaintext.Checked},
		SyncOff: !r.SyncOn.Checked,
		Relays:  relays,
	}
}

// saveRun saves the section and says, in place, what applied at once and
// what waits for the next start, or what was wrong.
func (s *SettingsScreen) saveRun() {
	r := &s.Run
	ds := r.settings()
	var later []string
	s.shell.run("Saving this device's settings", func(ctx context.Context) (err error) {
		later, err = s.shell.u.app.SetDeviceSettings(ctx, ds)
		return err
	}, func(err error) {
		r.Result.Show()
		if err != nil {
			r.Result.SetText("Not saved. " + message(err))
			return
		}
		text := "Saved. The listener and the e-mail relay apply now."
		if len(later) > 0 {
			text += " " + capitalise(strings.Join(later, " and ")) + " take effect when the app next starts."
		}
		r.Result.SetText(text)
	})
}

// sendTest sends a test e-mail with the saved settings and says, in
// place, whether the relay took it.
func (s *SettingsScreen) sendTest() {
	r := &s.Run
	to := strings.TrimSpace(r.TestTo.Text)
	s.shell.run("Sending a test e-mail", func(ctx context.Context) error {
		return s.shell.u.app.SendTestEmail(ctx, to)
	}, func(err error) {
		r.Result.Show()
		if err != nil {
			r.Result.SetText("Test e-mail not sent: " + message(err))
			return
		}
		r.Result.SetText("Test e-mail sent to " + to + ": the relay took it (check the inbox).")
	})
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
