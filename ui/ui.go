// Package ui is the Fyne GUI of Secure Personal Profile. It talks to the
// app's use cases only (never to HTTP or storage). Widgets change only on
// the UI goroutine: long work runs in a goroutine and comes back through
// fyne.Do.
package ui

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// DefaultSize is the window's size on a desktop.
var DefaultSize = fyne.NewSize(1280, 800)

// DefaultAutoLock locks the profile after this much idle time; the user
// changes it in Settings (0 turns auto-lock off).
const DefaultAutoLock = 5 * time.Minute

const prefAutoLock = "auto_lock_minutes"

// UI is the app's window content and state. Tests build one with
// test.NewApp and drive it with test.Type and test.Tap on the exported
// widgets.
type UI struct {
	app    *app.App
	window fyne.Window
	fyne   fyne.App

	mu           sync.Mutex // guards principal and lastActivity (read by the idle ticker)
	principal    *app.Principal
	lastActivity time.Time

	done      chan struct{} // closed by Close
	closeOnce sync.Once

	// Now is the clock for auto-lock (tests replace it).
	Now func() time.Time

	// Start screen.
	Start StartScreen
	// Signed in: the shell and its screens.
	Shell *Shell
}

// StartScreen is the first screen: unlock, create a profile, or join one
// from another device.
type StartScreen struct {
	Tabs                                      *container.AppTabs
	Email, Password                           *widget.Entry
	NewName, NewEmail, NewHandle, NewPassword *widget.Entry
	NewConfirm                                *widget.Entry
	JoinCode, JoinPassword, JoinName          *widget.Entry
	UnlockButton, CreateButton, JoinButton    *widget.Button
	JoinFromImage                             *widget.Button
	// Restore a backup (an exported container) on a device without the profile.
	RestoreChoose, RestoreButton                *widget.Button
	RestoreFile                                 *widget.Label
	RestorePass, RestorePassword, RestoreRepeat *widget.Entry
	restoreData                                 []byte
	Status                                      *widget.Label
	Progress                                    *widget.ProgressBarInfinite
}

// New returns the UI over a, drawing into w, and starts the auto-lock
// ticker, which stops when the app quits.
func New(a *app.App, w fyne.Window) *UI {
	u := &UI{app: a, window: w, fyne: fyne.CurrentApp(), Now: time.Now}
	w.SetContent(u.startScreen())
	if lc := u.fyne.Lifecycle(); lc != nil {
		// A phone put away locks at once.
		lc.SetOnExitedForeground(func() {
			if u.fyne.Driver().Device().IsMobile() {
				u.Lock()
			}
		})
	}
	u.done = make(chan struct{})
	w.SetOnClosed(u.Close)
	go u.idleTicker()
	return u
}

// Close stops the UI's background work (the auto-lock ticker); the window
// closing does it too.
func (u *UI) Close() { u.closeOnce.Do(func() { close(u.done) }) }

// Principal is the signed-in user, nil while locked.
func (u *UI) Principal() *app.Principal {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.principal
}

// App is the app the UI drives.
func (u *UI) App() *app.App { return u.app }

// Window is the UI's window.
func (u *UI) Window() fyne.Window { return u.window }

