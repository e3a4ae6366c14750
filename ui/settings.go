package ui

import (
	"fmt"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
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

func newSettingsScreen(s *Shell) *SettingsScreen { return &SettingsScreen{shell: s} }

func (s *SettingsScreen) title() string       { return "Settings" }
func (s *SettingsScreen) icon() fyne.Resource { return theme.SettingsIcon() }

// autoLockChoices are the idle times offered, in minutes (0: never).
var autoLockChoices = []int{1, 2, 5, 10, 15, 30, 60, 0}

func autoLockLabel(m int) string {
	if m == 0 {
		return "Never"
	}
	return strconv.Itoa(m) + " min"
}

func (s *SettingsScreen) build() fyne.CanvasObject {
	var opts []string
	for _, m := range autoLockChoices {
		opts = append(opts, autoLockLabel(m))
	}
	s.AutoLock = widget.NewSelect(opts, func(v string) {
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
	return container.NewVScroll(container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("Lock after idle", s.AutoLock),
			widget.NewFormItem("Public URL", s.PublicURL),
			widget.NewFormItem("Listener", s.Listener),
			widget.NewFormItem("This device", s.Device),
		),
	))
}

func (s *SettingsScreen) refresh() {
	s.AutoLock.SetSelected(autoLockLabel(int(s.shell.u.AutoLock() / time.Minute)))
}
