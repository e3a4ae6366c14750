package ui

// What every screen builds with: labels, pages of sections and their
// forms, boxes filled with rows, the two-tap button, QR code images and
// the note of who can open them, file dialogs, and how times and sizes
// are shown.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
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

// selectable is a label whose text the user can select and copy (a code,
// a link); it wraps anywhere, as such text has no words.
func selectable() *widget.Label {
	l := widget.NewLabel("")
	l.Selectable = true
	l.Wrapping = fyne.TextWrapBreak
	return l
}

// copyButton puts the text of from on the clipboard and says so.
func copyButton(s *Shell, label string, from *widget.Label, said string) *widget.Button {
	return widget.NewButtonWithIcon(label, theme.ContentCopyIcon(), func() {
		s.u.fyne.Clipboard().SetContent(from.Text)
		s.say(said)
	})
}

// page is a screen's scrolling content: its sections one under another,
// a separator between two. The mouse wheel scrolls it wherever the
// pointer is, over a text box too (see scrollPage).
func page(sections ...fyne.CanvasObject) fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for i, s := range sections {
		if i > 0 {
			objs = append(objs, widget.NewSeparator())
		}
		objs = append(objs, s)
	}
	return scrollPage(container.NewVBox(objs...))
}

// scrollPage scrolls content vertically, and the mouse wheel scrolls it
// wherever the pointer is. A Fyne text box (every widget.Entry, of one
// line or many) holds a scroller of its own that takes the wheel even
// when it has nothing to scroll, so a long form stopped scrolling under
// the pointer: a transparent layer over the content (wheel) takes the
// wheel first and hands it to the page. Nothing is lost by it: a page's
// multi-line text boxes grow to show all their text (grown), and a
// one-line box scrolls its text with the cursor.
func scrollPage(content fyne.CanvasObject) *container.Scroll {
	w := &wheel{}
	w.ExtendBaseWidget(w)
	s := container.NewVScroll(container.NewStack(content, w))
	w.to = s
	return s
}

// wheel lies over a page's content and hands every wheel (or touchpad)
// scroll over it to the page's scroller; it draws nothing and takes no
// other event (taps, typing and hovering reach what lies under it).
type wheel struct {
	widget.BaseWidget
	to fyne.Scrollable
}

func (w *wheel) Scrolled(ev *fyne.ScrollEvent) { w.to.Scrolled(ev) }

func (w *wheel) CreateRenderer() fyne.WidgetRenderer { return nothingDrawn{} }

// nothingDrawn renders a widget that shows nothing.
type nothingDrawn struct{}

func (nothingDrawn) Destroy()                     {}
func (nothingDrawn) Layout(fyne.Size)             {}
func (nothingDrawn) MinSize() fyne.Size           { return fyne.Size{} }
func (nothingDrawn) Objects() []fyne.CanvasObject { return nil }
func (nothingDrawn) Refresh()                     {}

// grown lays out a multi-line text box that shows all its text: at least
// rows high, it grows (and shrinks back) a row at a time as its text
// needs at the width it is given, so it never scrolls inside itself and
// the wheel over it scrolls the page (see scrollPage). It sets e's
// OnChanged (calling the one set before); lay out what it returns in
// e's place.
func grown(e *widget.Entry, rows int) fyne.CanvasObject {
	g := &grower{entry: e, rows: rows}
	e.SetMinRowsVisible(rows)
	g.shown = rows
	then := e.OnChanged
	e.OnChanged = func(text string) {
		g.fit()
		if then != nil {
			then(text)
		}
	}
	return container.New(g, e)
}

// grower is the layout of a grown text box.
type grower struct {
	entry *widget.Entry
	rows  int           // the fewest rows shown
	shown int           // the rows shown now
	width float32       // the width last laid out at (0: not yet)
	label *widget.Label // measures the text's rows
}

func (g *grower) MinSize([]fyne.CanvasObject) fyne.Size { return g.entry.MinSize() }

func (g *grower) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	g.entry.Move(fyne.NewPos(0, 0))
	g.entry.Resize(size)
	if size.Width != g.width {
		g.width = size.Width
		g.fit()
	}
}