func (u *UI) startScreen() fyne.CanvasObject {
	s := &u.Start
	s.Status = widget.NewLabel("")
	s.Status.Wrapping = fyne.TextWrapWord
	s.Progress = widget.NewProgressBarInfinite()
	s.Progress.Stop()
	s.Progress.Hide()

	s.Email = widget.NewEntry()
	s.Email.SetPlaceHolder("you@example.org")
	s.Password = widget.NewPasswordEntry()
	s.UnlockButton = widget.NewButton("Unlock", u.unlock)
	s.UnlockButton.Importance = widget.HighImportance
	s.Password.OnSubmitted = func(string) { u.unlock() }
	unlock := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("E-mail", s.Email),
			widget.NewFormItem("Password", s.Password),
		),
		s.UnlockButton,
	)

	s.NewName = widget.NewEntry()
	s.NewEmail = widget.NewEntry()
	s.NewHandle = widget.NewEntry()
	s.NewPassword = widget.NewPasswordEntry()
	s.NewConfirm = widget.NewPasswordEntry()
	s.CreateButton = widget.NewButton("Create profile", u.create)
	s.CreateButton.Importance = widget.HighImportance
	hint := wrapped("At least 8 characters. Your password encrypts your profile: it cannot be recovered.")
	create := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("Name", s.NewName),
			widget.NewFormItem("E-mail", s.NewEmail),
			widget.NewFormItem("Handle", s.NewHandle),
			widget.NewFormItem("Password", s.NewPassword),
			widget.NewFormItem("Repeat", s.NewConfirm),
		),
		hint,
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
	s.JoinButton = widget.NewButton("Join", u.join)
	s.JoinButton.Importance = widget.HighImportance
	s.JoinFromImage = widget.NewButton("Read the QR code from an image…", u.joinFromImage)
	joinHint := wrapped("On a device that holds your profile, open Devices and show the pairing code; scan it, or paste its text here.")
	join := container.NewVBox(
		joinHint,
		widget.NewForm(
			widget.NewFormItem("Pairing code", s.JoinCode),
			widget.NewFormItem("Password", s.JoinPassword),
			widget.NewFormItem("This device", s.JoinName),
		),
		s.JoinFromImage,
		s.JoinButton,
	)

	s.RestoreFile = widget.NewLabel("No file chosen.")
	s.RestoreFile.Wrapping = fyne.TextWrapWord
	s.RestoreChoose = widget.NewButton("Choose a backup file…", u.chooseRestore)
	s.RestorePass = widget.NewPasswordEntry()
	s.RestorePassword = widget.NewPasswordEntry()
	s.RestoreRepeat = widget.NewPasswordEntry()
	s.RestoreButton = widget.NewButton("Restore", u.restore)
	s.RestoreButton.Importance = widget.HighImportance
	restoreHint := wrapped("Restore a profile exported from another device (Devices → Backup): the backup's passphrase, and a new password for this device.")
	restore := container.NewVBox(
		restoreHint,
		s.RestoreChoose,
		s.RestoreFile,
		widget.NewForm(
			widget.NewFormItem("Passphrase", s.RestorePass),
			widget.NewFormItem("New password", s.RestorePassword),
			widget.NewFormItem("Repeat", s.RestoreRepeat),
		),
		s.RestoreButton,
	)

	s.Tabs = container.NewAppTabs(
		container.NewTabItem("Unlock", unlock),
		container.NewTabItem("Create profile", create),
		container.NewTabItem("Join", join),
		container.NewTabItem("Restore", restore),
	)
	if has, err := u.app.HasAccounts(context.Background()); err == nil && !has {
		s.Tabs.SelectIndex(1)
	}
	title := widget.NewLabelWithStyle("Secure Personal Profile", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	card := container.NewVBox(title, s.Tabs, s.Progress, s.Status)
	// Centred and no wider than a form needs on a desktop; full width on a phone.
	return container.NewPadded(container.New(&maxWidth{Width: 560}, card))
}

// busy runs work off the UI goroutine with the start screen's progress bar,
// then done on the UI goroutine.
func (u *UI) busy(work func() error, done func(error)) {
	s := &u.Start
	s.Progress.Show()
	s.Progress.Start()
	buttons := []*widget.Button{s.UnlockButton, s.CreateButton, s.JoinButton, s.RestoreButton}
	for _, b := range buttons {
		b.Disable()
	}
	go func() {
		err := work()
		fyne.Do(func() {
			doneMu.Lock() // one callback at a time (see doneMu)
			defer doneMu.Unlock()
			s.Progress.Stop()
			s.Progress.Hide()
			for _, b := range buttons {
				b.Enable()
			}
			done(err)
		})
	}()
}

func (u *UI) unlock() {
	email, pw := u.Start.Email.Text, u.Start.Password.Text
	var auth *app.Auth
	u.Start.Status.SetText("Unlocking…")
	u.busy(func() (err error) {
		auth, err = u.app.Unlock(context.Background(), email, pw)
		return err
	}, func(err error) { u.signedIn(auth, err) })
}

func (u *UI) create() {
	s := &u.Start
	if s.NewPassword.Text != s.NewConfirm.Text {
		s.Status.SetText("The passwords do not match.")
		return
	}
	r := app.Registration{Name: s.NewName.Text, Email: s.NewEmail.Text, Handle: s.NewHandle.Text, Password: s.NewPassword.Text}
	var auth *app.Auth
	s.Status.SetText("Creating your profile…")
	u.busy(func() (err error) {
		auth, err = u.app.Register(context.Background(), r)
		return err
	}, func(err error) { u.signedIn(auth, err) })
}

func (u *UI) join() {
	s := &u.Start
	code, pw, name := s.JoinCode.Text, s.JoinPassword.Text, s.JoinName.Text
	var auth *app.Auth
	s.Status.SetText("Joining: contacting your other device…")
	u.busy(func() (err error) {
		auth, err = u.app.Join(context.Background(), code, pw, name)
		return err
	}, func(err error) { u.signedIn(auth, err) })
}

// RestoreFrom sets the backup to restore (the file dialog feeds it).
func (u *UI) RestoreFrom(name string, data []byte) {
	u.Start.restoreData = data
	u.Start.RestoreFile.SetText(name)
}

