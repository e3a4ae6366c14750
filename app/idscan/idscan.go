// Package idscan reads the PDF417 barcode on the back of a North American
// driver's licence or ID card from a photo and turns it into verified AAMVA
// DL/ID fields.
//
// The pipeline: ScanImage checks the image header (format and pixel count)
// before decoding pixels; FindPDF417 converts to grayscale, downsizes large
// photos, estimates the barcode's rotation and position from the local
// gradient structure, straightens and crops it, and hands the result to
// zxing-cpp's PDF417 reader (through cgo); ParseAAMVA parses the payload and
// Verify checks it.
//
// It owns that pipeline and its adapter to the domain: [Scanner]
// implements [app.Scanner] (the domain's types and errors), and main.go
// passes it in app.Config. The domain never imports this package, so it
// links neither cgo nor zxing-cpp.
package idscan

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF decoder
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder

	_ "golang.org/x/image/webp" // WebP decoder
)

// MaxPixels is the largest image (width × height) ScanImage decodes.
const MaxPixels = 40_000_000

// Errors returned by this package; test with errors.Is.
var (
	ErrNotImage  = errors.New("idscan: not a supported image (PNG, JPEG, GIF or WebP)")
	ErrTooLarge  = errors.New("idscan: image has too many pixels")
	ErrNoBarcode = errors.New("idscan: no readable PDF417 barcode")
	ErrNotAAMVA  = errors.New("idscan: not an AAMVA DL/ID payload")
)

// supportedFormats are the image.RegisterFormat names ScanImage accepts.
var supportedFormats = map[string]bool{"png": true, "jpeg": true, "gif": true, "webp": true}

// ScanImage decodes image bytes (PNG, JPEG, GIF or WebP), enforcing
// MaxPixels, and returns the raw payload of the PDF417 barcode found in it.
// Errors: ErrNotImage (not a supported image, or truncated), ErrTooLarge
// (pixel count over MaxPixels, checked from the header before any pixel is
// decoded), ErrNoBarcode (no readable PDF417).
func ScanImage(data []byte) (payload []byte, err error) {
	img, err := DecodeImage(data)
	if err != nil {
		return nil, err
	}
	return FindPDF417(img)
}

// DecodeImage decodes PNG, JPEG, GIF or WebP bytes, refusing images whose
// header announces more than MaxPixels pixels before decoding any pixel.
func DecodeImage(data []byte) (img image.Image, err error) {
	if err := CheckImage(data); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("%w: decoder failure", ErrNotImage)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	return img, nil
}

// CheckImage reads only the image header and reports ErrNotImage for
// unsupported or unreadable data and ErrTooLarge for an image of more than
// MaxPixels pixels.
func CheckImage(data []byte) error { return checkImage(data, MaxPixels) }

// checkImage is CheckImage with maxPixels for MaxPixels.
func checkImage(data []byte, maxPixels int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: decoder failure", ErrNotImage)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if !supportedFormats[format] {
		return fmt.Errorf("%w: format %q", ErrNotImage, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("%w: empty image", ErrNotImage)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return fmt.Errorf("%w: %dx%d is over %d pixels", ErrTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	return nil
}