// fit sets the rows shown to what the text needs.
func (g *grower) fit() {
	if n := max(g.rows, g.textRows()); n != g.shown {
		g.shown = n
		g.entry.SetMinRowsVisible(n)
	}
}

// textRows is how many rows the text takes at the width laid out at (not
// laid out yet: one a line), wrapped as a label of that width wraps it
// (a text box's rows are a label's, row for row).
func (g *grower) textRows() int {
	e := g.entry
	lines := strings.Count(e.Text, "\n") + 1
	if g.width <= 0 || e.Wrapping == fyne.TextWrapOff {
		return lines
	}
	if g.label == nil {
		g.label = widget.NewLabel("")
	}
	g.label.Wrapping, g.label.TextStyle = e.Wrapping, e.TextStyle
	height := func(text string) float32 {
		g.label.Text = text
		g.label.Resize(fyne.NewSize(g.width, 1))
		g.label.Refresh()
		return g.label.MinSize().Height
	}
	one, two := height("M"), height("M\nM")
	if two <= one {
		return lines
	}
	return max(lines, 1+int(math.Round(float64((height(e.Text)-one)/(two-one)))))
}

// section is a part of a page: a bold heading ("" for none) over its
// objects.
func section(heading string, objs ...fyne.CanvasObject) *fyne.Container {
	if heading != "" {
		objs = append([]fyne.CanvasObject{boldWrapped(heading)}, objs...)
	}
	return container.NewVBox(objs...)
}

// formRow is one labelled widget of a form.
type formRow struct {
	label  string
	widget fyne.CanvasObject
}

// form lays its rows out, each widget beside its label.
func form(rows ...formRow) *widget.Form {
	items := make([]*widget.FormItem, len(rows))
	for i, r := range rows {
		items[i] = widget.NewFormItem(r.label, r.widget)
	}
	return widget.NewForm(items...)
}

// fill shows objs in box, or the text empty when there are none (and
// empty is not "").
func fill(box *fyne.Container, empty string, objs []fyne.CanvasObject) {
	if len(objs) == 0 && empty != "" {
		objs = []fyne.CanvasObject{wrapped(empty)}
	}
	box.Objects = objs
	box.Refresh()
}

// find is the first of xs for which match holds, and whether there is one.
func find[T any](xs []T, match func(T) bool) (T, bool) {
	for _, x := range xs {
		if match(x) {
			return x, true
		}
	}
	var none T
	return none, false
}

// labelsOf are the labels of xs, in order (what a Select offers).
func labelsOf[T any](xs []T, label func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, label(x))
	}
	return out
}

// primary is the button of a screen's main action, drawn to stand out
// (icon nil: none).
func primary(label string, icon fyne.Resource, tapped func()) *widget.Button {
	b := widget.NewButtonWithIcon(label, icon, tapped)
	b.Importance = widget.HighImportance
	return b
}

// twoTapButton acts on a second tap only: the first turns it into a
// warning that says what the next tap does.
func twoTapButton(label, confirm string, icon fyne.Resource, act func()) *widget.Button {
	var b *widget.Button
	armed := false
	b = widget.NewButtonWithIcon(label, icon, func() {
		if !armed {
			armed = true
			b.SetText(confirm)
			b.Importance = widget.DangerImportance
			b.Refresh()
			return
		}
		armed = false
		b.SetText(label)
		b.Importance = widget.MediumImportance
		b.Refresh()
		act()
	})
	return b
}

// maxWidth centres its one object and caps its width.
type maxWidth struct{ Width float32 }

func (m *maxWidth) MinSize(objects []fyne.CanvasObject) fyne.Size { return objects[0].MinSize() }

func (m *maxWidth) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	w := min(size.Width, max(m.Width, objects[0].MinSize().Width))
	objects[0].Resize(fyne.NewSize(w, size.Height))
	objects[0].Move(fyne.NewPos((size.Width-w)/2, 0))
}

