package ui

// The printed emergency card (issue 14 §5): what it shows (the QR code of
// the emergency page when the profile's public URL is reachable by
// anyone; else it says how to reach the information on the phone), the
// facts a responder needs at once printed in plain text at the user's
// choice, as a medical ID card does, the preview (the very image that is
// saved), and the PNG and PDF renderings.

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"slices"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// The facts the card can print, in order, as the user chooses them.
const (
	FactName      = "Name"
	FactBloodType = "Blood type"
	FactAllergies = "Allergies"
	FactDiagnoses = "Conditions"
	FactContact   = "Emergency contact"
)

// cardFacts are the choosable facts, in the card's order.
var cardFacts = []string{FactName, FactBloodType, FactAllergies, FactDiagnoses, FactContact}

// Texts of a card without a QR code.
const (
	CardNoQRHint = "Emergency information"
	cardNoQRFoot = "More on the phone's lock screen: \u201cEmergency information\u201d"
	cardQRFoot   = "Emergency information \u00b7 every access is logged"
)

// card is what a card shows.
type card struct {
	url   string   // the QR code's text; "" for none
	name  string   // the name under the band; "" for none
	facts []string // "Label: value" lines, in order
}

// cardFact is one fact line: its label and value.
func cardFact(label, value string) string { return label + ": " + value }

// factsFrom prefills the facts from what the profile holds: its fields
// (by name, e.g. blood_type, allergies, conditions) and the emergency
// information when it is a JSON object with such members; the first
// trusted contact. Absent facts are "".
func factsFrom(name string, fields []app.Field, info json.RawMessage, contacts []string) map[string]string {
	out := map[string]string{FactName: name}
	keys := map[string][]string{
		FactBloodType: {"blood_type", "bloodtype", "blood_group", "blood"},
		FactAllergies: {"allergies", "allergy"},
		FactDiagnoses: {"conditions", "medical_conditions", "diagnoses", "condition"},
	}
	var obj map[string]any
	_ = json.Unmarshal(info, &obj)
	for fact, names := range keys {
		for _, n := range names {
			if v, ok := obj[n]; ok && v != nil {
				out[fact] = plain(v)
				break
			}
			if f, ok := find(fields, func(f app.Field) bool { return f.Name == n }); ok && f.Text() != "" {
				out[fact] = f.Text()
				break
			}
		}
	}
	if len(contacts) > 0 {
		out[FactContact] = contacts[0]
	}
	return out
}

// Card geometry, in pixels: about 8.6 × 11 cm at 200 dpi.
const (
	cardW, cardH = 680, 880
	cardQR       = 560 // the QR code's side when no facts are printed
	cardQRSmall  = 360 // beside facts
	cardDPI      = 200
)

var cardRed = color.RGBA{0xc6, 0x28, 0x28, 0xff}

// render draws the card as a PNG, and returns the lines of text on it.
func (c card) render(w io.Writer) ([]string, error) {
	img := image.NewRGBA(image.Rect(0, 0, cardW, cardH))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	// A red frame and a red band with the hint.
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, cardW, 8), image.Rect(0, cardH-8, cardW, cardH),
		image.Rect(0, 0, 8, cardH), image.Rect(cardW-8, 0, cardW, cardH),
		image.Rect(0, 0, cardW, 120),
	} {
		draw.Draw(img, r, image.NewUniform(cardRed), image.Point{}, draw.Src)
	}
	grey := image.NewUniform(color.Gray{0x55})
	hint, foot := CardNoQRHint, cardNoQRFoot
	ls := []cardLine{}
	y := 260 // where the facts start
	if c.url != "" {
		hint, foot = CardHint, cardQRFoot
		side, top := cardQR, 220
		if len(c.facts) > 0 {
			side, top = cardQRSmall, 205
		}
		code, err := qr.PNG(c.url, side)
		if err != nil {
			return nil, err
		}
		qrImg, err := png.Decode(bytes.NewReader(code))
		if err != nil {
			return nil, err
		}
		b := qrImg.Bounds()
		left := (cardW - b.Dx()) / 2
		draw.Draw(img, image.Rect(left, top, left+b.Dx(), top+b.Dy()), qrImg, b.Min, draw.Src)
		y = top + b.Dy() + 40
	}
	ls = append(ls, cardLine{text: hint, bold: true, size: 48, y: 80, c: image.White})
	if c.name != "" {
		ls = append(ls, cardLine{text: c.name, bold: true, size: 40, y: 185, c: image.Black})
	}
	// The facts: larger without a QR code, as many as fit above the foot.
	size, step := 34.0, 56
	if c.url != "" {
		size, step = 26, 36
	}
	for _, f := range c.facts {
		if y > cardH-80 {
			break
		}
		ls = append(ls, cardLine{text: f, size: size, y: y, c: image.Black, label: true})
		y += step
	}
	ls = append(ls, cardLine{text: foot, size: 22, y: cardH - 40, c: grey})
	var shown []string
	for _, l := range ls {
		if err := l.draw(img); err != nil {
			return nil, err
		}
		shown = append(shown, l.text)
	}
	return shown, png.Encode(w, img)
}

