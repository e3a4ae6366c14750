package ui

// The Settings screen: where people reach the profile (its public URL,
// who can open its links, a check that a device of the profile answers
// there), then how this device runs (auto-lock after idle, the listener,
// this device's id). Each part is a section of its own, built and
// refreshed by its own functions.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// SettingsScreen sets where outsiders reach the profile (its public URL,
// one setting for all its devices) and checks it, and shows how this
// device runs (auto-lock, listener, device id).
type SettingsScreen struct {
	shell *Shell

	// Where people reach you: the profile's public URL, where the URL in
	// use comes from, who can open links under it, and the check.
	PublicURL     *widget.Entry
	SavePublicURL *widget.Button
	Saved         *widget.Label // under Save: what saving the URL did
	URLSource     *widget.Label
	Reach         *widget.Label
	CheckReach    *widget.Button
	CheckProgress *widget.ProgressBarInfinite
	CheckResult   *widget.Label // under Check now: what the check found
	publicURL     string        // as last loaded or saved

	// This device.
	AutoLock     *widget.Select
	AutoLockSaid *widget.Label // under AutoLock: the auto-lock chosen
	showing      bool          // refreshDevice is showing the saved choice
	Listener     *widget.Label
	Device       *widget.Label
	// How this device runs: listener, e-mail, sync (device_settings.go).
	Run RunSettings
}

func (s *SettingsScreen) build() fyne.CanvasObject {
	run := s.buildRun()
	// What the device settings' buttons did shows in place, in their
	// Result under them: errors too (run says them beside the action).
	for _, b := range []*widget.Button{s.Run.Save, s.Run.SendTest} {
		tapped := b.OnTapped
		b.OnTapped = func() {
			s.shell.at(s.Run.Result)
			tapped()
		}
	}
	return page(s.buildReach(), s.buildDevice(), run)
}

func (s *SettingsScreen) refresh() {
	s.refreshReach()
	s.refreshDevice()
	s.refreshRun()
}

// buildReach is the section of the profile's public URL.
func (s *SettingsScreen) buildReach() fyne.CanvasObject {
	s.PublicURL = widget.NewEntry()
	s.PublicURL.SetPlaceHolder("https://spp.example.org")
	s.PublicURL.OnSubmitted = func(string) { s.savePublicURL() }
	s.SavePublicURL = primary("Save", theme.DocumentSaveIcon(), s.savePublicURL)
	s.Saved = notice()
	s.URLSource = wrapped("")
	s.Reach = wrapped("")
	s.CheckReach = widget.NewButtonWithIcon("Check now", theme.SearchIcon(), s.checkReach)
	s.CheckProgress = widget.NewProgressBarInfinite()
	s.CheckProgress.Stop()
	s.CheckProgress.Hide()
	s.CheckResult = wrapped("")
	s.CheckResult.Hide()
	return section("Where people reach you",
		wrapped("Every code and link you show (shares, the emergency card, doctors' links) points here: the address of a device of this profile that others can open, such as a home node behind your reverse proxy. One setting for all your devices; empty: this device's own address."),
		form(formRow{"Public URL", s.PublicURL}),
		container.NewHBox(s.SavePublicURL), s.Saved,
		s.URLSource, s.Reach,
		container.NewHBox(s.CheckReach), s.CheckProgress, s.CheckResult)
}

// refreshReach loads the profile's settings.
func (s *SettingsScreen) refreshReach() {
	load(s.shell, "Loading the settings", func(ctx context.Context, pr *app.Principal) (*app.Settings, error) {
		return s.shell.u.app.Settings(ctx, pr)
	}, s.showSettings)
}

func (s *SettingsScreen) showSettings(st *app.Settings) {
	s.publicURL = st.PublicURL
	if st.Source == app.URLFromProfile {
		s.PublicURL.SetText(st.PublicURL)
	} else {
		s.PublicURL.SetText("")
	}
	s.URLSource.SetText(urlSourceWords(st))
	s.Reach.SetText(reachAllWords(st.Reachable))
}

// reachAllWords says who can open the profile's codes and links.
func reachAllWords(reachable string) string {
	switch reachable {
	case app.ReachAnyone:
		return "Anyone can open your codes and links."
	case app.ReachLocalNetwork:
		return "Only devices on your network can open your codes and links: a phone or browser elsewhere cannot."
	default:
		return "Only this device can open your codes and links: no one else's phone or browser can. Set the address of a device others reach (your home node)."
	}
}

// urlSourceWords says where the links' address comes from.
func urlSourceWords(st *app.Settings) string {
	switch st.Source {
	case app.URLFromProfile:
		return "Links use " + st.PublicURL + ", this profile's setting (on all its devices)."
	case app.URLFromFlag:
		return "No public URL is set for the profile: links use " + st.PublicURL + ", this device's --public-url."
	default:
		return "No public URL is set: links use " + st.PublicURL + ", this device's own listening address."
	}
}

