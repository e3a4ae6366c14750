package ui

import (
	"context"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// narrowWidth is the window width under which the shell switches to a
// phone layout (tabs at the bottom, icons only).
const narrowWidth = 700

// screen is one tab of the shell.
type screen interface {
	title() string
	icon() fyne.Resource
	// build makes the screen's content once per sign-in.
	build() fyne.CanvasObject
	// refresh reloads what the screen shows from the app; it is called when
	// the tab is selected and after changes.
	refresh()
}

// Shell is the signed-in window: a tab per use case, a status line and a
// progress bar for work in the background.
type Shell struct {
	u        *UI
	content  fyne.CanvasObject
	Tabs     *container.AppTabs
	Status   *widget.Label
	Progress *widget.ProgressBarInfinite
	Lock     *widget.Button
	screens  []screen
	items    []*container.TabItem
	closers  []func()     // run when the shell goes (Lock): see onClose
	inFlight atomic.Int32 // work started by run and not yet done

	Profile  *ProfileScreen
	Settings *SettingsScreen
}

func newShell(u *UI) *Shell {
	s := &Shell{u: u}
	s.Status = widget.NewLabel("")
	s.Status.Truncation = fyne.TextTruncateEllipsis
	s.Progress = widget.NewProgressBarInfinite()
	s.Progress.Stop()
	s.Progress.Hide()
	s.Lock = widget.NewButtonWithIcon("Lock", theme.LogoutIcon(), u.Lock)

	s.Profile = newProfileScreen(s)
	s.Settings = newSettingsScreen(s)
	s.screens = []screen{s.Profile}
	s.screens = append(s.screens, s.extraScreens()...)
	s.screens = append(s.screens, s.Settings)

	for _, sc := range s.screens {
		s.items = append(s.items, container.NewTabItemWithIcon(sc.title(), sc.icon(), sc.build()))
	}
	s.Tabs = container.NewAppTabs(s.items...)
	s.Tabs.OnSelected = func(*container.TabItem) {
		u.Touch()
		s.current().refresh()
	}
	bar := container.NewBorder(nil, nil, nil, s.Lock, container.NewVBox(s.Progress, s.Status))
	s.content = container.New(&responsive{shell: s}, container.NewBorder(nil, bar, nil, nil, s.Tabs))
	s.screens[0].refresh()
	return s
}

// screenMakers build the screens between Profile and Settings, in order;
// each screen's file registers its maker (registerScreen in an init).
var screenMakers []struct {
	order int
	make  func(*Shell) screen
}

// Tab order of the registered screens.
const (
	orderCredentials = 10
	orderSharing     = 20
	orderRings       = 30
	orderEmergency   = 40
	orderHealth      = 50
	orderDevices     = 60
)

func registerScreen(order int, make func(*Shell) screen) {
	screenMakers = append(screenMakers, struct {
		order int
		make  func(*Shell) screen
	}{order, make})
	sort.SliceStable(screenMakers, func(i, j int) bool { return screenMakers[i].order < screenMakers[j].order })
}

// extraScreens are the screens between Profile and Settings.
func (s *Shell) extraScreens() []screen {
	var out []screen
	for _, m := range screenMakers {
		out = append(out, m.make(s))
	}
	return out
}

// Screen returns the screen with the given tab title (tests type-assert it
// to its *XxxScreen), or nil.
func (s *Shell) Screen(title string) any {
	for _, sc := range s.screens {
		if sc.title() == title {
			return sc
		}
	}
	return nil
}

func (s *Shell) current() screen {
	for i, it := range s.items {
		if it == s.Tabs.Selected() {
			return s.screens[i]
		}
	}
	return s.screens[0]
}

// Select shows the screen with the given title.
func (s *Shell) Select(title string) {
	for i, sc := range s.screens {
		if sc.title() == title {
			s.Tabs.SelectIndex(i)
			return
		}
	}
}

// principal is the signed-in user; screens are built only while there is one.
func (s *Shell) principal() *app.Principal { return s.u.Principal() }

// run does work off the UI goroutine with the progress bar showing, then
// done (on the UI goroutine) with its error; an error is also shown in
// the status line. Every action counts as activity for auto-lock.
func (s *Shell) run(what string, work func(ctx context.Context) error, done func(err error)) {
	s.u.Touch()
	s.Status.SetText(what + "…")
	s.Progress.Show()
	s.Progress.Start()
	s.inFlight.Add(1)
	go func() {
		err := work(context.Background())
		fyne.Do(func() {
			defer s.inFlight.Add(-1)
			doneMu.Lock()
			defer doneMu.Unlock()
			s.Progress.Stop()
			s.Progress.Hide()
			if err != nil {
				s.Status.SetText(message(err))
			} else {
				s.Status.SetText("")
			}
			if done != nil {
				done(err)
			}
		})
	}()
}

// doneMu serialises run's done callbacks: Fyne's test driver runs fyne.Do
// on the calling goroutine, so two pieces of work finishing at once would
// change widgets concurrently (the real drivers run callbacks one at a
// time on the UI goroutine anyway). A callback must not wait for another.
var doneMu sync.Mutex

// Idle reports whether no work started by run is in flight (tests wait
// for it before acting).
func (s *Shell) Idle() bool { return s.inFlight.Load() == 0 }

// say shows a message in the status line.
func (s *Shell) say(text string) { s.Status.SetText(text) }

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
	}
	objects[0].Resize(size)
	objects[0].Move(fyne.NewPos(0, 0))
}

// maxWidth centres its one object and caps its width.
type maxWidth struct{ Width float32 }

func (m *maxWidth) MinSize(objects []fyne.CanvasObject) fyne.Size { return objects[0].MinSize() }

func (m *maxWidth) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	w := min(size.Width, max(m.Width, objects[0].MinSize().Width))
	objects[0].Resize(fyne.NewSize(w, size.Height))
	objects[0].Move(fyne.NewPos((size.Width-w)/2, 0))
}

// wrapped is a label that wraps at word boundaries.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// boldWrapped is a bold heading that wraps.
func boldWrapped(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Wrapping = fyne.TextWrapWord
	return l
}

func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, io.ErrShortBuffer
	}
	return b, nil
}