// cardPDF writes a one-page A4 PDF with the card's PNG at its printed
// size (cardDPI), centred at the top.
func cardPDF(w io.Writer, cardPNG []byte) error {
	const mmPerInch = 25.4
	wmm, hmm := cardW*mmPerInch/cardDPI, cardH*mmPerInch/cardDPI
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Emergency card", true)
	pdf.SetCreator("Secure Personal Profile", true)
	pdf.AddPage()
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	pdf.RegisterImageOptionsReader("card", opt, bytes.NewReader(cardPNG))
	pageW, _ := pdf.GetPageSize()
	pdf.ImageOptions("card", (pageW-wmm)/2, 20, wmm, hmm, false, opt, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	pdf.SetXY((pageW-wmm)/2, 20+hmm+4)
	pdf.CellFormat(wmm, 5, "Print at 100 % (actual size); cut along the red frame.", "", 0, "C", false, 0, "")
	return pdf.Output(w)
}

// cardLine is a line of text on the card: centred on the baseline y in
// the theme's text font (Noto Sans), regular or bold; a label line draws
// what comes before its first ": " in bold.
type cardLine struct {
	text  string
	bold  bool
	size  float64
	y     int
	c     image.Image
	label bool
}

// draw draws the line ("" draws nothing), shrinking the size until it fits
// the card's width.
func (l cardLine) draw(img *image.RGBA) error {
	if l.text == "" {
		return nil
	}
	parse := func(bold bool) (*opentype.Font, error) {
		return opentype.Parse(theme.DefaultTheme().Font(fyne.TextStyle{Bold: bold}).Content())
	}
	head, rest := "", l.text
	if l.label {
		if i := strings.Index(l.text, ": "); i >= 0 {
			head, rest = l.text[:i+2], l.text[i+2:]
		}
	}
	fb, err := parse(true)
	if err != nil {
		return err
	}
	fr := fb
	if !l.bold {
		if fr, err = parse(false); err != nil {
			return err
		}
	}
	for size := l.size; ; size -= 2 {
		opts := &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull}
		bf, err := opentype.NewFace(fb, opts)
		if err != nil {
			return err
		}
		rf, err := opentype.NewFace(fr, opts)
		if err != nil {
			return err
		}
		hd := &font.Drawer{Dst: img, Src: l.c, Face: bf}
		rd := &font.Drawer{Dst: img, Src: l.c, Face: rf}
		hw, rw := hd.MeasureString(head).Ceil(), rd.MeasureString(rest).Ceil()
		if hw+rw <= cardW-48 || size-2 < 10 {
			x := (cardW - hw - rw) / 2
			hd.Dot = fixed.P(x, l.y)
			hd.DrawString(head)
			rd.Dot = fixed.P(x+hw, l.y)
			rd.DrawString(rest)
			bf.Close()
			rf.Close()
			return nil
		}
		bf.Close()
		rf.Close()
	}
}

// buildCard makes the card's part of the screen.
func (e *EmergencyScreen) buildCard() {
	e.Preview = canvas.NewImageFromResource(nil)
	e.Preview.FillMode = canvas.ImageFillContain
	e.Preview.ScaleMode = canvas.ImageScaleSmooth
	e.Preview.SetMinSize(fyne.NewSize(cardW*0.45, cardH*0.45))
	e.Reach = wrapped("")
	e.SetURL = widget.NewButtonWithIcon("Set the public URL in Settings", theme.SettingsIcon(), func() { e.shell.Select("Settings") })
	e.SetURL.Importance = widget.HighImportance
	e.URL = selectable()
	e.Facts = widget.NewCheckGroup(cardFacts, func([]string) { e.redraw() })
	e.Facts.SetSelected([]string{FactName})
	e.FactValue = map[string]*widget.Entry{}
	var rows []formRow
	for _, f := range cardFacts {
		en := widget.NewEntry()
		en.OnChanged = func(string) { e.redraw() }
		e.FactValue[f] = en
		rows = append(rows, formRow{f, en})
	}
	e.SaveCard = widget.NewButtonWithIcon("Save as PNG…", theme.DownloadIcon(), e.chooseCardFile)
	e.SavePDF = widget.NewButtonWithIcon("Save as PDF…", theme.DocumentPrintIcon(), e.choosePDFFile)
	e.Card = container.NewVBox(
		e.Reach,
		container.NewHBox(e.SetURL),
		container.NewPadded(container.New(&maxWidth{Width: cardW * 0.45}, e.Preview)),
		e.URL,
		wrapped("Printed on the card in plain text, for a responder to read at once (only what you tick):"),
		e.Facts,
		form(rows...),
		container.NewGridWithColumns(2, e.SaveCard, e.SavePDF),
	)
	e.Card.Hide()
}

