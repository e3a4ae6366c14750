package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

func init() {
	registerScreen(orderDevices, func(s *Shell) screen { return newDevicesScreen(s) })
}

// DevicesScreen lists the profile's devices (last sync, remove), pairs a
// new one with a one-time code shown as a QR code and as text, exports and
// imports the encrypted container, and shows what the outbox holds and
// whether this device can send e-mail.
type DevicesScreen struct {
	shell *Shell

	devices []app.Device
	outbox  []app.OutboxEntry

	// Devices and sync; Reload lists them again (sync runs in the
	// background: a device paired or synced meanwhile shows up).
	SyncStatus *widget.Label
	Reload     *widget.Button
	Devices    []*DeviceRow
	deviceBox  *fyne.Container

	// Pairing: ThisDevice names this device in the list; Pair makes a
	// code; PairQR, PairCode (selectable), CopyCode and Countdown show it.
	ThisDevice  *widget.Entry
	Pair        *widget.Button
	PairQR      *canvas.Image
	PairCode    *widget.Label
	CopyCode    *widget.Button
	Countdown   *widget.Label
	pairBox     *fyne.Container
	pairExpires time.Time
	pairGen     atomic.Int64 // bumped by every new code: older countdowns stop
	closed      atomic.Bool  // the shell is gone (locked): countdowns stop

	// Backup: export the encrypted container, import one.
	ExportPass, ExportRepeat *widget.Entry
	Export                   *widget.Button
	ImportChoose             *widget.Button
	ImportFile               *widget.Label
	ImportPass               *widget.Entry
	ImportPassword           *widget.Entry
	ImportRepeat             *widget.Entry
	Import                   *widget.Button
	importData               []byte

	// Outbox: how e-mail leaves this device, and what waits.
	Delivery   *widget.Label
	Outbox     []*widget.Label
	outboxBox  *fyne.Container
	lastImport *app.Imported
}

// DeviceRow is one device on screen; Remove is nil for this device.
type DeviceRow struct {
	Device app.Device
	Text   *widget.Label
	Remove *widget.Button
}

// containerExt names exported container files.
const containerExt = ".sppc"

func newDevicesScreen(s *Shell) *DevicesScreen { return &DevicesScreen{shell: s} }

func (d *DevicesScreen) title() string       { return "Devices" }
func (d *DevicesScreen) icon() fyne.Resource { return theme.ComputerIcon() }

func (d *DevicesScreen) build() fyne.CanvasObject {
	d.shell.onClose(func() { d.closed.Store(true) })
	d.SyncStatus = wrapped("")
	d.Reload = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), d.refresh)
	d.deviceBox = container.NewVBox()

	d.ThisDevice = widget.NewEntry()
	d.ThisDevice.SetText(app.DefaultDeviceName())
	d.Pair = widget.NewButtonWithIcon("Pair a new device", theme.ContentAddIcon(), d.pair)
	d.Pair.Importance = widget.HighImportance
	d.PairQR = newQRCanvas()
	d.PairCode = widget.NewLabel("")
	d.PairCode.Selectable = true
	d.PairCode.Wrapping = fyne.TextWrapBreak
	d.CopyCode = widget.NewButtonWithIcon("Copy code", theme.ContentCopyIcon(), func() {
		d.shell.u.fyne.Clipboard().SetContent(d.PairCode.Text)
		d.shell.say("The pairing code is on the clipboard.")
	})
	d.Countdown = boldWrapped("")
	d.pairBox = container.NewVBox(
		wrapped("On the new device, choose Join: scan this code, or paste its text. Then type your password there. The code works once."),
		container.NewCenter(d.PairQR), d.Countdown, d.PairCode, d.CopyCode,
	)
	d.pairBox.Hide()

	d.ExportPass = widget.NewPasswordEntry()
	d.ExportRepeat = widget.NewPasswordEntry()
	d.Export = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), d.exportToFile)
	d.ImportChoose = widget.NewButtonWithIcon("Choose a container file…", theme.FolderOpenIcon(), d.chooseImport)
	d.ImportFile = wrapped("No file chosen.")
	d.ImportPass = widget.NewPasswordEntry()
	d.ImportPassword = widget.NewPasswordEntry()
	d.ImportRepeat = widget.NewPasswordEntry()
	d.Import = widget.NewButtonWithIcon("Import", theme.DownloadIcon(), d.importContainer)

	d.Delivery = wrapped("")
	d.outboxBox = container.NewVBox()

	return container.NewVScroll(container.NewVBox(
		container.NewBorder(nil, nil, nil, d.Reload, boldWrapped("This profile's devices")),
		d.SyncStatus,
		d.deviceBox,
		widget.NewForm(widget.NewFormItem("This device", d.ThisDevice)),
		d.Pair,
		d.pairBox,
		widget.NewSeparator(),
		boldWrapped("Backup: export"),
		wrapped("The container holds your whole profile, encrypted under a passphrase of its own. Keep the passphrase: without it the file opens for no one."),
		widget.NewForm(
			widget.NewFormItem("Passphrase", d.ExportPass),
			widget.NewFormItem("Repeat", d.ExportRepeat),
		),
		d.Export,
		boldWrapped("Backup: import"),
		wrapped("Restore a container on this device as a profile of its own, signed in with a new password."),
		d.ImportChoose,
		d.ImportFile,
		widget.NewForm(
			widget.NewFormItem("Passphrase", d.ImportPass),
			widget.NewFormItem("New password", d.ImportPassword),
			widget.NewFormItem("Repeat", d.ImportRepeat),
		),
		d.Import,
		widget.NewSeparator(),
		boldWrapped("Outgoing mail"),
		d.Delivery,
		d.outboxBox,
	))
}