// editPublicURL shows this screen with the public URL field focused
// (the button beside every code: "Set where people reach you").
func (s *SettingsScreen) editPublicURL() {
	s.shell.Select("Settings")
	if c := s.shell.window().Canvas(); c != nil {
		c.Focus(s.PublicURL)
	}
}

func (s *SettingsScreen) savePublicURL() {
	url := strings.TrimSpace(s.PublicURL.Text)
	var st *app.Settings
	s.shell.at(s.Saved).change("Saving the public URL", func(ctx context.Context, pr *app.Principal) (err error) {
		st, err = s.shell.u.app.SetPublicURL(ctx, pr, url)
		return err
	}, func() string {
		s.showSettings(st)
		s.CheckResult.Hide()
		if url == "" {
			return "Public URL cleared: links use " + st.PublicURL + "."
		}
		return "Public URL saved: every new code and link points at " + st.PublicURL + "."
	}, func() {})
}

// checkReach asks the public URL whether a device of this profile
// answers there, and says what it found.
func (s *SettingsScreen) checkReach() {
	s.CheckReach.Disable()
	s.CheckProgress.Show()
	s.CheckProgress.Start()
	s.CheckResult.SetText("Checking " + s.publicURL + "…")
	s.CheckResult.Show()
	stop := func() {
		s.CheckProgress.Stop()
		s.CheckProgress.Hide()
		s.CheckReach.Enable()
	}
	var c *app.ReachCheck
	pr := s.shell.principal()
	if pr == nil {
		stop()
		return
	}
	s.shell.at(s.CheckResult).run("Checking where people reach you", func(ctx context.Context) (err error) {
		c, err = s.shell.u.app.CheckReachability(ctx, pr)
		return err
	}, func(err error) {
		stop()
		if err != nil {
			s.CheckResult.SetText("The check failed: " + message(err))
			return
		}
		s.CheckResult.SetText(reachCheckWords(c))
	})
}

// reachCheckWords says what a reachability check found.
func reachCheckWords(c *app.ReachCheck) string {
	var head string
	switch {
	case c.Ours:
		head = "Answered by a device of this profile at " + c.URL + "."
		switch c.Reachable {
		case app.ReachLocalNetwork:
			head += " Only devices on your network can reach that address, though."
		case app.ReachThisDevice:
			head += " That address is this device itself: no one else can open it."
		}
		return head
	case c.Answered:
		head = "Something else answers at " + c.URL
	case strings.HasPrefix(c.Problem, "this device cannot"):
		head = "The check could not be made"
	default:
		head = "Nothing answers at " + c.URL
	}
	why := c.Problem
	for _, p := range []string{"nothing answers at " + c.URL + ": ", "something answers at " + c.URL + ", but ", "an instance of this app answers at " + c.URL + ", but "} {
		why = strings.TrimPrefix(why, p)
	}
	if why == "" {
		return head + "."
	}
	return head + ": " + why + "."
}

// autoLockChoices are the idle times offered, in minutes (0: never).
var autoLockChoices = []int{1, 2, 5, 10, 15, 30, 60, 0}

func autoLockLabel(m int) string {
	if m == 0 {
		return "Never"
	}
	return strconv.Itoa(m) + " min"
}

// buildDevice is the section of how this device runs.
func (s *SettingsScreen) buildDevice() fyne.CanvasObject {
	s.AutoLock = widget.NewSelect(labelsOf(autoLockChoices, autoLockLabel), func(v string) {
		for _, m := range autoLockChoices {
			if autoLockLabel(m) == v {
				s.shell.u.SetAutoLock(time.Duration(m) * time.Minute)
				if !s.showing {
					s.shell.at(s.AutoLockSaid).say(autoLockWords(m))
				}
			}
		}
	})
	cfg := s.shell.u.app.Config()
	s.Listener = wrapped("API on " + cfg.PublicURL + "/api/v1 (change the address below)")
	s.Device = widget.NewLabel(s.shell.u.app.DeviceID())
	s.Device.Wrapping = fyne.TextWrapBreak
	s.AutoLockSaid = notice()
	return section("This device", form(formRow{"Lock after idle", container.NewVBox(s.AutoLock, s.AutoLockSaid)},
		formRow{"Listener", s.Listener}, formRow{"This device", s.Device}))
}

// autoLockWords says what choosing an auto-lock time did.
func autoLockWords(m int) string {
	if m == 0 {
		return "Auto-lock off: this device stays unlocked until you lock it."
	}
	return fmt.Sprintf("Auto-lock: this device locks after %s without a touch.", autoLockLabel(m))
}

func (s *SettingsScreen) refreshDevice() {
	s.showing = true
	s.AutoLock.SetSelected(autoLockLabel(int(s.shell.u.AutoLock() / time.Minute)))
	s.showing = false
}
