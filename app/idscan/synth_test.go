package idscan

// Synthetic fixtures: AAMVA payloads written from the standard's element
// list, PDF417 symbols drawn on a card, and "photographs" of that card.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/pdf417"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// element is one AAMVA data element.
type element struct{ id, value string }

// subfileSpec is one subfile to write.
type subfileSpec struct {
	typ      string
	elements []element
}

// payloadSpec describes an AAMVA payload to write.
type payloadSpec struct {
	iin        string
	version    int
	jurVersion int
	fileType   string // "ANSI " by default
	subfiles   []subfileSpec
	// Quirks.
	offsetDelta   int  // added to every declared offset
	noTypePrefix  bool // subfiles without their "DL"/"ID"/"Z?" prefix
	noTerminator  bool // no CR at the end of the last subfile
	trailingSpace bool // pad values with spaces
}

// build writes the payload with a correct directory (modulo quirks).
func (p payloadSpec) build() []byte {
	ft := p.fileType
	if ft == "" {
		ft = "ANSI "
	}
	var hdr bytes.Buffer
	hdr.WriteString("@\n\x1e\r")
	hdr.WriteString(ft)
	hdr.WriteString(p.iin)
	fmt.Fprintf(&hdr, "%02d", p.version)
	if p.version >= 2 {
		fmt.Fprintf(&hdr, "%02d", p.jurVersion)
	}
	fmt.Fprintf(&hdr, "%02d", len(p.subfiles))
	bodies := make([][]byte, len(p.subfiles))
	for i, s := range p.subfiles {
		var b bytes.Buffer
		if !p.noTypePrefix {
			b.WriteString(s.typ)
		}
		for j, e := range s.elements {
			b.WriteString(e.id)
			b.WriteString(e.value)
			if p.trailingSpace {
				b.WriteString("  ")
			}
			if j < len(s.elements)-1 {
				b.WriteByte('\n')
			}
		}
		if !(p.noTerminator && i == len(p.subfiles)-1) {
			b.WriteByte('\r')
		}
		bodies[i] = b.Bytes()
	}
	off := hdr.Len() + 10*len(p.subfiles)
	var dir bytes.Buffer
	for i, s := range p.subfiles {
		fmt.Fprintf(&dir, "%s%04d%04d", s.typ, off+p.offsetDelta, len(bodies[i]))
		off += len(bodies[i])
	}
	out := append(hdr.Bytes(), dir.Bytes()...)
	for _, b := range bodies {
		out = append(out, b...)
	}
	return out
}

// person is the data a test licence carries.
type person struct {
	first, middle, last string
	dob, issue, expiry  [3]int // year, month, day
	street, city, state string
	postal              string
	number              string
	sex                 string
}

var testPerson = person{
	first: "JANE", middle: "QUINN", last: "DOE",
	dob: [3]int{1985, 4, 12}, issue: [3]int{2021, 6, 1}, expiry: [3]int{2029, 4, 12},
	street: "123 MAIN ST", city: "SACRAMENTO", state: "CA", postal: "958140000",
	number: "D1234567", sex: "2",
}

func usDate(d [3]int) string  { return fmt.Sprintf("%02d%02d%04d", d[1], d[2], d[0]) }
func canDate(d [3]int) string { return fmt.Sprintf("%04d%02d%02d", d[0], d[1], d[2]) }