func (d *DevicesScreen) refresh() {
	pr := d.shell.principal()
	if pr == nil {
		return
	}
	var (
		devices []app.Device
		outbox  []app.OutboxEntry
	)
	a := d.shell.u.app
	d.shell.run("Loading devices", func(ctx context.Context) error {
		var err error
		if devices, err = a.Devices(ctx, pr); err != nil {
			return err
		}
		outbox, err = a.OutboxEntries(ctx, pr)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		d.devices, d.outbox = devices, outbox
		d.showDevices()
		d.showOutbox()
	})
}

// Device returns the row of a device, or nil.
func (d *DevicesScreen) Device(id string) *DeviceRow {
	for _, r := range d.Devices {
		if r.Device.ID == id {
			return r
		}
	}
	return nil
}

func (d *DevicesScreen) showDevices() {
	info := d.shell.u.app.SyncInfo()
	if info.Running {
		d.SyncStatus.SetText("Sync is on: your devices exchange changes directly, end-to-end encrypted.")
	} else {
		d.SyncStatus.SetText("Sync is off on this device (started with --no-sync): it neither pairs nor syncs.")
	}
	d.Pair.Enable()
	if !info.Running {
		d.Pair.Disable()
	}
	d.Devices = nil
	var objs []fyne.CanvasObject
	now := d.shell.u.app.Now()
	for _, dev := range d.devices {
		row := &DeviceRow{Device: dev, Text: wrapped(deviceText(dev, now))}
		d.Devices = append(d.Devices, row)
		if dev.Current {
			objs = append(objs, row.Text)
			continue
		}
		id, name := dev.ID, dev.Name
		row.Remove = twoTapButton("Remove", "Tap again to remove "+name, theme.DeleteIcon(), func() { d.remove(id, name) })
		objs = append(objs, row.Text, row.Remove)
	}
	if len(d.devices) == 0 {
		objs = append(objs, wrapped("Only this device holds the profile. Pair another to keep it on both."))
	}
	d.deviceBox.Objects = objs
	d.deviceBox.Refresh()
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
	if dev.Connected {
		state = "connected"
	}
	last := "never synced"
	if !dev.LastSync.IsZero() {
		last = "last synced " + fmtAgo(now.Sub(dev.LastSync)) + " (" + fmtWhen(dev.LastSync) + ")"
	}
	return fmt.Sprintf("%s: %s, %s; added %s.", name, state, last, fmtWhen(dev.AddedAt))
}

// fmtAgo shows a duration in the past in words.
func fmtAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
}

func (d *DevicesScreen) remove(id, name string) {
	pr := d.shell.principal()
	if pr == nil {
		return
	}
	d.shell.run("Removing "+name, func(ctx context.Context) error {
		return d.shell.u.app.RemoveDevice(ctx, pr, id)
	}, func(err error) {
		if err == nil {
			d.shell.say("Removed " + name + ": your devices no longer sync with it.")
		}
		d.refresh()
	})
}

