package ui

// The signed-in window: a tab per use case, a status line and a progress
// bar; how the screens run their work off the UI goroutine; the layout that
// moves the tabs for a phone.

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// narrowWidth is the window width under which the shell switches to a
// phone layout: the tabs at the bottom (the most used first, so they fit
// beside the "…" of the rest), and a header with the screen's icon and
// title, Back and Lock.
const narrowWidth = 700

// screen is one tab of the shell; each lives in the file named for it.
type screen interface {
	// build makes the screen's content once per sign-in.
	build() fyne.CanvasObject
	// refresh reloads what the screen shows from the app; it is called when
	// the tab is selected and after changes.
	refresh()
}

// tab is a screen with its tab's title and icon.
type tab struct {
	title  string
	icon   fyne.Resource
	screen screen
}

// Shell is the signed-in window: a tab per use case, a status line and a
// progress bar for work in the background.
type Shell struct {
	u       *UI
	content fyne.CanvasObject
	Tabs    *container.AppTabs
	// Status is the status line; it takes no room while it has nothing to
	// say (on a phone it would be an empty strip under the tabs).
	Status   *widget.Label
	Progress *widget.ProgressBarInfinite
	Lock     *widget.Button
	bar      *fyne.Container // the status line, the progress bar and Lock
	frame    *fyne.Container // the header, the tabs and the bar
	// The phone's header (shown under narrowWidth): Back to the screen
	// shown before, the screen's icon and title (larger than the tabs'
	// labels: of the screens behind "…" the tab bar shows only that one
	// of them is open), and Lock (the bar's Lock hides).
	Header    *fyne.Container
	Back      *widget.Button
	TitleIcon *widget.Icon
	Title     *widget.Label
	PhoneLock *widget.Button
	history   []int // the screens shown before, for Back
	shown     int   // the screen shown now
	goingBack bool
	tabs      []tab
	closers   []func()     // run when the shell goes (Lock): see onClose
	near      *spot        // the notice named by at for the action starting now: see at
	ending    bool         // a run's done is running now (one at a time: doneMu)...
	endingAt  *spot        // ...with its notice, which say leaves to it
	inFlight  atomic.Int32 // work started by run and not yet done

	Profile  *ProfileScreen
	Settings *SettingsScreen
}

func newShell(u *UI) *Shell {
	s := &Shell{u: u}
	s.Status = widget.NewLabel("")
	s.Status.Truncation = fyne.TextTruncateEllipsis
	s.Status.Hide()
	s.Progress = widget.NewProgressBarInfinite()
	s.Progress.Stop()
	s.Progress.Hide()
	s.Lock = widget.NewButtonWithIcon("Lock", theme.LogoutIcon(), u.Lock)

	s.Profile = &ProfileScreen{shell: s}
	s.Settings = &SettingsScreen{shell: s}
	// The tabs in order, the most used first (on a phone they are the ones
	// shown beside "…"), each screen in its file: profile.go, sharing.go,
	// emergency.go, credentials.go, rings.go, health.go, devices.go (with
	// backup.go and outbox.go), settings.go.
	s.tabs = []tab{
		{"My profile", theme.AccountIcon(), s.Profile},
		{"Sharing", theme.MailSendIcon(), &SharingScreen{shell: s}},
		{"Emergency", theme.WarningIcon(), &EmergencyScreen{shell: s}},
		{"Credentials", theme.DocumentIcon(), &CredentialsScreen{shell: s}},
		{"Privacy rings", theme.VisibilityOffIcon(), &RingsScreen{shell: s}},
		{"Health", theme.ListIcon(), &HealthScreen{shell: s}},
		{"Devices", theme.ComputerIcon(), &DevicesScreen{shell: s}},
		{"Settings", theme.SettingsIcon(), s.Settings},
	}
	items := make([]*container.TabItem, len(s.tabs))
	for i, t := range s.tabs {
		items[i] = container.NewTabItemWithIcon(t.title, t.icon, t.screen.build())
	}
	s.Tabs = container.NewAppTabs(items...)
	s.Title = widget.NewLabelWithStyle(s.tabs[0].title, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	s.Title.SizeName = theme.SizeNameSubHeadingText
	s.TitleIcon = widget.NewIcon(s.tabs[0].icon)
	s.Back = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), s.back)
	s.Back.Disable()
	s.PhoneLock = widget.NewButtonWithIcon("", theme.LogoutIcon(), u.Lock)
	s.Header = container.NewBorder(nil, widget.NewSeparator(), s.Back, s.PhoneLock,
		container.NewCenter(container.NewHBox(s.TitleIcon, s.Title)))
	s.Header.Hide()
	s.Tabs.OnSelected = func(*container.TabItem) {
		u.Touch()
		s.near = nil
		if i := s.Tabs.SelectedIndex(); i >= 0 && i != s.shown {
			if !s.goingBack {
				s.history = append(s.history, s.shown)
			}
			s.shown = i
			s.Title.SetText(s.tabs[i].title)
			s.TitleIcon.SetResource(s.tabs[i].icon)
		}
		s.goingBack = false
		if len(s.history) > 0 {
			s.Back.Enable()
		} else {
			s.Back.Disable()
		}
		s.current().refresh()
	}
	s.bar = container.NewBorder(nil, nil, nil, s.Lock, container.NewVBox(s.Progress, s.Status))
	s.frame = container.NewBorder(s.Header, s.bar, nil, nil, s.Tabs)
	s.content = container.New(&responsive{shell: s}, s.frame)
	s.Profile.refresh()
	return s
}

