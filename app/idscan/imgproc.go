package idscan

import (
	"image"
	"image/color"
	"math"
)

// grayImage is an 8-bit grayscale raster with stride == w.
type grayImage struct {
	w, h int
	pix  []uint8
}

func newGray(w, h int) *grayImage {
	if w < 0 {
		w = 0
	}
	if h < 0 {
		h = 0
	}
	return &grayImage{w: w, h: h, pix: make([]uint8, w*h)}
}

// lum is the Rec. 601 luma of 8-bit RGB, the weights zxing uses.
func lum(r, g, b uint32) uint8 {
	return uint8((306*r + 601*g + 117*b + 0x200) >> 10)
}

// toGray converts any image to grayscale, with fast paths for the types the
// standard decoders return. Transparent pixels are composited onto white.
func toGray(img image.Image) *grayImage {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	g := newGray(w, h)
	if w == 0 || h == 0 {
		return g
	}
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			off := src.YOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*w:(y+1)*w], src.Y[off:off+w])
		}
	case *image.NYCbCrA:
		for y := 0; y < h; y++ {
			off := src.YOffset(b.Min.X, b.Min.Y+y)
			aoff := src.AOffset(b.Min.X, b.Min.Y+y)
			for x := 0; x < w; x++ {
				a := uint32(src.A[aoff+x])
				g.pix[y*w+x] = uint8((uint32(src.Y[off+x])*a + 255*(255-a) + 127) / 255)
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			off := src.PixOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*w:(y+1)*w], src.Pix[off:off+w])
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				// Premultiplied: adding the missing alpha composites on white.
				v := uint32(lum(uint32(p[0]), uint32(p[1]), uint32(p[2]))) + 255 - uint32(p[3])
				if v > 255 {
					v = 255
				}
				g.pix[y*w+x] = uint8(v)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				a := uint32(p[3])
				l := uint32(lum(uint32(p[0]), uint32(p[1]), uint32(p[2])))
				g.pix[y*w+x] = uint8((l*a + 255*(255-a) + 127) / 255)
			}
		}
	case *image.Paletted:
		var table [256]uint8
		for i := range table {
			table[i] = 255
		}
		for i, c := range src.Palette {
			if i >= 256 {
				break
			}
			table[i] = grayOf(c)
		}
		for y := 0; y < h; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				g.pix[y*w+x] = table[row[x]]
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.pix[y*w+x] = grayOf(img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
	}
	return g
}

// grayOf converts a colour to luma, compositing onto white.
func grayOf(c color.Color) uint8 {
	if c == nil {
		return 255
	}
	r, gg, bb, a := c.RGBA() // premultiplied, 16-bit
	v := uint32(lum(r>>8, gg>>8, bb>>8)) + (0xffff-a)>>8
	if v > 255 {
		v = 255
	}
	return uint8(v)
}

// downscale shrinks g by an integer factor with a box filter.
func downscale(g *grayImage, f int) *grayImage {
	if f <= 1 {
		return g
	}
	w, h := g.w/f, g.h/f
	if w < 1 || h < 1 {
		return g
	}
	out := newGray(w, h)
	acc := make([]uint32, w)
	area := uint32(f * f)
	for oy := 0; oy < h; oy++ {
		clear(acc)
		for dy := 0; dy < f; dy++ {
			row := g.pix[(oy*f+dy)*g.w:]
			for ox := 0; ox < w; ox++ {
				s := uint32(0)
				base := ox * f
				for dx := 0; dx < f; dx++ {
					s += uint32(row[base+dx])
				}
				acc[ox] += s
			}
		}
		dst := out.pix[oy*w : (oy+1)*w]
		for ox := range dst {
			dst[ox] = uint8((acc[ox] + area/2) / area)
		}
	}
	return out
}

// affine maps output pixel centres to source coordinates:
// src = (a*u + b*v + c, d*u + e*v + f).
type affine struct{ a, b, c, d, e, f float64 }

