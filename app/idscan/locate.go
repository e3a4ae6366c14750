package idscan

import (
	"image"
	"math"
	"sort"
)

// Tuning of the locate / straighten pipeline.
const (
	analysisMaxDim = 1400 // long side of the image the orientation analysis runs on
	fullMaxDim     = 1800 // long side of the whole-image fallback passes
	tileSize       = 12   // structure tensor tile, in analysis pixels
	cropTargetW    = 1000 // preferred width of the straightened barcode crop
	cropMaxUp      = 2.0  // largest upsampling of a crop
)

// FindPDF417 locates the PDF417 barcode in an already decoded image, undoes
// its rotation and returns the symbol's raw bytes (control characters such as
// LF, RS and CR preserved). It returns ErrNoBarcode if none can be read.
//
// zxing-cpp only reads PDF417 symbols that are within a few degrees of
// upright, so FindPDF417 first estimates the barcode's orientation and
// position from the structure tensor of the image gradient (PDF417 bars give
// large, strongly oriented gradients in a compact block), then cuts out the
// barcode straightened (trying both 0° and 180°), and falls back to rotating
// the whole image and to the image as is. Large photos are analysed
// downscaled; the crop is sampled from the resolution that gives the bars
// enough pixels. The search is deterministic.
func FindPDF417(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, ErrNoBarcode
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > MaxPixels {
		return nil, ErrNoBarcode
	}
	s := newScan(toGray(img))
	if out := s.run(); out != nil {
		return out, nil
	}
	return nil, ErrNoBarcode
}

type scan struct {
	full   *grayImage
	levels map[int]*grayImage // box-downscaled copies by factor
	tries  int
}

func newScan(g *grayImage) *scan {
	return &scan{full: g, levels: map[int]*grayImage{1: g}}
}

// level returns the full image downscaled by factor f (cached).
func (s *scan) level(f int) *grayImage {
	if f < 1 {
		f = 1
	}
	if g, ok := s.levels[f]; ok {
		return g
	}
	g := downscale(s.full, f)
	s.levels[f] = g
	return g
}

func factorFor(w, h, maxDim int) int {
	m := max(w, h)
	f := (m + maxDim - 1) / maxDim
	return max(f, 1)
}

// decode runs the zxing reader on g and returns the payload or nil.
func (s *scan) decode(g *grayImage, tryRotate bool) []byte {
	if g == nil || g.w < 8 || g.h < 8 {
		return nil
	}
	s.tries++
	out, err := readPDF417(g, true, tryRotate)
	if err != nil || len(out) == 0 {
		return nil
	}
	return out
}

func (s *scan) run() []byte {
	fa := factorFor(s.full.w, s.full.h, analysisMaxDim)
	an := s.level(fa)
	cands := analyse(an)

	// 1. Straightened crops of the located barcode, best candidate first.
	for _, c := range cands {
		if out := s.tryCandidate(c, fa); out != nil {
			return out
		}
	}
	// 2. The whole image, straightened by each estimated angle.
	ff := factorFor(s.full.w, s.full.h, fullMaxDim)
	whole := s.level(ff)
	seen := map[int]bool{}
	for _, c := range cands {
		deg := int(math.Round(c.angle * 180 / math.Pi))
		if seen[deg] || deg == 0 {
			continue
		}
		seen[deg] = true
		if out := s.decode(rotateWhole(whole, c.angle), true); out != nil {
			return out
		}
	}
	// 3. The image as it is (zxing tries the right angles itself).
	if out := s.decode(whole, true); out != nil {
		return out
	}
	if ff > 1 && fa != ff {
		if out := s.decode(an, true); out != nil {
			return out
		}
	}
	return nil
}

// tryCandidate cuts out the candidate region straightened, at a resolution
// that gives the bars a few pixels each, and tries to read it: as is, with a
// mid-level threshold (thin blurred bars defeat zxing's local binarizer),
// sharpened, turned by ±1.2°, and turned by 180°.
func (s *scan) tryCandidate(c candidate, fa int) []byte {
	// Region in full-resolution coordinates.
	cx, cy := c.cx*float64(fa), c.cy*float64(fa)
	bw, bh := c.w*float64(fa), c.h*float64(fa)
	if bw < 8 || bh < 8 {
		return nil
	}
	scale := cropTargetW / bw // output pixels per full-resolution pixel
	scale = math.Min(scale, cropMaxUp)
	// Sample from a box-downscaled level when shrinking a lot, so that the
	// bilinear sampler does not alias.
	f := 1
	if scale < 1 {
		f = max(1, int(math.Floor(1/scale)))
	}
	src := s.level(f)
	step := 1 / (scale * float64(f)) // source (level) pixels per output pixel
	ow := int(math.Ceil(bw * scale))
	oh := int(math.Ceil(bh * scale))
	if ow < 8 || oh < 8 || int64(ow)*int64(oh) > 16_000_000 {
		return nil
	}
	crop := func(delta float64) *grayImage {
		theta := c.angle + delta*math.Pi/180
		m := rotScale(cx/float64(f), cy/float64(f), theta, step, ow, oh)
		return warp(src, m, ow, oh, 255)
	}
	straight := crop(0)
	// zxing reads upside-down PDF417 by itself; the explicit 180° turn is
	// a late fallback.
	attempts := []func() *grayImage{
		func() *grayImage { return straight },
		func() *grayImage { return binarizeMid(straight) },
		func() *grayImage { return sharpen(straight, 1) },
		func() *grayImage { return crop(1.2) },
		func() *grayImage { return crop(-1.2) },
		func() *grayImage { return rotate180(straight) },
	}
	for _, a := range attempts {
		if out := s.decode(a(), false); out != nil {
			return out
		}
	}
	return nil
}