func (u *UI) chooseRestore() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		defer r.Close()
		b, err := readAllLimited(r, 64<<20)
		if err != nil {
			u.Start.Status.SetText("That file could not be read.")
			return
		}
		u.RestoreFrom(r.URI().Name(), b)
	}, u.window)
	d.Show()
}

// restore imports the chosen backup as a profile on this device, then
// signs in with it.
func (u *UI) restore() {
	s := &u.Start
	if s.restoreData == nil {
		s.Status.SetText("Choose a backup file first.")
		return
	}
	if s.RestorePassword.Text != s.RestoreRepeat.Text {
		s.Status.SetText("The passwords do not match.")
		return
	}
	data, pass, pw := s.restoreData, s.RestorePass.Text, s.RestorePassword.Text
	var auth *app.Auth
	s.Status.SetText("Restoring your profile…")
	u.busy(func() error {
		ctx := context.Background()
		imp, err := u.app.Import(ctx, data, pass, pw)
		if err != nil {
			return err
		}
		auth, err = u.app.Unlock(ctx, imp.Email, pw)
		return err
	}, func(err error) {
		if err == nil {
			s.restoreData = nil
			s.RestorePass.SetText("")
			s.RestoreRepeat.SetText("")
		}
		u.signedIn(auth, err)
	})
}

// joinFromImage reads a pairing QR code from an image file (a photo or a
// screenshot of the other device's screen).
func (u *UI) joinFromImage() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		defer r.Close()
		b, err := readAllLimited(r, 16<<20)
		if err == nil {
			var text string
			if text, err = qr.Decode(b); err == nil {
				u.Start.JoinCode.SetText(text)
				u.Start.Status.SetText("Pairing code read from the image.")
				return
			}
		}
		u.Start.Status.SetText("No pairing code could be read from that image.")
	}, u.window)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".gif"}))
	d.Show()
}

// message is what the user reads for an error: the app's message, never
// internals.
func message(err error) string {
	var e *app.Error
	if errors.As(err, &e) && e.Kind != app.KindInternal {
		return e.Message
	}
	return "Something went wrong; see the log."
}

func (u *UI) signedIn(auth *app.Auth, err error) {
	if err != nil {
		u.Start.Status.SetText(message(err))
		return
	}
	p, err := u.app.Authenticate(context.Background(), auth.Token)
	if err != nil {
		u.Start.Status.SetText(message(err))
		return
	}
	u.mu.Lock()
	u.principal = p
	u.lastActivity = u.Now()
	u.mu.Unlock()
	for _, e := range []*widget.Entry{u.Start.Password, u.Start.NewPassword, u.Start.NewConfirm, u.Start.JoinPassword, u.Start.RestorePassword} {
		e.SetText("")
	}
	sh := newShell(u)
	u.window.SetContent(sh.content)
	u.Shell = sh // set once shown: tests wait for it
}

// Lock signs out: the session's token is revoked, the data key forgotten,
// and the start screen shown.
func (u *UI) Lock() {
	u.mu.Lock()
	p := u.principal
	u.principal = nil
	u.mu.Unlock()
	if p != nil {
		u.app.Logout(context.Background(), p)
	}
	if u.Shell != nil {
		u.Shell.close() // screens end their subscriptions
	}
	u.Shell = nil
	u.window.SetContent(u.startScreen())
	u.Start.Tabs.SelectIndex(0)
	u.Start.Status.SetText("Locked.")
}

// Touch records user activity, postponing auto-lock.
func (u *UI) Touch() {
	u.mu.Lock()
	u.lastActivity = u.Now()
	u.mu.Unlock()
}

// AutoLock is the idle time after which the profile locks (0: never).
func (u *UI) AutoLock() time.Duration {
	m := u.fyne.Preferences().IntWithFallback(prefAutoLock, int(DefaultAutoLock/time.Minute))
	return time.Duration(m) * time.Minute
}

// SetAutoLock changes the idle time after which the profile locks.
func (u *UI) SetAutoLock(d time.Duration) {
	u.fyne.Preferences().SetInt(prefAutoLock, int(d/time.Minute))
	u.Touch()
}

// CheckIdle locks the profile when it has been idle longer than AutoLock.
// It runs on the UI goroutine.
func (u *UI) CheckIdle() {
	limit := u.AutoLock()
	u.mu.Lock()
	idle := u.principal != nil && limit > 0 && u.Now().Sub(u.lastActivity) >= limit
	u.mu.Unlock()
	if idle {
		u.Lock()
	}
}

func (u *UI) idleTicker() {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-u.done:
			return
		case <-t.C:
			if u.Principal() != nil {
				fyne.Do(u.CheckIdle)
			}
		}
	}
}