// pair makes a one-time pairing code and shows it with its countdown.
func (d *DevicesScreen) pair() {
	pr := d.shell.principal()
	if pr == nil {
		return
	}
	name := d.ThisDevice.Text
	var (
		code    string
		expires time.Time
		png     []byte
	)
	d.shell.run("Making a pairing code", func(ctx context.Context) error {
		var err error
		if code, expires, err = d.shell.u.app.PairCode(ctx, pr, name); err != nil {
			return err
		}
		png, err = qr.PNG(code, qrSize)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
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

// exportToFile exports the container, then asks where to save it.
func (d *DevicesScreen) exportToFile() {
	d.exportContainer(func(data []byte) {
		dlg := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
			if err != nil {
				d.shell.say("The file could not be opened: " + err.Error())
				return
			}
			if w == nil {
				d.shell.say("Export cancelled: nothing was saved.")
				return
			}
			d.writeExport(w, data)
		}, d.shell.u.window)
		dlg.SetFileName("secure-profile-" + d.shell.u.app.Now().Local().Format("2006-01-02") + containerExt)
		dlg.Show()
	}, nil)
}

// ExportTo exports the container and writes it to w (what the save
// dialog's choice leads to). w is closed in every case; when the export
// fails, the file it names is removed.
func (d *DevicesScreen) ExportTo(w fyne.URIWriteCloser) {
	d.exportContainer(func(data []byte) { d.writeExport(w, data) }, func() {
		w.Close()
		storage.Delete(w.URI())
	})
}

// exportContainer checks the passphrase fields and exports the container
// in the background; then (on the UI goroutine) hands its bytes to then,
// or calls failed (when not nil) if there is nothing to save.
func (d *DevicesScreen) exportContainer(then func(data []byte), failed func()) {
	fail := func(msg string) {
		if msg != "" {
			d.shell.say(msg)
		}
		if failed != nil {
			failed()
		}
	}
	pr := d.shell.principal()
	if pr == nil {
		fail("")
		return
	}
	pass := d.ExportPass.Text
	if pass == "" {
		fail("Choose a passphrase for the container.")
		return
	}
	if pass != d.ExportRepeat.Text {
		fail("The passphrases do not match.")
		return
	}
	var data []byte
	d.shell.run("Encrypting your profile", func(ctx context.Context) error {
		exp, err := d.shell.u.app.Export(ctx, pr, app.ExportContainer, pass)
		if err != nil {
			return err
		}
		data = exp.Container
		return nil
	}, func(err error) {
		if err != nil {
			fail("") // the status line shows the app's error
			return
		}
		then(data)
	})
}

// writeExport writes an exported container to w in the background.
func (d *DevicesScreen) writeExport(w fyne.URIWriteCloser, data []byte) {
	name := w.URI().Name()
	d.shell.run("Saving "+name, func(context.Context) error {
		_, err := w.Write(data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			storage.Delete(w.URI()) // no half-written container left behind
			return saveError{err}
		}
		return nil
	}, func(err error) {
		if err != nil {
			d.shell.say("Could not save " + name + ": " + errors.Unwrap(err).Error())
			return
		}
		d.ExportPass.SetText("")
		d.ExportRepeat.SetText("")
		d.shell.say(fmt.Sprintf("Exported your profile to %s (%d KB).", name, (len(data)+1023)/1024))
	})
}

// saveError is a file error, shown to the user as it is (it names their
// file, not the app's internals).
type saveError struct{ err error }

func (e saveError) Error() string { return e.err.Error() }
func (e saveError) Unwrap() error { return e.err }

func (d *DevicesScreen) chooseImport() {
	dlg := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			d.shell.say("The file could not be opened: " + err.Error())
			return
		}
		if r != nil {
			d.ReadContainer(r)
		}
	}, d.shell.u.window)
	dlg.SetFilter(storage.NewExtensionFileFilter([]string{containerExt, ".json", ".txt"}))
	dlg.Show()
}