// rotScale is the affine map for an output image of size (ow, oh) that shows
// the source region centred on (cx, cy), rotated so that the source direction
// at angle theta (radians, image coordinates) becomes the output x axis, with
// one output pixel spanning step source pixels.
func rotScale(cx, cy, theta, step float64, ow, oh int) affine {
	cs, sn := math.Cos(theta)*step, math.Sin(theta)*step
	ou, ov := float64(ow)/2, float64(oh)/2
	return affine{
		a: cs, b: -sn, c: cx - cs*ou + sn*ov,
		d: sn, e: cs, f: cy - sn*ou - cs*ov,
	}
}

// warp resamples src through m into a new ow × oh image with bilinear
// interpolation; points outside the source take the value fill.
func warp(src *grayImage, m affine, ow, oh int, fill uint8) *grayImage {
	out := newGray(ow, oh)
	if src.w < 2 || src.h < 2 {
		for i := range out.pix {
			out.pix[i] = fill
		}
		return out
	}
	maxX, maxY := float64(src.w-1), float64(src.h-1)
	sw := src.w
	for v := 0; v < oh; v++ {
		fv := float64(v) + 0.5
		// Source position of the centre of pixel (0, v), minus 0.5 to go
		// from pixel centres to sample indices.
		x := m.a*0.5 + m.b*fv + m.c - 0.5
		y := m.d*0.5 + m.e*fv + m.f - 0.5
		row := out.pix[v*ow : (v+1)*ow]
		for u := range row {
			if x < 0 || y < 0 || x > maxX || y > maxY {
				row[u] = fill
			} else {
				x0, y0 := int(x), int(y)
				fx, fy := x-float64(x0), y-float64(y0)
				if x0 >= src.w-1 {
					x0, fx = src.w-2, 1
				}
				if y0 >= src.h-1 {
					y0, fy = src.h-2, 1
				}
				i := y0*sw + x0
				p00, p01 := float64(src.pix[i]), float64(src.pix[i+1])
				p10, p11 := float64(src.pix[i+sw]), float64(src.pix[i+sw+1])
				top := p00 + (p01-p00)*fx
				bot := p10 + (p11-p10)*fx
				row[u] = uint8(top + (bot-top)*fy + 0.5)
			}
			x += m.a
			y += m.d
		}
	}
	return out
}

// rotate180 returns g turned upside down.
func rotate180(g *grayImage) *grayImage {
	out := newGray(g.w, g.h)
	n := len(g.pix)
	for i, p := range g.pix {
		out.pix[n-1-i] = p
	}
	return out
}

// sharpen applies an unsharp mask (amount a, 3x3 box blur) to g.
func sharpen(g *grayImage, a float64) *grayImage {
	out := newGray(g.w, g.h)
	copy(out.pix, g.pix)
	if g.w < 3 || g.h < 3 {
		return out
	}
	w := g.w
	for y := 1; y < g.h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			s := 0
			for _, j := range [9]int{i - w - 1, i - w, i - w + 1, i - 1, i, i + 1, i + w - 1, i + w, i + w + 1} {
				s += int(g.pix[j])
			}
			v := float64(g.pix[i]) + a*(float64(g.pix[i])-float64(s)/9)
			out.pix[i] = uint8(math.Max(0, math.Min(255, v+0.5)))
		}
	}
	return out
}

// binarizeMid thresholds g halfway between its dark and light levels (the
// 5th and 95th percentiles), giving 0 or 255. On a tight crop around a
// barcode whose modules are only a pixel or two wide and blurred, this works
// where zxing's local-average binarizer breaks the thin bars.
func binarizeMid(g *grayImage) *grayImage {
	var hist [256]int
	for _, p := range g.pix {
		hist[p]++
	}
	n := len(g.pix)
	level := func(frac float64) int {
		target := int(frac * float64(n))
		acc := 0
		for v, c := range hist {
			acc += c
			if acc > target {
				return v
			}
		}
		return 255
	}
	thr := (level(0.05) + level(0.95)) / 2
	out := newGray(g.w, g.h)
	for i, p := range g.pix {
		if int(p) > thr {
			out.pix[i] = 255
		}
	}
	return out
}
