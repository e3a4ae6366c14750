// Package qr renders QR codes (skip2/go-qrcode) for share codes, links,
// emergency access and device pairing.
package qr

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // Decode reads GIF
	_ "image/jpeg" // Decode reads JPEG
	_ "image/png"  // Decode reads PNG

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	qrcode "github.com/skip2/go-qrcode"
)

// MaxText is the most a code carries: enough for any URL or pairing code
// the app makes, small enough to scan from a phone screen.
const MaxText = 2048

// PNG renders text as a QR code PNG about size×size pixels (at least 128),
// with medium error correction and the standard quiet zone. Every module
// is a whole number of pixels (at least 3), so that a code stays crisp and
// readable however many modules a long text needs; the image is then the
// nearest such size, never blurred by scaling.
func PNG(text string, size int) ([]byte, error) {
	if text == "" || len(text) > MaxText {
		return nil, fmt.Errorf("qr: text must be 1 to %d bytes", MaxText)
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	modules := len(q.Bitmap()) // includes the quiet zone
	scale := max(max(size, 128)/modules, 3)
	b, err := q.PNG(-scale)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return b, nil
}

// Decode reads the QR code in an image (PNG, JPEG or GIF bytes) back to its
// text, with gozxing: how a pairing code is read from a photo or
// screenshot, and how tests check what a rendered code carries.
func Decode(img []byte) (string, error) {
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return "", fmt.Errorf("qr: reading image: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	hard := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, hard)
	if err != nil {
		// gozxing's finder-pattern search, which scans rows, misses a few
		// clean codes (about 1 in 300 of those PNG makes, on a card among
		// text or alone). Reading the image as a bare code (what a
		// screenshot of one is; cheap) gets those that stand alone, the
		// same image turned a quarter (a second full search) the others.
		res, err = zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	}
	if err != nil {
		if turned, terr := bmp.RotateCounterClockwise(); terr == nil {
			res, err = zxqr.NewQRCodeReader().Decode(turned, hard)
		}
	}
	if err != nil {
		return "", fmt.Errorf("qr: no readable code: %w", err)
	}
	return res.GetText(), nil
}