// licencePayload writes a licence for p in the element layout of the given
// AAMVA version (1, 3, 8 or 10), US or Canadian.
func licencePayload(p person, version int, iin string, canadian bool) payloadSpec {
	date := usDate
	country := "USA"
	if canadian {
		date, country = canDate, "CAN"
	}
	var els []element
	switch {
	case version == 1:
		date = canDate // version 1 cards write CCYYMMDD
		els = []element{
			{"DAQ", p.number},
			{"DAA", p.last + "," + p.first + "," + p.middle},
			{"DAG", p.street}, {"DAI", p.city}, {"DAJ", p.state}, {"DAK", p.postal},
			{"DAR", "C"}, {"DAS", "NONE"}, {"DAT", "NONE"},
			{"DBA", date(p.expiry)}, {"DBB", date(p.dob)}, {"DBC", p.sex}, {"DBD", date(p.issue)},
			{"DAU", "507"}, {"DAW", "130"}, {"DAY", "BRO"},
		}
	case version <= 3:
		els = []element{
			{"DCA", "C"}, {"DCB", "NONE"}, {"DCD", "NONE"},
			{"DBA", date(p.expiry)}, {"DCS", p.last}, {"DCT", p.first + " " + p.middle},
			{"DBD", date(p.issue)}, {"DBB", date(p.dob)}, {"DBC", p.sex}, {"DAY", "BRO"},
			{"DAU", "065 in"}, {"DAG", p.street}, {"DAI", p.city}, {"DAJ", p.state},
			{"DAK", p.postal}, {"DAQ", p.number}, {"DCF", "83D9BN217QO983B1"}, {"DCG", country},
			{"DCH", "NONE"},
		}
	default:
		els = []element{
			{"DCA", "C"}, {"DCB", "NONE"}, {"DCD", "NONE"},
			{"DBA", date(p.expiry)}, {"DCS", p.last}, {"DAC", p.first}, {"DAD", p.middle},
			{"DBD", date(p.issue)}, {"DBB", date(p.dob)}, {"DBC", p.sex}, {"DAY", "BRO"},
			{"DAU", "065 in"}, {"DAG", p.street}, {"DAI", p.city}, {"DAJ", p.state},
			{"DAK", p.postal}, {"DAQ", p.number}, {"DCF", "83D9BN217QO983B1"}, {"DCG", country},
			{"DDE", "N"}, {"DDF", "N"}, {"DDG", "N"}, {"DAZ", "BRO"}, {"DCI", "SAN FRANCISCO,CA"},
			{"DCJ", "0001234567"}, {"DCK", "21152D12345670401"}, {"DDA", "F"}, {"DDB", "08292017"},
			{"DAW", "130"}, {"DDK", "1"},
		}
		if version >= 10 {
			els = append(els, element{"DDL", "1"})
		}
	}
	spec := payloadSpec{iin: iin, version: version, jurVersion: 1, subfiles: []subfileSpec{{typ: "DL", elements: els}}}
	if version > 1 {
		spec.subfiles = append(spec.subfiles, subfileSpec{typ: "Z" + p.state[:1], elements: []element{
			{"Z" + p.state[:1] + "A", "ORIGINAL"}, {"Z" + p.state[:1] + "B", "01"},
		}})
	}
	return spec
}

// renderCard draws the back of a card carrying the payload as PDF417: a
// light tinted card with text lines, a PDF417 symbol and a 1D-like stripe.
func renderCard(t testing.TB, code barcode.Barcode, cardW int, module int, rng *rand.Rand) *image.RGBA {
	t.Helper()
	cb := code.Bounds()
	cardH := int(float64(cardW) / 1.586)
	card := image.NewRGBA(image.Rect(0, 0, cardW, cardH))
	tint := [3]float64{225 + rng.Float64()*25, 225 + rng.Float64()*25, 225 + rng.Float64()*25}
	for y := 0; y < cardH; y++ {
		for x := 0; x < cardW; x++ {
			// A gentle guilloche-like pattern of the security print.
			wave := 8 * math.Sin(float64(x)/23+3*math.Sin(float64(y)/41))
			i := card.PixOffset(x, y)
			card.Pix[i] = clamp8(tint[0] + wave)
			card.Pix[i+1] = clamp8(tint[1] + wave*0.6)
			card.Pix[i+2] = clamp8(tint[2] - wave*0.4)
			card.Pix[i+3] = 255
		}
	}
	// Text lines above the barcode.
	lines := []string{"THIS CARD IS THE PROPERTY OF THE ISSUING JURISDICTION",
		"IF FOUND RETURN TO THE DEPARTMENT OF MOTOR VEHICLES",
		"ORGAN DONOR   VETERAN   RESTRICTIONS: NONE"}
	textScale := max(1, cardW/500)
	for i, ln := range lines {
		drawText(card, ln, cardW/16, cardH/16+i*16*textScale, textScale)
	}
	// The barcode: module-wide columns, rows three modules high, in a white
	// quiet zone.
	modules := cb.Dx()
	rows := cb.Dy() / 2
	bw, bh := modules*module, rows*module*3
	x0 := (cardW - bw) / 2
	y0 := cardH/16 + len(lines)*16*textScale + cardH/20
	if y0+bh > cardH-cardH/20 {
		y0 = max(0, cardH-cardH/20-bh)
	}
	q := 2 * module
	for y := y0 - q; y < y0+bh+q; y++ {
		for x := x0 - q; x < x0+bw+q; x++ {
			if image.Pt(x, y).In(card.Bounds()) {
				card.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
			}
		}
	}
	for r := 0; r < rows; r++ {
		for m := 0; m < modules; m++ {
			cr, _, _, _ := code.At(m, r*2).RGBA()
			if cr > 0x8000 {
				continue
			}
			for y := y0 + r*module*3; y < y0+(r+1)*module*3; y++ {
				for x := x0 + m*module; x < x0+(m+1)*module; x++ {
					if image.Pt(x, y).In(card.Bounds()) {
						card.SetRGBA(x, y, color.RGBA{20, 20, 25, 255})
					}
				}
			}
		}
	}
	// A stripe of text-like blocks below.
	by := y0 + bh + 3*module
	if by+10*textScale < cardH {
		drawText(card, "DL "+strings.Repeat("0123456789 ", 3), cardW/16, by+10*textScale, textScale)
	}
	return card
}

