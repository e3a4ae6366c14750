package ui

// The Settings screen: auto-lock after idle, the listener and its public
// URL, this device's id.

import (
	"fmt"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// SettingsScreen shows how this device runs (listener, public URL) and
// sets auto-lock.
type SettingsScreen struct {
	shell *Shell

	AutoLock  *widget.Select
	Listener  *widget.Label
	PublicURL *widget.Label
	Device    *widget.Label
}

// autoLockChoices are the idle times offered, in minutes (0: never).
var autoLockChoices = []int{1, 2, 5, 10, 15, 30, 60, 0}

func autoLockLabel(m int) string {
	if m == 0 {
		return "Never"
	}
	return strconv.Itoa(m) + " min"
}

func (s *SettingsScreen) build() fyne.CanvasObject {
	s.AutoLock = widget.NewSelect(labelsOf(autoLockChoices, autoLockLabel), func(v string) {
		for _, m := range autoLockChoices {
			if autoLockLabel(m) == v {
				s.shell.u.SetAutoLock(time.Duration(m) * time.Minute)
				s.shell.say(fmt.Sprintf("Auto-lock: %s.", v))
			}
		}
	})
	cfg := s.shell.u.app.Config()
	s.PublicURL = widget.NewLabel(cfg.PublicURL)
	s.Listener = widget.NewLabel("API on " + cfg.PublicURL + "/api/v1 (start with --addr and --public-url to change)")
	s.Listener.Wrapping = fyne.TextWrapWord
	s.Device = widget.NewLabel(s.shell.u.app.DeviceID())
	s.Device.Wrapping = fyne.TextWrapBreak
	s.PublicURL.Wrapping = fyne.TextWrapBreak
	return page(form(formRow{"Lock after idle", s.AutoLock}, formRow{"Public URL", s.PublicURL},
		formRow{"Listener", s.Listener}, formRow{"This device", s.Device}))
}

func (s *SettingsScreen) refresh() {
	s.AutoLock.SetSelected(autoLockLabel(int(s.shell.u.AutoLock() / time.Minute)))
}
