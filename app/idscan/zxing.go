package idscan

// #cgo pkg-config: zxing
// #cgo CXXFLAGS: -std=c++17 -O2 -DZX_USE_UTF8=1
// #include <stdlib.h>
// #include "zxing_bridge.h"
import "C"

import (
	"errors"
	"unsafe"
)

// errZXing reports an internal failure of the native reader (not "no symbol").
var errZXing = errors.New("idscan: zxing reader failed")

// readPDF417 runs zxing-cpp's PDF417 reader on an 8-bit grayscale image.
// It returns (nil, nil) when no symbol was decoded.
// Binarizers of the zxing reader.
const (
	binLocal  = 0 // local average (hybrid); zxing's default
	binGlobal = 1 // global histogram valley
	binFixed  = 2 // fixed threshold at 127
)

func readPDF417(g *grayImage, tryHarder, tryRotate bool) ([]byte, error) {
	return readPDF417With(g, tryHarder, tryRotate, binLocal)
}

// readPDF417With is readPDF417 with a choice of binarizer.
func readPDF417With(g *grayImage, tryHarder, tryRotate bool, binarizer int) ([]byte, error) {
	if g == nil || g.w <= 0 || g.h <= 0 || len(g.pix) < g.w*g.h {
		return nil, nil
	}
	var out *C.uint8_t
	var outLen C.size_t
	b2i := func(b bool) C.int {
		if b {
			return 1
		}
		return 0
	}
	rc := C.spp_read_pdf417((*C.uint8_t)(unsafe.Pointer(&g.pix[0])), C.int(g.w), C.int(g.h), C.int(g.w),
		b2i(tryHarder), b2i(tryRotate), C.int(binarizer), &out, &outLen)
	switch {
	case rc == 1 && out != nil:
		defer C.free(unsafe.Pointer(out))
		return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), nil
	case rc < 0:
		return nil, errZXing
	}
	return nil, nil
}
