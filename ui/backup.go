package ui

// The Devices screen's backup section: export the profile as an encrypted
// container to a file, and import one. Importing is the restore form, the
// one restore flow, which the start screen shows too.

import (
	"context"
	"fmt"
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// containerExt names exported container files.
const containerExt = ".sppc"

// containerFiles are the file types offered when choosing a container.
var containerFiles = storage.NewExtensionFileFilter([]string{containerExt, ".json", ".txt"})

// BackupSection exports the encrypted container and imports one (as a
// profile of its own on this device).
type BackupSection struct {
	shell *Shell

	ExportPass, ExportRepeat *widget.Entry
	Export                   *widget.Button
	Import                   *RestoreForm
	// Under Export and under Import: what the last one did, or why not.
	ExportNotice, ImportNotice *widget.Label
	lastImport                 *app.Imported
}

func (b *BackupSection) build(s *Shell) fyne.CanvasObject {
	b.shell = s
	b.ExportPass = widget.NewPasswordEntry()
	b.ExportRepeat = widget.NewPasswordEntry()
	b.Export = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), b.exportToFile)
	b.Import = newRestoreForm(s, s.u.app,
		widget.NewButtonWithIcon("Choose a container file…", theme.FolderOpenIcon(), nil),
		widget.NewButtonWithIcon("Import", theme.DownloadIcon(), nil),
		"Choose the container file first.", b.imported)
	b.ExportNotice, b.ImportNotice = notice(), notice()
	for _, n := range []struct {
		button *widget.Button
		notice *widget.Label
	}{{b.Export, b.ExportNotice}, {b.Import.Choose, b.ImportNotice}, {b.Import.Button, b.ImportNotice}} {
		tapped := n.button.OnTapped
		n.button.OnTapped = func() {
			s.at(n.notice)
			tapped()
		}
	}
	return container.NewVBox(
		section("Backup: export",
			wrapped("The container holds your whole profile, encrypted under a passphrase of its own. Keep the passphrase: without it the file opens for no one."),
			form(formRow{"Passphrase", b.ExportPass}, formRow{"Repeat", b.ExportRepeat}),
			b.Export, b.ExportNotice),
		section("Backup: import",
			b.Import.content("Restore a container on this device as a profile of its own, signed in with a new password."),
			b.ImportNotice),
	)
}

// exportToFile exports the container, then asks where to save it.
func (b *BackupSection) exportToFile() {
	b.exportContainer(func(data []byte) {
		name := "secure-profile-" + b.shell.u.app.Now().Local().Format("2006-01-02") + containerExt
		saveFile(b.shell, name, nil, "Export cancelled: nothing was saved.", func(w fyne.URIWriteCloser) {
			b.writeExport(w, data)
		})
	}, nil)
}

// ExportTo exports the container and writes it to w (what the save
// dialog's choice leads to). w is closed in every case; when the export
// fails, the file it names is removed.
func (b *BackupSection) ExportTo(w fyne.URIWriteCloser) {
	b.exportContainer(func(data []byte) { b.writeExport(w, data) }, func() {
		w.Close()
		storage.Delete(w.URI())
	})
}

