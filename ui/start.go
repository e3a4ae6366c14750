package ui

// The start screen, shown while no one is signed in: unlock a profile,
// create one, join one from another device, or restore a backup; and the
// "Emergency information" button, which opens the responder's screen
// (responder.go) without unlocking.

import (
	"context"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// StartScreen is the first screen: unlock, create a profile, join one
// from another device, or restore a backup.
type StartScreen struct {
	u *UI

	Tabs                                      *container.AppTabs
	Email, Password                           *widget.Entry
	NewName, NewEmail, NewHandle, NewPassword *widget.Entry
	NewConfirm                                *widget.Entry
	JoinCode, JoinPassword, JoinName          *widget.Entry
	UnlockButton, CreateButton, JoinButton    *widget.Button
	JoinFromImage                             *widget.Button
	// Emergency opens the responder's screen without unlocking
	// (responder.go), as a phone's Medical ID.
	Emergency *widget.Button
	// Restore a backup (an exported container) on a device without the
	// profile, then sign in with it: the same form as Devices → Backup.
	Restore  *RestoreForm
	Status   *widget.Label
	Progress *widget.ProgressBarInfinite

	// email is the e-mail of the profile signed in last: the start screen
	// built after a lock (by hand or auto-lock) shows it filled in.
	email string
}

func (u *UI) startScreen() fyne.CanvasObject {
	u.Start = StartScreen{u: u, email: u.Start.email}
	s := &u.Start
	s.Status = wrapped("")
	s.Progress = widget.NewProgressBarInfinite()
	s.Progress.Stop()
	s.Progress.Hide()

	s.Email = widget.NewEntry()
	s.Email.SetPlaceHolder("you@example.org")
	s.Email.SetText(s.email)
	s.Password = widget.NewPasswordEntry()
	s.UnlockButton = primary("Unlock", nil, s.unlock)
	s.Password.OnSubmitted = func(string) { s.unlock() }
	unlock := container.NewVBox(form(formRow{"E-mail", s.Email}, formRow{"Password", s.Password}), s.UnlockButton)

	s.NewName, s.NewEmail, s.NewHandle = widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	s.NewPassword, s.NewConfirm = widget.NewPasswordEntry(), widget.NewPasswordEntry()
	s.CreateButton = primary("Create profile", nil, s.create)
	create := container.NewVBox(
		form(formRow{"Name", s.NewName}, formRow{"E-mail", s.NewEmail}, formRow{"Handle", s.NewHandle},
			formRow{"Password", s.NewPassword}, formRow{"Repeat", s.NewConfirm}),
		wrapped("At least 8 characters. Your password encrypts your profile: it cannot be recovered."),
		s.CreateButton,
	)

	s.JoinCode = widget.NewMultiLineEntry()
	s.JoinCode.SetPlaceHolder("spp-pair:… (the text under the pairing QR code)")
	s.JoinCode.Wrapping = fyne.TextWrapBreak
	s.JoinCode.SetMinRowsVisible(3)
	s.JoinPassword = widget.NewPasswordEntry()
	s.JoinName = widget.NewEntry()
	if h, err := os.Hostname(); err == nil {
		s.JoinName.SetText(h)
	}
	s.JoinButton = primary("Join", nil, s.join)
	s.JoinFromImage = widget.NewButton("Read the QR code from an image…", s.joinFromImage)
	join := container.NewVBox(
		wrapped("On a device that holds your profile, open Devices and show the pairing code; scan it, or paste its text here."),
		form(formRow{"Pairing code", s.JoinCode}, formRow{"Password", s.JoinPassword}, formRow{"This device", s.JoinName}),
		s.JoinFromImage,
		s.JoinButton,
	)

	s.Restore = newRestoreForm(s, u.app,
		widget.NewButton("Choose a backup file…", nil), primary("Restore", nil, nil),
		"Choose a backup file first.", s.restored)

	s.Tabs = container.NewAppTabs(
		container.NewTabItem("Unlock", unlock),
		container.NewTabItem("Create profile", create),
		container.NewTabItem("Join", join),
		container.NewTabItem("Restore", s.Restore.content("Restore a profile exported from another device (Devices → Backup): the backup's passphrase, and a new password for this device.")),
	)
	if has, err := u.app.HasAccounts(context.Background()); err == nil && !has {
		s.Tabs.SelectIndex(1)
	}
	s.Emergency = widget.NewButtonWithIcon(EmergencyButtonLabel, theme.WarningIcon(), u.showResponder)
	s.Emergency.Importance = widget.DangerImportance
	title := widget.NewLabelWithStyle("Secure Personal Profile", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	card := container.NewVBox(title, s.Tabs, s.Progress, s.Status, widget.NewSeparator(), s.Emergency)
	// Centred and no wider than a form needs on a desktop; full width on a phone.
	return container.NewPadded(container.New(&maxWidth{Width: 560}, card))
}

// run does work off the UI goroutine with the start screen's progress bar
// and its buttons disabled, then done on the UI goroutine; an error is
// shown in the status line.
func (s *StartScreen) run(what string, work func(ctx context.Context) error, done func(err error)) {
	s.Status.SetText(what + "…")
	s.Progress.Show()
	s.Progress.Start()
	buttons := []*widget.Button{s.UnlockButton, s.CreateButton, s.JoinButton, s.Restore.Button}
	for _, b := range buttons {
		b.Disable()
	}
	go func() {
		err := work(context.Background())
		fyne.Do(func() {
			doneMu.Lock() // one callback at a time (see doneMu)
			defer doneMu.Unlock()
			s.Progress.Stop()
			s.Progress.Hide()
			for _, b := range buttons {
				b.Enable()
			}
			if err != nil {
				s.Status.SetText(message(err))
			} else {
				s.Status.SetText("")
			}
			done(err)
		})
	}()
}

// say shows a message in the status line.
func (s *StartScreen) say(text string) { s.Status.SetText(text) }

// window is the window the start screen's dialogs open over.
func (s *StartScreen) window() fyne.Window { return s.u.window }

// signIn runs open (unlock, create, join) off the UI goroutine, then shows
// the shell over the session it opened.
func (s *StartScreen) signIn(what string, open func(ctx context.Context) (*app.Auth, error)) {
	s.signInAs(what, "", open)
}

// signInAs is signIn for the profile with the given e-mail (empty:
// unknown), which the start screen keeps for the next unlock.
func (s *StartScreen) signInAs(what, email string, open func(ctx context.Context) (*app.Auth, error)) {
	var auth *app.Auth
	s.run(what, func(ctx context.Context) (err error) {
		auth, err = open(ctx)
		return err
	}, func(err error) {
		if err == nil {
			if email != "" {
				s.email = email
			}
			s.u.signedIn(auth)
		}
	})
}

func (s *StartScreen) unlock() {
	email, pw := s.Email.Text, s.Password.Text
	if strings.TrimSpace(email) == "" || pw == "" { // else the app's "email and password must exist!"
		s.say("Type your e-mail address and password to unlock.")
		return
	}
	s.signInAs("Unlocking", email, func(ctx context.Context) (*app.Auth, error) {
		return s.u.app.Unlock(ctx, email, pw)
	})
}

func (s *StartScreen) create() {
	if strings.TrimSpace(s.NewEmail.Text) == "" || s.NewPassword.Text == "" { // else the app's "email and password must exist!"
		s.say("Type your e-mail address and a password (twice) to create your profile.")
		return
	}
	if s.NewPassword.Text != s.NewConfirm.Text {
		s.say("The passwords do not match.")
		return
	}
	r := app.Registration{Name: s.NewName.Text, Email: s.NewEmail.Text, Handle: s.NewHandle.Text, Password: s.NewPassword.Text}
	s.signInAs("Creating your profile", r.Email, func(ctx context.Context) (*app.Auth, error) {
		return s.u.app.Register(ctx, r)
	})
}

func (s *StartScreen) join() {
	code, pw, name := s.JoinCode.Text, s.JoinPassword.Text, s.JoinName.Text
	// Else the app's "code,password must exist!".
	if strings.TrimSpace(code) == "" {
		s.say("Paste the pairing code your other device shows under Devices → Pair a new device, or read its QR code from an image.")
		return
	}
	if pw == "" {
		s.say("Type the password that unlocks this profile on your other device.")
		return
	}
	s.signIn("Joining: contacting your other device", func(ctx context.Context) (*app.Auth, error) {
		auth, err := s.u.app.Join(ctx, code, pw, name)
		if errCode(err) == "invalid_credentials" {
			err = app.E(app.KindUnauthorized, codeJoinPassword, app.AsError(err).Message)
		}
		return auth, err
	})
}

// restored signs in with the profile a restored backup made.
func (s *StartScreen) restored(im *app.Imported, password string) {
	s.signInAs("Unlocking your restored profile", im.Email, func(ctx context.Context) (*app.Auth, error) {
		return s.u.app.Unlock(ctx, im.Email, password)
	})
}

// joinFromImage reads a pairing QR code from an image file (a photo or a
// screenshot of the other device's screen).
func (s *StartScreen) joinFromImage() {
	openFile(s, storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".gif"}), func(r fyne.URIReadCloser) {
		readFile(s, r, 16<<20, func(_ string, b []byte) {
			text, err := qr.Decode(b)
			if err != nil {
				s.say("No pairing code could be read from that image.")
				return
			}
			s.JoinCode.SetText(text)
			s.say("Pairing code read from the image.")
		})
	})
}