// showCard shows the card of cfg: whether its QR code can be opened by
// anyone, and the preview; with refill, the facts' texts are taken from
// the profile again (those the user has not changed).
func (e *EmergencyScreen) showCard(cfg *app.EmergencyConfig, refill bool) {
	e.reach = app.Reachability(cfg.URL)
	switch e.reach {
	case app.ReachAnyone:
		e.Reach.SetText("Anyone can open this card's QR code: it opens your emergency page, where a responder asks for your information.")
		e.SetURL.Hide()
		e.URL.SetText(cfg.URL)
		e.URL.Show()
	default:
		where := "on this device"
		if e.reach == app.ReachLocalNetwork {
			where = "on devices on your network"
		}
		e.Reach.SetText("Your emergency page opens only " + where + ", not on a responder's phone, so the card carries no QR code: it tells a responder to open \u201cEmergency information\u201d on your phone's lock screen. Set a public URL that anyone can reach to put the QR code on it, or print the facts a responder needs at once (below).")
		e.SetURL.Show()
		e.URL.Hide()
	}
	if refill {
		// What the profile says now, except where the user typed their own.
		facts := factsFrom(e.name, e.fields, cfg.EmergencyInfo, cfg.TrustedContacts)
		if e.prefilled == nil {
			e.prefilled = map[string]string{}
		}
		for _, f := range cardFacts {
			if en := e.FactValue[f]; en.Text == e.prefilled[f] {
				en.SetText(facts[f])
			}
			e.prefilled[f] = facts[f]
		}
	}
	e.Card.Show()
	e.redraw()
}

// current is the card as chosen now.
func (e *EmergencyScreen) current() card {
	c := card{}
	if e.config != nil && e.reach == app.ReachAnyone {
		c.url = e.config.URL
	}
	for _, f := range cardFacts {
		if !slices.Contains(e.Facts.Selected, f) {
			continue
		}
		v := strings.TrimSpace(e.FactValue[f].Text)
		switch {
		case v == "":
		case f == FactName:
			c.name = v
		default:
			c.facts = append(c.facts, cardFact(f, v))
		}
	}
	return c
}

// redraw renders the card and shows it.
func (e *EmergencyScreen) redraw() {
	if e.config == nil || e.Preview == nil {
		return
	}
	var b bytes.Buffer
	shown, err := e.current().render(&b)
	if err != nil {
		e.shell.u.app.Config().Log.Warn("emergency card not drawn", "err", err)
		e.shell.say("The card could not be drawn.")
		return
	}
	e.cardPNG, e.cardLines = b.Bytes(), shown
	e.Preview.Resource = fyne.NewStaticResource(cardFileName, e.cardPNG)
	e.Preview.Refresh()
}

// CardLines are the lines of text on the card as previewed.
func (e *EmergencyScreen) CardLines() []string { return e.cardLines }

// WriteCard writes the card exactly as previewed, as a PNG.
func (e *EmergencyScreen) WriteCard(w io.Writer) error {
	if e.config == nil || e.cardPNG == nil {
		return errors.New("emergency access is not set up")
	}
	_, err := w.Write(e.cardPNG)
	return err
}

// WritePDF writes the card exactly as previewed in a one-page PDF.
func (e *EmergencyScreen) WritePDF(w io.Writer) error {
	if e.config == nil || e.cardPNG == nil {
		return errors.New("emergency access is not set up")
	}
	return cardPDF(w, e.cardPNG)
}

func (e *EmergencyScreen) chooseCardFile() {
	e.saveCard(cardFileName, ".png", "Card saved: print it at 100 % scale.", func(out io.Writer, card []byte) error {
		_, err := out.Write(card)
		return err
	})
}

func (e *EmergencyScreen) choosePDFFile() {
	e.saveCard(cardPDFName, ".pdf", "Card saved as PDF: print it at actual size.", func(out io.Writer, card []byte) error {
		if err := cardPDF(out, card); err != nil {
			e.shell.u.app.Config().Log.Warn("emergency card not saved", "err", err)
			return errors.New("the PDF could not be made") // the log says why
		}
		return nil
	})
}

// saveCard asks where to save the card as previewed now, and saves it
// there through write (off the UI goroutine).
func (e *EmergencyScreen) saveCard(name, ext, said string, write func(out io.Writer, card []byte) error) {
	if e.config == nil || e.cardPNG == nil {
		e.shell.say("Set emergency access up first.")
		return
	}
	card := e.cardPNG
	saveFile(e.shell, name, storage.NewExtensionFileFilter([]string{ext}), "", func(w fyne.URIWriteCloser) {
		writeFile(e.shell, w, func(out io.Writer) error { return write(out, card) }, func() { e.shell.say(said) })
	})
}
