package idscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"runtime"
	"testing"
)

// photoOf makes a 1280x960 photo of a card carrying payload, rotated by angle.
func photoOf(t *testing.T, payload []byte, angle float64, seed uint64) []byte {
	t.Helper()
	return makePhoto(t, photoCase{
		payload: payload,
		shot:    shot{w: 1280, h: 960, angle: angle, cardFrac: 0.62, dx: 0.03, dy: -0.02, blur: 1, noise: 6, quality: 78, seed: seed},
		module:  3,
		ec:      3,
	})
}

func TestScanAngles(t *testing.T) {
	payload := licencePayload(testPerson, 10, "636014", false).build()
	for i, angle := range []float64{-20, -14, -7.5, -3, 0, 2.5, 6, 11, 17, 20, 188, 90} {
		t.Run(fmt.Sprintf("%+.1fdeg", angle), func(t *testing.T) {
			photo := photoOf(t, payload, angle, uint64(i)+1)
			got, err := ScanImage(photo)
			if err != nil {
				t.Fatalf("ScanImage: %v", err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("payload = %q, want %q", got, payload)
			}
		})
	}
}

// TestScanFullPath runs photo -> ScanImage -> ParseAAMVA -> Verify for the
// AAMVA versions 1, 3, 8 and 10, US and Canadian.
func TestScanFullPath(t *testing.T) {
	i := 0
	for _, v := range []int{1, 3, 8, 10} {
		for _, who := range []struct {
			p        person
			iin      string
			canadian bool
			profile  string
		}{
			{people[1], "636015", false, "John Smith-Jones"},
			{people[2], "636028", true, "Marie Tremblay"},
		} {
			i++
			angle := []float64{-18, -9, 4, 15, 19, -4, 8, -13}[i-1]
			t.Run(fmt.Sprintf("v%d_%s", v, who.p.state), func(t *testing.T) {
				payload := licencePayload(who.p, v, who.iin, who.canadian).build()
				got, err := ScanImage(photoOf(t, payload, angle, uint64(100+i)))
				if err != nil {
					t.Fatalf("ScanImage: %v", err)
				}
				l, err := ParseAAMVA(got)
				if err != nil {
					t.Fatalf("ParseAAMVA: %v", err)
				}
				vr := Verify(l, testNow, who.profile)
				if vr.Status != StatusVerified {
					t.Fatalf("Verify = %+v", vr)
				}
				ex := l.Fields()
				wantDOB := fmt.Sprintf("%04d-%02d-%02d", who.p.dob[0], who.p.dob[1], who.p.dob[2])
				if ex.DateOfBirth == nil || *ex.DateOfBirth != wantDOB || ex.LastName != who.p.last || ex.FirstName != who.p.first {
					t.Errorf("fields = %+v", ex)
				}
				if ex.DocumentNumber != "••••"+who.p.number[len(who.p.number)-4:] {
					t.Errorf("document_number = %v", ex.DocumentNumber)
				}
			})
		}
	}
}

// TestScanFormats reads the barcode from PNG and GIF encodings and checks
// the colour conversion paths.
func TestScanFormats(t *testing.T) {
	payload := licencePayload(testPerson, 8, "636014", false).build()
	img, err := DecodeImage(photoOf(t, payload, 7, 55))
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, rgba); err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(rgba.Bounds(), palette.Plan9)
	draw.Draw(pal, pal.Bounds(), rgba, image.Point{}, draw.Src)
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"png": pngBuf.Bytes(), "gif": gifBuf.Bytes()} {
		got, err := ScanImage(data)
		if err != nil || !bytes.Equal(got, payload) {
			t.Errorf("%s: err %v, payload ok %v", name, err, bytes.Equal(got, payload))
		}
	}
	// A sub-image with an offset origin and an NRGBA image.
	sub := rgba.SubImage(image.Rect(50, 40, rgba.Bounds().Dx()-30, rgba.Bounds().Dy()-20))
	if got, err := FindPDF417(sub); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("sub-image: %v", err)
	}
	nrgba := image.NewNRGBA(rgba.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), rgba, image.Point{}, draw.Src)
	if got, err := FindPDF417(nrgba); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("NRGBA: %v", err)
	}
}

// pngChunk writes one PNG chunk with its CRC.
func pngChunk(buf *bytes.Buffer, typ string, data []byte) {
	binary.Write(buf, binary.BigEndian, uint32(len(data)))
	buf.WriteString(typ)
	buf.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.Write(buf, binary.BigEndian, crc.Sum32())
}

// hugePNG is a valid PNG header announcing a w x h RGBA image, with a few
// bytes of IDAT: a decoder that trusted it would allocate w*h*4 bytes.
func hugePNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	pngChunk(&buf, "IHDR", ihdr)
	pngChunk(&buf, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	pngChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

// hugeGIF is a GIF header whose logical screen is 65535 x 65535.
func hugeGIF() []byte {
	b := []byte("GIF89a")
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00)
	b = append(b, ',', 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00)
	return b
}

// hugeWebP is a WebP (VP8X) header announcing a 16384 x 16384 canvas.
func hugeWebP() []byte {
	chunk := []byte("VP8X")
	chunk = binary.LittleEndian.AppendUint32(chunk, 10)
	chunk = append(chunk, 0, 0, 0, 0)       // flags, reserved
	chunk = append(chunk, 0xff, 0x3f, 0x00) // width - 1 = 16383
	chunk = append(chunk, 0xff, 0x3f, 0x00) // height - 1 = 16383
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+len(chunk)))
	b = append(b, "WEBP"...)
	return append(b, chunk...)
}