// Screen returns the screen with the given tab title (tests type-assert it
// to its *XxxScreen), or nil.
func (s *Shell) Screen(title string) any {
	t, _ := find(s.tabs, func(t tab) bool { return t.title == title })
	return t.screen
}

func (s *Shell) current() screen {
	if i := s.Tabs.SelectedIndex(); i >= 0 {
		return s.tabs[i].screen
	}
	return s.Profile
}

// Select shows the screen with the given title.
func (s *Shell) Select(title string) {
	for i, t := range s.tabs {
		if t.title == title {
			s.Tabs.SelectIndex(i)
			return
		}
	}
}

// back shows the screen shown before this one (the phone header's Back).
func (s *Shell) back() {
	if len(s.history) == 0 {
		return
	}
	i := s.history[len(s.history)-1]
	s.history = s.history[:len(s.history)-1]
	s.goingBack = true
	s.Tabs.SelectIndex(i)
}

// principal is the signed-in user; screens are built only while there is one.
func (s *Shell) principal() *app.Principal { return s.u.Principal() }

// run does work off the UI goroutine with the progress bar showing, then
// done (on the UI goroutine) with its error; an error is also shown in
// the status line. Every action counts as activity for auto-lock.
//
// The notice named by at just before (if any) is this run's: it says
// what is happening ("Saving Phone…") until the run ends, then its
// outcome — its error, or what done says; a run that ends with nothing
// said there hides it. Runs done starts (a reload) keep speaking there;
// any other run does not.
func (s *Shell) run(what string, work func(ctx context.Context) error, done func(err error)) {
	s.u.Touch()
	s.Progress.Show()
	s.Progress.Start()
	s.setStatus(what + "…")
	sp := s.takeSpot()
	if sp != nil && sp.busy == "" {
		// A screen that already says what is happening there, more
		// precisely ("Checking https://…"), keeps its words.
		if t := sp.notice.Text; sp.notice.Visible() && strings.HasSuffix(t, "…") {
			sp.busy = t
		} else {
			sp.busy = what + "…"
		}
		sp.notice.SetText(sp.busy)
		sp.notice.Show()
	}
	s.inFlight.Add(1)
	go func() {
		err := work(context.Background())
		fyne.Do(func() {
			doneMu.Lock()
			defer doneMu.Unlock()
			// Counted down under doneMu (deferred after the unlock, so run
			// before it): a run ending beside this one sees the count
			// without it, not one that is about to drop.
			defer s.inFlight.Add(-1)
			if s.inFlight.Load() == 1 { // no other run goes on
				s.Progress.Stop()
				s.Progress.Hide()
				s.fitBar()
			}
			asked := s.dialogShown()
			outer := s.near
			s.near = sp
			s.ending, s.endingAt = true, sp
			if err != nil {
				s.say(message(err))
			} else if s.Status.Text == what+"…" {
				// Only this run's own words go: what another action
				// said meanwhile (a drop's outcome, while the screen
				// it showed was still loading) stays, as does the
				// word of a run still going.
				s.setStatus("")
			}
			if done != nil {
				done(err)
			}
			s.ending, s.endingAt = false, nil
			s.endSpot(sp, outer, !asked && s.dialogShown())
		})
	}()
}