// rotateWhole straightens the whole image by the given barcode angle,
// enlarging the canvas so nothing is cut off.
func rotateWhole(g *grayImage, theta float64) *grayImage {
	cs, sn := math.Abs(math.Cos(theta)), math.Abs(math.Sin(theta))
	ow := int(math.Ceil(float64(g.w)*cs + float64(g.h)*sn))
	oh := int(math.Ceil(float64(g.w)*sn + float64(g.h)*cs))
	m := rotScale(float64(g.w)/2, float64(g.h)/2, theta, 1, ow, oh)
	return warp(g, m, ow, oh, 255)
}

// candidate is a likely barcode region in analysis coordinates: centre,
// extent along (w) and across (h) the bar-normal direction, and the angle
// (radians) of the bar normal, i.e. of the barcode's x axis.
type candidate struct {
	cx, cy, w, h float64
	angle        float64
	score        float64
}

// tileStat is the summed structure tensor of one tile.
type tileStat struct {
	jxx, jyy, jxy float64
}

func (t tileStat) energy() float64 { return t.jxx + t.jyy }

func (t tileStat) coherence() float64 {
	e := t.jxx + t.jyy
	if e <= 0 {
		return 0
	}
	d := t.jxx - t.jyy
	return math.Sqrt(d*d+4*t.jxy*t.jxy) / e
}

// orientation of the dominant gradient, in (-pi/2, pi/2].
func (t tileStat) orientation() float64 {
	return 0.5 * math.Atan2(2*t.jxy, t.jxx-t.jyy)
}