// ReadContainer reads the container file to import (what the open
// dialog's choice leads to), closing r.
func (d *DevicesScreen) ReadContainer(r fyne.URIReadCloser) {
	name := r.URI().Name()
	var data []byte
	d.shell.run("Reading "+name, func(context.Context) error {
		defer r.Close()
		var err error
		data, err = readAllLimited(r, 2*app.MaxContainer)
		if err != nil {
			return saveError{err}
		}
		return nil
	}, func(err error) {
		if err != nil {
			d.shell.say("Could not read " + name + ": " + errors.Unwrap(err).Error())
			return
		}
		d.importData = data
		d.ImportFile.SetText(fmt.Sprintf("%s (%d KB)", name, (len(data)+1023)/1024))
	})
}

// LastImport is the account the last import made, or nil.
func (d *DevicesScreen) LastImport() *app.Imported { return d.lastImport }

func (d *DevicesScreen) importContainer() {
	if d.importData == nil {
		d.shell.say("Choose the container file first.")
		return
	}
	if d.ImportPassword.Text != d.ImportRepeat.Text {
		d.shell.say("The new passwords do not match.")
		return
	}
	data, pass, pw := d.importData, d.ImportPass.Text, d.ImportPassword.Text
	var im *app.Imported
	d.shell.run("Decrypting and importing", func(ctx context.Context) (err error) {
		im, err = d.shell.u.app.Import(ctx, data, pass, pw)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		d.lastImport = im
		d.importData = nil
		d.ImportFile.SetText("No file chosen.")
		for _, e := range []*widget.Entry{d.ImportPass, d.ImportPassword, d.ImportRepeat} {
			e.SetText("")
		}
		d.shell.say(fmt.Sprintf("Imported the profile of %s: lock, then unlock with that e-mail and the new password.", im.Email))
	})
}

func (d *DevicesScreen) showOutbox() {
	a := d.shell.u.app
	var lines []string
	if a.Delivers(app.KindEmail) {
		lines = append(lines, "E-mail leaves this device through the SMTP relay it was started with.")
	} else {
		lines = append(lines, "No SMTP relay is set up on this device: e-mail waits in the outbox until the app runs with --smtp-addr and --smtp-from.")
	}
	if !a.Delivers(app.KindSMS) {
		lines = append(lines, "Text messages wait in the outbox: this device has no SMS gateway.")
	}
	d.Delivery.SetText(strings.Join(lines, " "))

	const deliveredShown = 10
	d.Outbox = nil
	var objs []fyne.CanvasObject
	delivered := 0
	for _, e := range d.outbox {
		if e.Status == "delivered" {
			if delivered == deliveredShown {
				continue
			}
			delivered++
		}
		l := wrapped(outboxText(e))
		d.Outbox = append(d.Outbox, l)
		objs = append(objs, l)
	}
	if len(objs) == 0 {
		objs = append(objs, wrapped("Nothing waits to be sent."))
	}
	d.outboxBox.Objects = objs
	d.outboxBox.Refresh()
}

func outboxText(e app.OutboxEntry) string {
	what := e.Kind
	switch e.Kind {
	case app.KindEmail:
		what = "E-mail"
	case app.KindSMS:
		what = "Text message"
	case app.KindWebhook:
		what = "Webhook event"
	}
	if e.To != "" {
		what += " to " + e.To
	}
	if e.Status == "delivered" {
		return fmt.Sprintf("%s: delivered %s.", what, fmtWhen(e.DeliveredAt))
	}
	if e.Status == "failed" {
		// Failed for good (e.g. a webhook to an address this device
		// refuses): say why, in words, and that nothing more happens.
		why := strings.TrimPrefix(e.LastError, e.Kind+": ")
		if why == "" {
			why = "refused"
		}
		return fmt.Sprintf("%s: failed for good: %s (%s); it will not be tried again.", what, why, fmtWhen(e.FailedAt))
	}
	s := fmt.Sprintf("%s: waiting since %s", what, fmtWhen(e.CreatedAt))
	if e.Attempts > 0 {
		s += fmt.Sprintf(", %d attempt(s)", e.Attempts)
	}
	if e.LastError != "" {
		s += "; " + e.LastError
	}
	if !e.NextAt.IsZero() {
		s += "; next try " + fmtWhen(e.NextAt)
	}
	return s + "."
}