func clamp8(v float64) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// drawText draws s with the 7x13 basic font at (x, baseline y), enlarged by
// an integer scale.
func drawText(dst *image.RGBA, s string, x, y, scale int) {
	small := image.NewAlpha(image.Rect(0, 0, 7*len(s)+2, 16))
	d := font.Drawer{Dst: small, Src: image.NewUniform(color.Alpha{255}), Face: basicfont.Face7x13, Dot: fixed.P(1, 12)}
	d.DrawString(s)
	for sy := 0; sy < 16; sy++ {
		for sx := 0; sx < small.Bounds().Dx(); sx++ {
			if small.AlphaAt(sx, sy).A < 128 {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					px, py := x+sx*scale+dx, y-12*scale+sy*scale+dy
					if image.Pt(px, py).In(dst.Bounds()) {
						dst.SetRGBA(px, py, color.RGBA{40, 40, 60, 255})
					}
				}
			}
		}
	}
}

// shot describes how a card is photographed.
type shot struct {
	w, h     int     // photo size
	angle    float64 // card rotation, degrees
	cardFrac float64 // card width as a fraction of the photo width
	dx, dy   float64 // card centre offset, as fractions of the photo size
	blur     int     // box blur passes
	noise    float64 // noise amplitude
	quality  int     // JPEG quality
	seed     uint64
}

// photograph renders the card onto a darker textured background, rotated,
// scaled and offset, lit unevenly, blurred, noised and JPEG-compressed.
func photograph(t testing.TB, card *image.RGBA, s shot) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 0x5eed))
	img := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
	// Value-noise texture (a table top).
	const cell = 24
	gw, gh := s.w/cell+2, s.h/cell+2
	grid := make([]float64, gw*gh)
	for i := range grid {
		grid[i] = rng.Float64()
	}
	base := [3]float64{70 + rng.Float64()*40, 55 + rng.Float64()*30, 40 + rng.Float64()*30}
	cw, ch := float64(card.Bounds().Dx()), float64(card.Bounds().Dy())
	scale := s.cardFrac * float64(s.w) / cw // photo pixels per card pixel
	th := s.angle * math.Pi / 180
	cs, sn := math.Cos(th), math.Sin(th)
	pcx, pcy := float64(s.w)*(0.5+s.dx), float64(s.h)*(0.5+s.dy)
	for y := 0; y < s.h; y++ {
		for x := 0; x < s.w; x++ {
			// Inverse map into card coordinates.
			fx, fy := float64(x)+0.5-pcx, float64(y)+0.5-pcy
			u := (fx*cs+fy*sn)/scale + cw/2
			v := (-fx*sn+fy*cs)/scale + ch/2
			light := 0.85 + 0.2*float64(x)/float64(s.w) - 0.1*float64(y)/float64(s.h)
			var r, g, b float64
			if u >= 0 && v >= 0 && u < cw-1 && v < ch-1 {
				r, g, b = bilinearRGB(card, u-0.5, v-0.5)
			} else {
				gx, gy := float64(x)/cell, float64(y)/cell
				ix, iy := int(gx), int(gy)
				ax, ay := gx-float64(ix), gy-float64(iy)
				n00, n01 := grid[iy*gw+ix], grid[iy*gw+ix+1]
				n10, n11 := grid[(iy+1)*gw+ix], grid[(iy+1)*gw+ix+1]
				nv := (n00*(1-ax)+n01*ax)*(1-ay) + (n10*(1-ax)+n11*ax)*ay
				k := 0.6 + 0.8*nv
				r, g, b = base[0]*k, base[1]*k, base[2]*k
			}
			i := img.PixOffset(x, y)
			nz := (rng.Float64() - 0.5) * 2 * s.noise
			img.Pix[i] = clamp8(r*light + nz)
			img.Pix[i+1] = clamp8(g*light + nz)
			img.Pix[i+2] = clamp8(b*light + nz)
			img.Pix[i+3] = 255
		}
	}
	for i := 0; i < s.blur; i++ {
		boxBlur3(img)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: s.quality}); err != nil {
		t.Fatalf("jpeg.Encode: %v", err)
	}
	return buf.Bytes()
}