func TestBadInputs(t *testing.T) {
	payload := licencePayload(testPerson, 8, "636014", false).build()
	photo := photoOf(t, payload, 5, 77)
	img, err := DecodeImage(photo)
	if err != nil {
		t.Fatal(err)
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotImage},
		{"text", []byte("this is not an image, just some text\n"), ErrNotImage},
		{"bmp-like", []byte("BM\x00\x00\x00\x00\x00\x00\x00\x00"), ErrNotImage},
		{"truncated PNG", pngBuf.Bytes()[:pngBuf.Len()/2], ErrNotImage},
		{"truncated PNG header", pngBuf.Bytes()[:20], ErrNotImage},
		{"truncated JPEG", photo[:len(photo)/2], ErrNotImage},
		{"truncated JPEG header", photo[:100], ErrNotImage},
		{"huge PNG", hugePNG(20000, 20000), ErrTooLarge},
		{"huge PNG 60000 x 60000", hugePNG(60000, 60000), ErrTooLarge},
		{"PNG with overflowing size", hugePNG(1<<31-1, 1<<31-1), ErrNotImage},
		{"huge GIF", hugeGIF(), ErrTooLarge},
		{"huge WebP", hugeWebP(), ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ScanImage(tc.data)
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("ScanImage = %q, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("huge PNG refused without allocating", func(t *testing.T) {
		data := hugePNG(20000, 20000)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < 10; i++ {
			if _, err := ScanImage(data); !errors.Is(err, ErrTooLarge) {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("refusing 10 huge headers allocated %d bytes", d)
		}
	})
}

func TestNoBarcode(t *testing.T) {
	// A card with text but no barcode, photographed.
	rng := rand.New(rand.NewPCG(9, 9))
	card := image.NewRGBA(image.Rect(0, 0, 900, 567))
	draw.Draw(card, card.Bounds(), image.NewUniform(color.RGBA{230, 235, 245, 255}), image.Point{}, draw.Src)
	for i := 0; i < 12; i++ {
		drawText(card, "NO BARCODE ON THIS SIDE OF THE CARD 0123456789", 30, 50+i*40, 1+rng.IntN(2))
	}
	noCode := photograph(t, card, shot{w: 1280, h: 960, angle: 9, cardFrac: 0.6, blur: 1, noise: 6, quality: 80, seed: 3})
	white := image.NewGray(image.Rect(0, 0, 640, 480))
	draw.Draw(white, white.Bounds(), image.White, image.Point{}, draw.Src)
	var whitePNG bytes.Buffer
	png.Encode(&whitePNG, white)
	var tinyJPEG bytes.Buffer
	jpeg.Encode(&tinyJPEG, image.NewGray(image.Rect(0, 0, 1, 1)), nil)
	var thinPNG bytes.Buffer
	png.Encode(&thinPNG, image.NewGray(image.Rect(0, 0, 20000, 2)))

	for name, data := range map[string][]byte{"card without barcode": noCode, "white": whitePNG.Bytes(), "1x1": tinyJPEG.Bytes(), "20000x2": thinPNG.Bytes()} {
		t.Run(name, func(t *testing.T) {
			if got, err := ScanImage(data); !errors.Is(err, ErrNoBarcode) {
				t.Fatalf("ScanImage = %q, %v; want ErrNoBarcode", got, err)
			}
		})
	}
	if _, err := FindPDF417(nil); !errors.Is(err, ErrNoBarcode) {
		t.Errorf("FindPDF417(nil) = %v", err)
	}
	if _, err := FindPDF417(image.NewRGBA(image.Rect(0, 0, 0, 0))); !errors.Is(err, ErrNoBarcode) {
		t.Errorf("FindPDF417(empty) = %v", err)
	}
}

// TestScanNotAAMVA: a readable PDF417 that is not an AAMVA payload.
func TestScanNotAAMVA(t *testing.T) {
	payload := []byte("BOARDING PASS M1DOE/JANE EABC123 YVRSFOAC 0123 123Y012A0001 100")
	got, err := ScanImage(photoOf(t, payload, -11, 5))
	if err != nil {
		t.Fatalf("ScanImage: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("payload = %q", got)
	}
	if l, err := ParseAAMVA(got); !errors.Is(err, ErrNotAAMVA) || l != nil {
		t.Fatalf("ParseAAMVA = %v, %v; want ErrNotAAMVA", l, err)
	}
}

// TestControlCharacters checks that LF, RS and CR and bytes above 0x7f
// survive the PDF417 round trip.
func TestControlCharacters(t *testing.T) {
	payload := []byte("@\n\x1e\rANSI 636014080101DL00310030DLDAQX1\nDCSO'NE\xcfLL\nDACA\x1fB\r")
	got, err := FindPDF417(grayToImage(renderSymbol(encodeSymbol(t, payload, 3), 3)))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func grayToImage(g *grayImage) image.Image {
	im := image.NewGray(image.Rect(0, 0, g.w, g.h))
	copy(im.Pix, g.pix)
	return im
}

// TestScanConcurrent decodes two photos at once: the native reader keeps no
// shared state.
func TestScanConcurrent(t *testing.T) {
	payloads := [][]byte{
		licencePayload(testPerson, 10, "636014", false).build(),
		licencePayload(people[3], 8, "636012", true).build(),
	}
	photos := [][]byte{photoOf(t, payloads[0], 12, 201), photoOf(t, payloads[1], -16, 202)}
	errs := make(chan error, 2*len(photos))
	for round := 0; round < 2; round++ {
		for i := range photos {
			go func() {
				got, err := ScanImage(photos[i])
				if err == nil && !bytes.Equal(got, payloads[i]) {
					err = fmt.Errorf("photo %d: wrong payload", i)
				}
				errs <- err
			}()
		}
	}
	for range 2 * len(photos) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