// qrSize is the size asked of the QR codes rendered in the background
// (qr.PNG makes every module a whole number of pixels, so the image comes
// out near it); qrShownMax caps the size such a code is shown at, so that
// it fits a phone-sized window: 128 modules of 3 pixels, enough for a
// share's offline code (about a thousand characters) at its own pixels. qrDrawn is the size of the codes drawn at
// once into an image of a fixed size (the emergency card, a health link).
const (
	qrSize     = 256
	qrShownMax = 384
	qrDrawn    = 512
)

// newQRImage is an image that shows a QR code, side wide at the least.
func newQRImage(side float32) *canvas.Image {
	img := canvas.NewImageFromResource(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSize(side, side))
	return img
}

// setQRPNG shows a QR code's PNG in img at its own pixel size, one image
// pixel per screen pixel, so that every module stays sharp; a code larger
// than qrShownMax is scaled down smoothly to fit.
func setQRPNG(img *canvas.Image, name string, b []byte) {
	side := float32(qrSize)
	img.ScaleMode = canvas.ImageScalePixels
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err == nil {
		side = float32(cfg.Width)
		if cfg.Width > qrShownMax {
			side = qrShownMax
			img.ScaleMode = canvas.ImageScaleSmooth
		}
	}
	img.SetMinSize(fyne.NewSize(side, side))
	img.Resource = fyne.NewStaticResource(name, b)
	img.Refresh()
}

// drawQR draws the QR code of url into img, which keeps its size; false
// (and nothing drawn) when the code cannot be made.
func drawQR(img *canvas.Image, name, url string) bool {
	png, err := qr.PNG(url, qrDrawn)
	if err != nil {
		return false
	}
	img.Resource = fyne.NewStaticResource(name, png)
	img.Refresh()
	return true
}

// host is where a flow shows itself: the window its dialogs open over,
// the status line it speaks in, and how its work runs off the UI goroutine
// with the progress bar (then done on the UI goroutine, an error already
// shown). The start screen is one, the shell another.
type host interface {
	window() fyne.Window
	say(text string)
	run(what string, work func(ctx context.Context) error, done func(err error))
}

// openFile asks for a file to read (of the types in filter; nil: any) and
// hands it to use, which closes it; a cancel says nothing, and lets go of
// the notice the button named (see letGo).
func openFile(h host, filter storage.FileFilter, use func(fyne.URIReadCloser)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		switch {
		case err != nil:
			h.say("The file could not be opened: " + err.Error())
		case r != nil:
			use(r)
		default:
			letGo(h)
		}
	}, h.window())
	if filter != nil {
		d.SetFilter(filter)
	}
	showFileDialog(d, h.window(), "Pictures", "Documents")
}

// letGo ends the action of a file dialog cancelled with nothing to say:
// the notice its button named (Shell.at) is no longer waiting for it, so
// the next work started without at (a refresh) does not speak there.
func letGo(h host) {
	if s, ok := h.(*Shell); ok {
		s.at(nil)
	}
}

// showFileDialog shows d at a usable size (most of the window, not
// Fyne's small default that only scrolls) starting in the first of the
// home directory's folders named that exists (else where Fyne starts).
func showFileDialog(d *dialog.FileDialog, w fyne.Window, folders ...string) {
	if home, err := os.UserHomeDir(); err == nil {
		for _, f := range folders {
			dir := filepath.Join(home, f)
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				continue
			}
			if l, err := storage.ListerForURI(storage.NewFileURI(dir)); err == nil {
				d.SetLocation(l)
				break
			}
		}
	}
	d.Resize(FileDialogSize(w.Canvas().Size()))
	d.Show()
}

// FileDialogSize is the size a file dialog opens at in a window of the
// given size: nearly all of a small window, at most 1000×700.
func FileDialogSize(win fyne.Size) fyne.Size {
	return fyne.NewSize(min(win.Width-24, 1000), min(win.Height-24, 700))
}