func bilinearRGB(img *image.RGBA, x, y float64) (r, g, b float64) {
	if x < 0 {
		x = 0
	}
	if y < 0 {
		y = 0
	}
	x0, y0 := int(x), int(y)
	fx, fy := x-float64(x0), y-float64(y0)
	bw, bh := img.Bounds().Dx(), img.Bounds().Dy()
	dx, dy := 4, img.Stride
	if x0+1 >= bw {
		dx = 0
	}
	if y0+1 >= bh {
		dy = 0
	}
	i := y0*img.Stride + 4*x0
	p := img.Pix
	w00, w01, w10, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
	r = float64(p[i])*w00 + float64(p[i+dx])*w01 + float64(p[i+dy])*w10 + float64(p[i+dx+dy])*w11
	g = float64(p[i+1])*w00 + float64(p[i+1+dx])*w01 + float64(p[i+1+dy])*w10 + float64(p[i+1+dx+dy])*w11
	b = float64(p[i+2])*w00 + float64(p[i+2+dx])*w01 + float64(p[i+2+dy])*w10 + float64(p[i+2+dx+dy])*w11
	return r, g, b
}

// boxBlur3 applies a separable 3-tap [1 2 1]/4 blur in place.
func boxBlur3(img *image.RGBA) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	st := img.Stride
	p := img.Pix
	tmp := make([]uint8, len(p))
	for y := 0; y < h; y++ {
		row := y * st
		for x := 0; x < w; x++ {
			l, r := 4, 4
			if x == 0 {
				l = 0
			}
			if x == w-1 {
				r = 0
			}
			i := row + 4*x
			for c := 0; c < 3; c++ {
				tmp[i+c] = uint8((int(p[i+c-l]) + 2*int(p[i+c]) + int(p[i+c+r]) + 2) / 4)
			}
			tmp[i+3] = 255
		}
	}
	for y := 0; y < h; y++ {
		u, d := st, st
		if y == 0 {
			u = 0
		}
		if y == h-1 {
			d = 0
		}
		for x := 0; x < w; x++ {
			i := y*st + 4*x
			for c := 0; c < 3; c++ {
				p[i+c] = uint8((int(tmp[i+c-u]) + 2*int(tmp[i+c]) + int(tmp[i+c+d]) + 2) / 4)
			}
		}
	}
}

// photoCase bundles a payload and a shot.
type photoCase struct {
	name    string
	payload []byte
	shot    shot
	module  int
	ec      byte
}

// makePhoto renders the card for c and photographs it.
func makePhoto(t testing.TB, c photoCase) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(c.shot.seed, 7))
	module := c.module
	if module == 0 {
		module = 3
	}
	code := encodeSymbol(t, c.payload, c.ec)
	// The barcode takes ~85% of the card width.
	cardW := int(float64(code.Bounds().Dx()*module) / 0.85)
	card := renderCard(t, code, cardW, module, rng)
	return photograph(t, card, c.shot)
}

// symbolCache memoises encodeSymbol: tests and benchmarks reuse payloads.
var symbolCache sync.Map // string -> barcode.Barcode

// encodeSymbol encodes payload as PDF417, preferring error correction level
// ec. boombuler/barcode v1.1.0 writes symbols that zxing cannot read for
// some row counts (apparently wrong row indicators), so every candidate
// symbol is checked by decoding a clean rendering of it, and the next error
// correction level is tried if that fails.
func encodeSymbol(t testing.TB, payload []byte, ec byte) barcode.Barcode {
	t.Helper()
	key := fmt.Sprintf("%d|%s", ec, payload)
	if v, ok := symbolCache.Load(key); ok {
		return v.(barcode.Barcode)
	}
	order := []byte{ec, 3, 4, 5, 2, 6, 1, 7}
	for _, level := range order {
		code, err := pdf417.Encode(string(payload), level)
		if err != nil {
			continue
		}
		out, _ := readPDF417(renderSymbol(code, 2), true, false)
		if bytes.Equal(out, payload) {
			symbolCache.Store(key, code)
			return code
		}
	}
	t.Fatalf("no error correction level gives a readable PDF417 symbol for %q", payload)
	return nil
}

// renderSymbol draws a PDF417 symbol cleanly with the given module width,
// rows three modules high, in a quiet zone.
func renderSymbol(code barcode.Barcode, module int) *grayImage {
	b := code.Bounds()
	rows := b.Dy() / 2
	q := 4 * module
	g := newGray(b.Dx()*module+2*q, rows*3*module+2*q)
	for i := range g.pix {
		g.pix[i] = 255
	}
	for y := 0; y < rows*3*module; y++ {
		for x := 0; x < b.Dx()*module; x++ {
			if r, _, _, _ := code.At(x/module, (y/(3*module))*2).RGBA(); r < 0x8000 {
				g.pix[(y+q)*g.w+x+q] = 0
			}
		}
	}
	return g
}
