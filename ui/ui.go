// Package ui is the Fyne GUI of Secure Personal Profile: the window, the
// start screen (start.go), the signed-in shell (shell.go) with a screen per
// use case, each in the file named for what it shows, and the widgets the
// screens share (widgets.go). It drives the domain through *app.App only,
// never HTTP or storage; of this module it imports app, app/qr (drawing and
// reading QR codes) and assets (whose bytes it wraps as Fyne resources).
// Tests build a UI with test.NewApp and drive its exported widgets with
// test.Type and test.Tap.
//
// Widgets change only on the UI goroutine: long work runs in a goroutine
// and comes back through fyne.Do, holding doneMu (shell.go), which tests
// hold too for each step they take (OnUI, export_test.go).
package ui

// This file: the UI itself, signing in and out, and auto-lock.

import (
	"context"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
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

	mu           sync.Mutex // guards principal, responding and lastActivity (read by the idle ticker)
	principal    *app.Principal
	responding   bool // the responder's screen is shown (responder.go)
	lastActivity time.Time

	done      chan struct{} // closed by Close
	closeOnce sync.Once

	// Now is the clock for auto-lock (tests replace it).
	Now func() time.Time

	// Start screen.
	Start StartScreen
	// The responder's screen, opened from the start screen with no one
	// signed in (responder.go); nil when not shown.
	Responder *ResponderScreen
	// Signed in: the shell and its screens.
	Shell *Shell
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
	w.SetOnDropped(u.Dropped)
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

// signedIn opens the shell for the session auth names.
func (u *UI) signedIn(auth *app.Auth) {
	p, err := u.app.Authenticate(context.Background(), auth.Token)
	if err != nil {
		u.Start.Status.SetText(message(err))
		return
	}
	u.mu.Lock()
	u.principal = p
	u.lastActivity = u.Now()
	u.mu.Unlock()
	s := &u.Start
	for _, e := range []*widget.Entry{s.Password, s.NewPassword, s.NewConfirm, s.JoinPassword, s.Restore.Password} {
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

// Dropped handles files dropped on the window (on a desktop; the driver
// calls it on the UI goroutine): signed in, the Credentials screen is
// shown and adds each picture among them as its file dialog would
// (CredentialsScreen.Drop); locked, nothing is read and the start
// screen says to unlock first.
func (u *UI) Dropped(_ fyne.Position, uris []fyne.URI) {
	if len(uris) == 0 {
		return
	}
	if u.Shell == nil {
		if u.Responder == nil {
			u.Start.Status.SetText("Unlock your profile first, then drop the photo on Credentials.")
		}
		return
	}
	u.Shell.Select("Credentials")
	u.Shell.Screen("Credentials").(*CredentialsScreen).Drop(uris)
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

// CheckIdle locks the profile when it has been idle longer than AutoLock,
// and closes the responder's screen after ResponderIdle. It runs on the
// UI goroutine.
func (u *UI) CheckIdle() {
	limit := u.AutoLock()
	u.mu.Lock()
	idle := u.principal != nil && limit > 0 && u.Now().Sub(u.lastActivity) >= limit
	responderIdle := u.responding && u.Now().Sub(u.lastActivity) >= ResponderIdle
	u.mu.Unlock()
	if idle {
		u.Lock()
	}
	if responderIdle {
		u.closeResponder()
	}
}

// watched reports whether the idle ticker has something to watch.
func (u *UI) watched() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.principal != nil || u.responding
}

func (u *UI) idleTicker() {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if u.watched() {
				fyne.Do(func() {
					doneMu.Lock() // one widget change at a time (see doneMu)
					defer doneMu.Unlock()
					u.CheckIdle()
				})
			}
		case <-u.done:
			return
		}
	}
}
