// Package ui is the Fyne GUI of Secure Personal Profile. It talks to the
// app's use cases only (never to HTTP or storage).
package ui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// UI is the app's window content and state. Tests build one with
// test.NewApp and drive it with test.Type and test.Tap.
type UI struct {
	app    *app.App
	window fyne.Window

	principal *app.Principal

	// Start screen widgets (exported to tests through the struct).
	Email, Password                           *widget.Entry
	NewName, NewEmail, NewHandle, NewPassword *widget.Entry
	NewConfirm                                *widget.Entry
	UnlockButton, CreateButton, LockButton    *widget.Button
	Status                                    *widget.Label
	Progress                                  *widget.ProgressBarInfinite
	SignedIn                                  *widget.Label
}

// New returns the UI over a, drawing into w.
func New(a *app.App, w fyne.Window) *UI {
	u := &UI{app: a, window: w}
	w.SetContent(u.startScreen())
	return u
}

// Principal is the signed-in user, nil while locked.
func (u *UI) Principal() *app.Principal { return u.principal }

func (u *UI) startScreen() fyne.CanvasObject {
	u.Status = widget.NewLabel("")
	u.Status.Wrapping = fyne.TextWrapWord
	u.Progress = widget.NewProgressBarInfinite()
	u.Progress.Hide()

	u.Email = widget.NewEntry()
	u.Email.SetPlaceHolder("you@example.org")
	u.Password = widget.NewPasswordEntry()
	u.UnlockButton = widget.NewButton("Unlock", u.unlock)
	u.UnlockButton.Importance = widget.HighImportance
	u.Password.OnSubmitted = func(string) { u.unlock() }
	unlock := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("E-mail", u.Email),
			widget.NewFormItem("Password", u.Password),
		),
		u.UnlockButton,
	)

	u.NewName = widget.NewEntry()
	u.NewEmail = widget.NewEntry()
	u.NewHandle = widget.NewEntry()
	u.NewPassword = widget.NewPasswordEntry()
	u.NewConfirm = widget.NewPasswordEntry()
	u.CreateButton = widget.NewButton("Create profile", u.create)
	u.CreateButton.Importance = widget.HighImportance
	create := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("Name", u.NewName),
			widget.NewFormItem("E-mail", u.NewEmail),
			widget.NewFormItem("Handle", u.NewHandle),
			widget.NewFormItem("Password", u.NewPassword),
			widget.NewFormItem("Repeat password", u.NewConfirm),
		),
		widget.NewLabel("At least 8 characters. Your password encrypts your profile: it cannot be recovered."),
		u.CreateButton,
	)

	tabs := container.NewAppTabs(
		container.NewTabItem("Unlock", unlock),
		container.NewTabItem("Create profile", create),
	)
	if has, err := u.app.HasAccounts(context.Background()); err == nil && !has {
		tabs.SelectIndex(1)
	}
	title := widget.NewLabelWithStyle("Secure Personal Profile", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	return container.NewPadded(container.NewVBox(title, tabs, u.Progress, u.Status))
}

// busy runs work off the UI goroutine with a progress bar, then done on it.
func (u *UI) busy(work func() error, done func(error)) {
	u.Progress.Show()
	u.Progress.Start()
	u.UnlockButton.Disable()
	u.CreateButton.Disable()
	go func() {
		err := work()
		fyne.Do(func() {
			u.Progress.Stop()
			u.Progress.Hide()
			u.UnlockButton.Enable()
			u.CreateButton.Enable()
			done(err)
		})
	}()
}

func (u *UI) unlock() {
	email, pw := u.Email.Text, u.Password.Text
	var auth *app.Auth
	u.Status.SetText("Unlocking…")
	u.busy(func() (err error) {
		auth, err = u.app.Login(context.Background(), email, pw)
		return err
	}, func(err error) { u.signedIn(auth, err) })
}

func (u *UI) create() {
	if u.NewPassword.Text != u.NewConfirm.Text {
		u.Status.SetText("The passwords do not match.")
		return
	}
	r := app.Registration{Name: u.NewName.Text, Email: u.NewEmail.Text, Handle: u.NewHandle.Text, Password: u.NewPassword.Text}
	var auth *app.Auth
	u.Status.SetText("Creating your profile…")
	u.busy(func() (err error) {
		auth, err = u.app.Register(context.Background(), r)
		return err
	}, func(err error) { u.signedIn(auth, err) })
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
		u.Status.SetText(message(err))
		return
	}
	p, err := u.app.Authenticate(context.Background(), auth.Token)
	if err != nil {
		u.Status.SetText(message(err))
		return
	}
	u.principal = p
	u.Password.SetText("")
	u.NewPassword.SetText("")
	u.NewConfirm.SetText("")
	u.window.SetContent(u.homeScreen())
}

func (u *UI) homeScreen() fyne.CanvasObject {
	fields, err := u.app.Fields(context.Background(), u.principal)
	who := "your profile"
	if err == nil {
		var name, email string
		for _, f := range fields {
			switch f.Name {
			case "name":
				name = f.Text()
			case "email":
				email = f.Text()
			}
		}
		who = fmt.Sprintf("%s <%s>", name, email)
	}
	u.SignedIn = widget.NewLabel("Signed in as " + who)
	u.LockButton = widget.NewButton("Lock", u.lock)
	return container.NewPadded(container.NewVBox(
		widget.NewLabelWithStyle("Secure Personal Profile", fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		u.SignedIn,
		layout.NewSpacer(),
		u.LockButton,
	))
}

func (u *UI) lock() {
	if u.principal != nil {
		u.app.Logout(context.Background(), u.principal)
	}
	u.principal = nil
	u.window.SetContent(u.startScreen())
}

// DefaultSize is the window's size on a desktop.
var DefaultSize = fyne.NewSize(1280, 800)
