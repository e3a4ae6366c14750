package ui

// The Devices screen, in three tabs: Devices — whether sync runs here,
// the profile's devices with their last sync (remove one), and pairing a
// new device with a one-time code; Backup — export and import
// (backup.go); Outgoing mail — what waits in the outbox, and why
// (outbox.go), read-only, one tap away rather than under the forms.

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// DevicesScreen lists the profile's devices (last sync, remove), pairs a
// new one with a one-time code shown as a QR code and as text, and holds
// the backup and outbox sections, each in a tab of its own (Parts). What
// each action did shows in the notice beside it (Shell.at).
type DevicesScreen struct {
	shell *Shell
	// Parts: "Devices", "Backup" and "Outgoing mail".
	Parts *container.AppTabs

	// Devices and sync; Reload lists them again (sync runs in the
	// background: a device paired or synced meanwhile shows up).
	SyncStatus    *widget.Label
	Reload        *widget.Button
	DevicesNotice *widget.Label // over the list: what refreshing or removing did
	Devices       []*DeviceRow
	deviceBox     *fyne.Container

	// Pairing: ThisDevice names this device in the list; Pair makes a
	// code; PairQR, PairCode (selectable), CopyCode and Countdown show it.
	ThisDevice  *widget.Entry
	Pair        *widget.Button
	PairNotice  *widget.Label // under Pair: why no code was made
	PairQR      *canvas.Image
	PairCode    *widget.Label
	CopyCode    *widget.Button
	Countdown   *widget.Label
	pairBox     *fyne.Container
	pairExpires time.Time
	pairGen     atomic.Int64 // bumped by every new code: older countdowns stop
	closed      atomic.Bool  // the shell is gone (locked): countdowns stop

	BackupSection // export and import the encrypted container (backup.go)
	OutboxSection // how messages leave, what waits (outbox.go)
}

// DeviceRow is one device on screen; Remove is nil for this device.
type DeviceRow struct {
	Device app.Device
	Text   *widget.Label
	Remove *widget.Button
}

func (d *DevicesScreen) build() fyne.CanvasObject {
	d.shell.onClose(func() { d.closed.Store(true) })
	d.SyncStatus = wrapped("")
	d.Reload = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), func() {
		d.DevicesNotice.Hide() // says only why listing failed
		d.shell.at(d.DevicesNotice)
		d.refresh()
	})
	d.DevicesNotice, d.PairNotice = notice(), notice()
	d.deviceBox = container.NewVBox()

	d.ThisDevice = widget.NewEntry()
	d.ThisDevice.SetText(app.DefaultDeviceName())
	d.Pair = primary("Pair a new device", theme.ContentAddIcon(), d.pair)
	d.PairQR = newQRImage(qrSize)
	d.PairCode = selectable()
	d.CopyCode = copyButton(d.shell, "Copy code", d.PairCode, "The pairing code is on the clipboard.")
	d.Countdown = boldWrapped("")
	d.pairBox = container.NewVBox(
		wrapped("On the new device, choose Join: scan this code, or paste its text. Then type your password there. The code works once."),
		container.NewCenter(d.PairQR), d.Countdown, d.PairCode, d.CopyCode,
	)
	d.pairBox.Hide()

	devices := section("",
		container.NewBorder(nil, nil, nil, d.Reload, boldWrapped("This profile's devices")),
		d.SyncStatus,
		d.DevicesNotice,
		d.deviceBox,
		form(formRow{"This device", d.ThisDevice}),
		d.Pair,
		d.PairNotice,
		d.pairBox,
	)
	d.Parts = container.NewAppTabs(
		container.NewTabItemWithIcon("Devices", theme.ComputerIcon(), page(devices)),
		container.NewTabItemWithIcon("Backup", theme.DocumentSaveIcon(), page(d.BackupSection.build(d.shell))),
		container.NewTabItemWithIcon("Outgoing mail", theme.MailSendIcon(), page(d.OutboxSection.build(d.shell))))
	d.Parts.OnSelected = func(*container.TabItem) { d.shell.at(nil) } // a notice speaks only beside its action
	return d.Parts
}

// refresh lists the devices again, and the outbox.
func (d *DevicesScreen) refresh() {
	load(d.shell, "Loading devices", func(ctx context.Context, pr *app.Principal) ([]app.Device, error) {
		return d.shell.u.app.Devices(ctx, pr)
	}, d.showDevices)
	d.OutboxSection.refresh()
}

// Device returns the row of a device, or nil.
func (d *DevicesScreen) Device(id string) *DeviceRow {
	r, _ := find(d.Devices, func(r *DeviceRow) bool { return r.Device.ID == id })
	return r
}