// spot is where one action's words go: the notice under its button (see
// at), and what it says while the action runs.
type spot struct {
	notice *widget.Label
	busy   string // "Saving Phone…"; "" until a run of the action starts
}

// takeSpot hands the notice named by at to the run starting now, which
// alone speaks there. While a dialog is open the notice waits for the
// run its answer starts (Save → the save dialog → writing the file): a
// run started meanwhile is not that action.
func (s *Shell) takeSpot() *spot {
	if s.dialogShown() {
		return nil
	}
	sp := s.near
	s.near = nil
	return sp
}

// endSpot settles the notice of a run that has ended (after its done):
// when nothing was said there, "Saving…" goes; when done opened a dialog
// (asks) the action goes on from its answer, so the notice waits for it
// (see takeSpot); else the notice is this run's no more, and at's of others
// (outer, waiting for a dialog) come back.
func (s *Shell) endSpot(sp, outer *spot, asks bool) {
	left := s.near
	switch {
	case sp != nil && left == sp:
		if sp.notice.Text == sp.busy {
			sp.notice.Hide()
		}
		if asks {
			sp.busy = "" // the dialog's answer starts the next step afresh
			return
		}
		s.near = outer
	case left == nil:
		s.near = outer // a run done started has taken the notice, if there was one
	}
	// else: done named another notice (at) for what comes next.
}

// dialogShown reports whether a dialog (or another pop-up) is over the
// window.
func (s *Shell) dialogShown() bool {
	if s.u.window == nil {
		return false
	}
	c := s.u.window.Canvas()
	return c != nil && c.Overlays().Top() != nil
}

// setStatus shows text in the status line, which takes no room while
// there is nothing to say.
func (s *Shell) setStatus(text string) {
	s.Status.SetText(text)
	if text == "" {
		s.Status.Hide()
	} else {
		s.Status.Show()
	}
	s.fitBar()
}

// fitBar hides the row of the status line, the progress bar and Lock
// while none of them shows (on a phone, where Lock is in the header), so
// the tabs reach the window's bottom edge.
func (s *Shell) fitBar() {
	if s.bar == nil {
		return
	}
	show := s.Status.Visible() || s.Progress.Visible() || s.Lock.Visible()
	if show == s.bar.Visible() {
		return
	}
	if show {
		s.bar.Show()
	} else {
		s.bar.Hide()
	}
	s.frame.Layout.Layout(s.frame.Objects, s.frame.Size()) // the tabs take the row, or give it back
}

// act runs work for the signed-in user (see run), then done if it
// succeeded; while locked it does nothing.
func (s *Shell) act(what string, work func(ctx context.Context, pr *app.Principal) error, done func()) {
	pr := s.principal()
	if pr == nil {
		return
	}
	s.run(what, func(ctx context.Context) error { return work(ctx, pr) }, func(err error) {
		if err == nil && done != nil {
			done()
		}
	})
}