// saveFile asks where to save a file (name suggested, of the types in
// filter; nil: any) and hands it to use; cancelled is said on a cancel
// ("": nothing is said, and the notice the button named is let go, as by
// openFile).
func saveFile(h host, name string, filter storage.FileFilter, cancelled string, use func(fyne.URIWriteCloser)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		switch {
		case err != nil:
			h.say("The file could not be created: " + err.Error())
		case w != nil:
			use(w)
		case cancelled != "":
			h.say(cancelled)
		default:
			letGo(h)
		}
	}, h.window())
	d.SetFileName(name)
	if filter != nil {
		d.SetFilter(filter)
	}
	showFileDialog(d, h.window(), "Documents")
}

// readFile reads r (at most limit bytes) off the UI goroutine and closes
// it, then hands its name and bytes to got.
func readFile(h host, r fyne.URIReadCloser, limit int64, got func(name string, data []byte)) {
	name := r.URI().Name()
	var data []byte
	onFile(h, "Reading", "read", name, func() (err error) {
		defer r.Close()
		data, err = readAllLimited(r, limit)
		return err
	}, func() { got(name, data) })
}

// writeFile writes to w off the UI goroutine and closes it, then calls
// saved; a file that could not be written in full is removed.
func writeFile(h host, w fyne.URIWriteCloser, write func(io.Writer) error, saved func()) {
	onFile(h, "Saving", "save", w.URI().Name(), func() error {
		err := write(w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			storage.Delete(w.URI()) // nothing half-written left behind
		}
		return err
	}, saved)
}

// onFile does work on the user's file, name, off the UI goroutine (the
// status line says doing, e.g. "Reading"), then done; when the work fails,
// the status line says so: "Could not <verb> <name>: <why>".
func onFile(h host, doing, verb, name string, work func() error, done func()) {
	h.run(doing+" "+name, func(context.Context) error {
		if err := work(); err != nil {
			return fileError{err}
		}
		return nil
	}, func(err error) {
		if err != nil {
			h.say("Could not " + verb + " " + name + ": " + errors.Unwrap(err).Error())
			return
		}
		done()
	})
}

// fileError is an error of the user's file, shown to them as it is (it
// names their file, not the app's internals).
type fileError struct{ err error }

func (e fileError) Error() string { return e.err.Error() }
func (e fileError) Unwrap() error { return e.err }

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

// fmtWhen shows a time to the user, in local time.
func fmtWhen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2 Jan 2006 15:04")
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

// sizeKB is a file's size in whole kilobytes, rounded up.
func sizeKB(n int) string { return fmt.Sprintf("%d KB", (n+1023)/1024) }

// reachWords says in words who can open a link under a public URL, from
// its reachability (app.Reachability).
func reachWords(reachable string) string {
	switch reachable {
	case app.ReachAnyone:
		return "Anyone can open this."
	case app.ReachLocalNetwork:
		return "Only devices on your network can open this: a phone or browser elsewhere cannot."
	default:
		return "Only this device can open this: no one else's phone or browser can."
	}
}

// ReachNote says beside a code or link who can open it ("Anyone can open
// this", "Only devices on your network…", "Only this device…"), from the
// reachability of the profile's public URL that the code's link is under,
// with a button that opens the Settings screen's public URL field.
type ReachNote struct {
	Text *widget.Label
	Set  *widget.Button
	box  *fyne.Container
}

// newReachNote is a note for codes shown in s (hidden until show).
func newReachNote(s *Shell) *ReachNote {
	n := &ReachNote{Text: wrapped("")}
	n.Set = widget.NewButtonWithIcon("Set where people reach you", theme.SettingsIcon(), func() { s.Settings.editPublicURL() })
	n.box = container.NewVBox(n.Text, container.NewHBox(n.Set))
	return n
}

// object is what a screen lays out.
func (n *ReachNote) object() fyne.CanvasObject { return n.box }

// show says who can open link, a URL under the profile's public URL (so
// that its reachability is the public URL's, as the code was made).
func (n *ReachNote) show(link string) {
	r := app.Reachability(link)
	n.Text.SetText(reachWords(r))
	if r == app.ReachAnyone {
		n.Set.Importance = widget.LowImportance
	} else {
		n.Set.Importance = widget.HighImportance
	}
	n.Set.Refresh()
	n.box.Show()
}