// exportContainer checks the passphrase fields and exports the container
// in the background; then (on the UI goroutine) hands its bytes to then,
// or calls failed (when not nil) if there is nothing to save.
func (b *BackupSection) exportContainer(then func(data []byte), failed func()) {
	fail := func(msg string) {
		if msg != "" {
			b.shell.say(msg)
		}
		if failed != nil {
			failed()
		}
	}
	pr := b.shell.principal()
	if pr == nil {
		fail("")
		return
	}
	pass := b.ExportPass.Text
	if pass == "" {
		fail("Choose a passphrase for the container.")
		return
	}
	if pass != b.ExportRepeat.Text {
		fail("The passphrases do not match.")
		return
	}
	var data []byte
	b.shell.run("Encrypting your profile", func(ctx context.Context) error {
		exp, err := b.shell.u.app.Export(ctx, pr, app.ExportContainer, pass)
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
func (b *BackupSection) writeExport(w fyne.URIWriteCloser, data []byte) {
	writeFile(b.shell, w, func(out io.Writer) error {
		_, err := out.Write(data)
		return err
	}, func() {
		b.ExportPass.SetText("")
		b.ExportRepeat.SetText("")
		b.shell.say(fmt.Sprintf("Exported your profile to %s (%s).", w.URI().Name(), sizeKB(len(data))))
	})
}

// LastImport is the account the last import made, or nil.
func (b *BackupSection) LastImport() *app.Imported { return b.lastImport }

func (b *BackupSection) imported(im *app.Imported, _ string) {
	b.lastImport = im
	b.shell.say(fmt.Sprintf("Imported the profile of %s: lock, then unlock with that e-mail and the new password.", im.Email))
}

// RestoreForm is the one restore flow: it turns a backup (an exported
// container) into a profile on this device. The user chooses the file,
// types its passphrase and a new password twice, and imports it. The start
// screen shows one (and signs in with the profile it makes), and so does
// the Devices screen's backup section.
type RestoreForm struct {
	Choose   *widget.Button // opens the file dialog
	File     *widget.Label  // the chosen file
	Pass     *widget.Entry  // the backup's passphrase
	Password *widget.Entry  // the new password on this device
	Repeat   *widget.Entry
	Button   *widget.Button // imports

	host   host
	app    *app.App
	noFile string // said when Button is tapped before a file is chosen
	done   func(im *app.Imported, password string)
	data   []byte
}

const noFileChosen = "No file chosen."

// newRestoreForm makes the form over the two buttons given (each place
// labels them its own way); done runs on the UI goroutine with the
// account an import made and its new password.
func newRestoreForm(h host, a *app.App, choose, button *widget.Button, noFile string, done func(*app.Imported, string)) *RestoreForm {
	f := &RestoreForm{Choose: choose, Button: button, host: h, app: a, noFile: noFile, done: done}
	f.Choose.OnTapped = func() { openFile(h, containerFiles, f.Read) }
	f.Button.OnTapped = f.restore
	f.File = wrapped(noFileChosen)
	f.Pass = widget.NewPasswordEntry()
	f.Password = widget.NewPasswordEntry()
	f.Repeat = widget.NewPasswordEntry()
	return f
}

// content is the form as shown, under its hint.
func (f *RestoreForm) content(hint string) *fyne.Container {
	return container.NewVBox(
		wrapped(hint),
		f.Choose,
		f.File,
		form(formRow{"Passphrase", f.Pass}, formRow{"New password", f.Password}, formRow{"Repeat", f.Repeat}),
		f.Button,
	)
}

// Read reads the backup file to restore (what the open dialog's choice
// leads to) in the background, closing r.
func (f *RestoreForm) Read(r fyne.URIReadCloser) {
	readFile(f.host, r, 2*app.MaxContainer, f.From)
}

// From sets the backup to restore: its file's name and its bytes.
func (f *RestoreForm) From(name string, data []byte) {
	f.data = data
	f.File.SetText(fmt.Sprintf("%s (%s)", name, sizeKB(len(data))))
}

// restore imports the chosen backup as a profile on this device.
func (f *RestoreForm) restore() {
	if f.data == nil {
		f.host.say(f.noFile)
		return
	}
	// Else the app's "container must exist!", "passphrase must exist!",
	// "password must exist!".
	if len(f.data) == 0 {
		f.host.say("That file is empty: choose a file made with Devices → Backup → Export.")
		return
	}
	if f.Pass.Text == "" {
		f.host.say("Type the backup's passphrase: the one chosen when it was exported.")
		return
	}
	if f.Password.Text == "" {
		f.host.say("Choose a new password for this device and type it twice.")
		return
	}
	if f.Password.Text != f.Repeat.Text {
		f.host.say("The new passwords do not match.")
		return
	}
	data, pass, pw := f.data, f.Pass.Text, f.Password.Text
	var im *app.Imported
	f.host.run("Decrypting and importing", func(ctx context.Context) (err error) {
		im, err = f.app.Import(ctx, data, pass, pw)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		f.data = nil
		f.File.SetText(noFileChosen)
		for _, e := range []*widget.Entry{f.Pass, f.Password, f.Repeat} {
			e.SetText("")
		}
		f.done(im, pw)
	})
}