// change runs one change for the signed-in user (see act); when it
// succeeds, done runs and the status line shows what it returns. Either
// way reload runs, as what the screen shows may have changed meanwhile.
func (s *Shell) change(what string, work func(ctx context.Context, pr *app.Principal) error, done func() string, reload func()) {
	pr := s.principal()
	if pr == nil {
		return
	}
	s.run(what, func(ctx context.Context) error { return work(ctx, pr) }, func(err error) {
		if err == nil {
			s.say(done())
		}
		reload()
	})
}

// load fetches what a screen shows for the signed-in user (see act), then
// hands it to show; when the fetch fails, nothing is shown.
func load[T any](s *Shell, what string, fetch func(ctx context.Context, pr *app.Principal) (T, error), show func(T)) {
	var v T
	s.act(what, func(ctx context.Context, pr *app.Principal) (err error) {
		v, err = fetch(ctx, pr)
		return err
	}, func() { show(v) })
}

// doneMu serialises what changes widgets from another goroutine (run's
// done callbacks, events, tickers) with each other and with a test's
// steps (OnUI, export_test.go): Fyne's test driver runs fyne.Do and
// fyne.DoAndWait inline on the calling goroutine, so a piece of work
// finishing while the test taps would change, lay out and draw the same
// widgets concurrently (Fyne's canvas.Image.Refresh of a tab's icon then
// reads a nil reader). The real drivers run callbacks and input events
// one at a time on the UI goroutine anyway. A callback must not wait for
// another.
var doneMu sync.Mutex

// Idle reports whether no work started by run is in flight (tests wait
// for it before acting).
func (s *Shell) Idle() bool { return s.inFlight.Load() == 0 }

// say shows a message in the status line and in the notice beside the
// action that caused it (see at). It is that action's last word there
// (at(n).say: a check before any work), unless said in the done of the
// action's run, where a reload may follow and speak there too.
func (s *Shell) say(text string) {
	s.setStatus(text)
	if s.near != nil {
		s.near.notice.SetText(text)
		s.near.notice.Show()
	}
	if !s.ending || s.near != s.endingAt {
		s.near = nil
	}
}

// at names the notice label beside the action the user takes now (a
// screen's notice, under its button), for the next run or say only (see
// run): while the action runs the notice says what is happening, then
// what the action says — its outcome or its error — shows there, where
// the user looks, and stays until the next action there (reloads that
// follow do not wipe it). An action started without at says nothing in
// any notice. at(nil) names none. It returns s.
func (s *Shell) at(notice *widget.Label) *Shell {
	s.near = nil
	if notice != nil {
		s.near = &spot{notice: notice}
	}
	return s
}

// notice is a label for at: wrapped, hidden until it says something.
func notice() *widget.Label {
	l := wrapped("")
	l.Importance = widget.HighImportance
	l.Hide()
	return l
}

// window is the window the screens' dialogs open over.
func (s *Shell) window() fyne.Window { return s.u.window }

// onClose runs f when the shell goes (the profile locks): screens end
// their subscriptions there.
func (s *Shell) onClose(f func()) { s.closers = append(s.closers, f) }

// close runs the onClose functions; Lock calls it.
func (s *Shell) close() {
	for _, f := range s.closers {
		f()
	}
	s.closers = nil
}

// responsive lays the shell out for the window's width: tabs on the
// leading edge with labels on a desktop, at the bottom on a phone.
type responsive struct {
	shell *Shell
	loc   container.TabLocation
	set   bool
}

func (r *responsive) MinSize(objects []fyne.CanvasObject) fyne.Size {
	return objects[0].MinSize()
}

func (r *responsive) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	loc := container.TabLocationLeading
	if size.Width < narrowWidth {
		loc = container.TabLocationBottom
	}
	if !r.set || r.loc != loc {
		r.shell.Tabs.SetTabLocation(loc)
		r.loc, r.set = loc, true
		if loc == container.TabLocationBottom {
			r.shell.Header.Show()
			r.shell.Lock.Hide()
		} else {
			r.shell.Header.Hide()
			r.shell.Lock.Show()
		}
		r.shell.fitBar()
	}
	objects[0].Resize(size)
	objects[0].Move(fyne.NewPos(0, 0))
}