// analyse finds barcode candidates in g: tiles whose gradient is strong and
// coherent, grouped by orientation and connectivity. The result is ordered by
// decreasing score and holds at most a few candidates.
func analyse(g *grayImage) []candidate {
	tw, th := g.w/tileSize, g.h/tileSize
	if tw < 2 || th < 2 {
		return nil
	}
	tiles := make([]tileStat, tw*th)
	// Sobel gradient, accumulated per tile.
	for y := 1; y < th*tileSize-1 && y < g.h-1; y++ {
		r0, r1, r2 := g.pix[(y-1)*g.w:], g.pix[y*g.w:], g.pix[(y+1)*g.w:]
		ty := y / tileSize
		for x := 1; x < tw*tileSize-1 && x < g.w-1; x++ {
			gx := int(r0[x+1]) + 2*int(r1[x+1]) + int(r2[x+1]) - int(r0[x-1]) - 2*int(r1[x-1]) - int(r2[x-1])
			gy := int(r2[x-1]) + 2*int(r2[x]) + int(r2[x+1]) - int(r0[x-1]) - 2*int(r0[x]) - int(r0[x+1])
			t := &tiles[ty*tw+x/tileSize]
			fx, fy := float64(gx), float64(gy)
			t.jxx += fx * fx
			t.jyy += fy * fy
			t.jxy += fx * fy
		}
	}
	// Reference energy: a high percentile, so that the threshold adapts to
	// contrast and exposure.
	energies := make([]float64, len(tiles))
	for i, t := range tiles {
		energies[i] = t.energy()
	}
	sort.Float64s(energies)
	ref := energies[len(energies)*97/100]
	if ref <= 0 {
		return nil
	}
	const bins = 180
	var hist [bins]float64
	strong := make([]bool, len(tiles))
	for i, t := range tiles {
		e := t.energy()
		c := t.coherence()
		if e < 0.08*ref || c < 0.3 {
			continue
		}
		strong[i] = true
		deg := t.orientation() * 180 / math.Pi // (-90, 90]
		bin := int(math.Floor(deg+90)) % bins
		if bin < 0 {
			bin += bins
		}
		hist[bin] += math.Min(e/ref, 1) * c * c
	}
	// Smooth circularly and take up to three separated peaks.
	var sm [bins]float64
	for i := range hist {
		for d := -2; d <= 2; d++ {
			w := 3 - math.Abs(float64(d))
			sm[i] += w * hist[(i+d+bins)%bins]
		}
	}
	var peaks []int
	used := [bins]bool{}
	for len(peaks) < 3 {
		best, bi := 0.0, -1
		for i, v := range sm {
			if !used[i] && v > best {
				best, bi = v, i
			}
		}
		if bi < 0 || (len(peaks) > 0 && best < 0.15*sm[peaks[0]]) {
			break
		}
		peaks = append(peaks, bi)
		for d := -10; d <= 10; d++ {
			used[(bi+d+bins)%bins] = true
		}
	}
	var cands []candidate
	for _, pk := range peaks {
		peakAngle := (float64(pk) + 0.5 - 90) * math.Pi / 180
		cands = append(cands, regionsAt(tiles, strong, tw, th, peakAngle)...)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if len(cands) > 4 {
		cands = cands[:4]
	}
	return cands
}

// angleDiff is the difference of two orientations modulo pi, in [0, pi/2].
func angleDiff(a, b float64) float64 {
	d := math.Mod(math.Abs(a-b), math.Pi)
	if d > math.Pi/2 {
		d = math.Pi - d
	}
	return d
}

// regionsAt groups the strong tiles oriented near angle into connected
// blobs (ignoring thin lines such as card edges) and returns them as
// candidates with a refined angle and an oriented bounding box.
func regionsAt(tiles []tileStat, strong []bool, tw, th int, angle float64) []candidate {
	const tol = 6 * math.Pi / 180
	mask := make([]bool, len(tiles))
	for i, t := range tiles {
		if strong[i] && angleDiff(t.orientation(), angle) < tol {
			mask[i] = true
		}
	}
	// Opening-like filter: keep tiles with enough masked neighbours, which
	// drops one-tile-wide lines and isolated tiles.
	core := make([]bool, len(tiles))
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			if !mask[y*tw+x] {
				continue
			}
			n := 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if (dx != 0 || dy != 0) && xx >= 0 && yy >= 0 && xx < tw && yy < th && mask[yy*tw+xx] {
						n++
					}
				}
			}
			core[y*tw+x] = n >= 4
		}
	}
	// Connected components of the core (8-connectivity), bridging one-tile
	// gaps, grown back into the mask.
	label := make([]int, len(tiles))
	var cands []candidate
	var blobs [][]int
	next := 0
	stack := []int{}
	for start := range core {
		if !core[start] || label[start] != 0 {
			continue
		}
		next++
		label[start] = next
		stack = append(stack[:0], start)
		members := []int{}
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			members = append(members, i)
			x, y := i%tw, i/tw
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= tw || yy >= th {
						continue
					}
					j := yy*tw + xx
					if label[j] != 0 {
						continue
					}
					near := dx >= -1 && dx <= 1 && dy >= -1 && dy <= 1
					if core[j] || (near && mask[j]) {
						label[j] = next
						if core[j] {
							stack = append(stack, j)
						} else {
							members = append(members, j)
						}
					}
				}
			}
		}
		if len(members) < 6 {
			continue
		}
		blobs = append(blobs, members)
		cands = append(cands, blobCandidate(tiles, members, tw, angle))
	}
	// A blurred or low-resolution barcode may fall apart into several
	// blobs: also offer the union of the substantial ones.
	if len(cands) > 1 {
		best := 0.0
		for _, c := range cands {
			best = math.Max(best, c.score)
		}
		var union []int
		parts := 0
		for i, c := range cands {
			if c.score >= 0.2*best {
				union = append(union, blobs[i]...)
				parts++
			}
		}
		if parts > 1 {
			u := blobCandidate(tiles, union, tw, angle)
			u.score *= 0.9 // prefer a single compact blob of the same size
			cands = append(cands, u)
		}
	}
	return cands
}

// blobCandidate refines the orientation of a blob of tiles (energy-weighted
// mean of doubled angles) and measures its oriented bounding box.
func blobCandidate(tiles []tileStat, members []int, tw int, angle float64) candidate {
	var sx, sy, sw float64
	var jxx, jyy, jxy float64
	for _, i := range members {
		t := tiles[i]
		jxx += t.jxx
		jyy += t.jyy
		jxy += t.jxy
		w := t.energy()
		sx += w * (float64(i%tw) + 0.5)
		sy += w * (float64(i/tw) + 0.5)
		sw += w
	}
	refined := tileStat{jxx, jyy, jxy}.orientation()
	if angleDiff(refined, angle) > 8*math.Pi/180 {
		refined = angle
	}
	// Oriented extent of the tile centres around the centroid.
	cx, cy := sx/sw, sy/sw
	cs, sn := math.Cos(refined), math.Sin(refined)
	minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, i := range members {
		dx, dy := float64(i%tw)+0.5-cx, float64(i/tw)+0.5-cy
		u := dx*cs + dy*sn
		v := -dx*sn + dy*cs
		minU, maxU = math.Min(minU, u), math.Max(maxU, u)
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
	}
	// Centre of the box, and size with a margin for the tiles' own extent,
	// the start and stop patterns (whose thick bars give weak tiles) and
	// the quiet zone: 3 tiles plus 6% across the bars, 2 tiles along them.
	mu, mv := (minU+maxU)/2, (minV+maxV)/2
	ccx := cx + mu*cs - mv*sn
	ccy := cy + mu*sn + mv*cs
	w := (maxU-minU)*1.12 + 6
	h := maxV - minV + 4
	w *= tileSize
	h *= tileSize
	coh := tileStat{jxx, jyy, jxy}.coherence()
	return candidate{
		cx: ccx * tileSize, cy: ccy * tileSize,
		w: w, h: h,
		angle: refined,
		score: float64(len(members)) * coh,
	}
}