func (d *DevicesScreen) showDevices(devices []app.Device) {
	info := d.shell.u.app.SyncInfo()
	if info.Running {
		d.SyncStatus.SetText("Sync is on: your devices exchange changes directly, end-to-end encrypted.")
		d.Pair.Enable()
	} else {
		d.SyncStatus.SetText("Sync is off on this device (started with --no-sync): it neither pairs nor syncs.")
		d.Pair.Disable()
	}
	d.Devices = nil
	var objs []fyne.CanvasObject
	now := d.shell.u.app.Now()
	for _, dev := range devices {
		row := &DeviceRow{Device: dev, Text: wrapped(deviceText(dev, now))}
		d.Devices = append(d.Devices, row)
		objs = append(objs, row.Text)
		if !dev.Current {
			id, name := dev.ID, dev.Name
			row.Remove = twoTapButton("Remove", "Tap again to remove "+name, theme.DeleteIcon(), func() { d.remove(id, name) })
			objs = append(objs, row.Remove)
		}
	}
	fill(d.deviceBox, "Only this device holds the profile. Pair another to keep it on both.", objs)
}

func deviceText(dev app.Device, now time.Time) string {
	name := dev.Name
	if name == "" {
		name = "(unnamed device)"
	}
	if dev.Current {
		return fmt.Sprintf("%s (this device), added %s.", name, fmtWhen(dev.AddedAt))
	}
	state := "not connected"
	switch {
	case dev.Connected:
		state = "connected"
	case dev.OtherVersion:
		state = "not syncing: it runs another version of the app (update both to the same version)"
	}
	last := "never synced"
	if !dev.LastSync.IsZero() {
		last = "last synced " + fmtAgo(now.Sub(dev.LastSync)) + " (" + fmtWhen(dev.LastSync) + ")"
	}
	return fmt.Sprintf("%s: %s, %s; added %s.", name, state, last, fmtWhen(dev.AddedAt))
}

func (d *DevicesScreen) remove(id, name string) {
	d.shell.at(d.DevicesNotice).change("Removing "+name, func(ctx context.Context, pr *app.Principal) error {
		return d.shell.u.app.RemoveDevice(ctx, pr, id)
	}, func() string { return "Removed " + name + ": your devices no longer sync with it." }, d.refresh)
}

// pair makes a one-time pairing code and shows it with its countdown.
func (d *DevicesScreen) pair() {
	name := d.ThisDevice.Text
	var (
		code    string
		expires time.Time
		png     []byte
	)
	d.PairNotice.Hide() // says only why no code was made (the code says the rest)
	d.shell.at(d.PairNotice).act("Making a pairing code", func(ctx context.Context, pr *app.Principal) (err error) {
		if code, expires, err = d.shell.u.app.PairCode(ctx, pr, name); err == nil {
			png, err = qr.PNG(code, qrSize)
		}
		return err
	}, func() {
		setQRPNG(d.PairQR, "pairing-qr.png", png)
		d.PairQR.Show()
		d.PairCode.SetText(code)
		d.PairCode.Show()
		d.CopyCode.Show()
		d.pairExpires = expires
		gen := d.pairGen.Add(1)
		d.pairBox.Show()
		d.UpdateCountdown()
		go d.countdown(gen)
		d.refresh() // this device is listed now
	})
}

// UpdateCountdown shows how long the pairing code still works, and hides
// the code once it has expired. It runs on the UI goroutine (every second
// while a code is shown).
func (d *DevicesScreen) UpdateCountdown() {
	if d.pairExpires.IsZero() {
		return
	}
	left := d.pairExpires.Sub(d.shell.u.app.Now())
	if left <= 0 {
		d.Countdown.SetText("This code has expired. Make a new one to pair a device.")
		d.PairQR.Hide()
		d.PairCode.SetText("")
		d.PairCode.Hide()
		d.CopyCode.Hide()
		d.pairExpires = time.Time{}
		return
	}
	left = left.Round(time.Second)
	d.Countdown.SetText(fmt.Sprintf("Expires in %d:%02d", int(left/time.Minute), int(left%time.Minute/time.Second)))
}

// countdown ticks the code's countdown until it expires, a newer code
// replaces it, or the profile is locked.
func (d *DevicesScreen) countdown(gen int64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C {
		if d.closed.Load() || d.pairGen.Load() != gen {
			return
		}
		stop := false
		fyne.DoAndWait(func() {
			doneMu.Lock() // one widget change at a time (see doneMu)
			defer doneMu.Unlock()
			d.UpdateCountdown()
			stop = d.pairExpires.IsZero()
		})
		if stop {
			return
		}
	}
}
