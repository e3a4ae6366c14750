package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/pdf417"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/app/idscan"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// newScanEnv is newEnv with the licence scanner main.go wires in.
func newScanEnv(t testing.TB) *env {
	t.Helper()
	e := &env{Env: storetest.New(t, app.Config{Scanner: idscan.Scanner{}})}
	e.api = httpapi.New(e.App, nil)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	return e
}

// Licence photos for the tests: an AAMVA payload written from the
// standard's element list, drawn as a PDF417 symbol on a card, and the card
// "photographed" rotated on a textured table, lit unevenly and
// JPEG-compressed. (A minimal copy of app/idscan's test fixtures.)

type licence struct {
	first, middle, last  string
	dob, issue, expiry   string // MMDDCCYY, as US cards write them
	street, city, state  string
	postal, number, iin  string
	aamvaVersion, module int
}

// licenceExpiry: 12 April four years on (the test clock starts at now).
var licenceExpiry = time.Now().Year() + 4

var janeDoe = licence{
	first: "JANE", middle: "QUINN", last: "DOE",
	dob: "04121985", issue: "06012021", expiry: fmt.Sprintf("0412%d", licenceExpiry),
	street: "123 MAIN ST", city: "SACRAMENTO", state: "CA", postal: "958140000",
	number: "D1234567", iin: "636014", aamvaVersion: 10, module: 3,
}

// payload writes the licence as an AAMVA DL/ID payload: header, subfile
// directory, a DL subfile and a jurisdiction subfile.
func (l licence) payload() []byte {
	dl := "DL" + strings.Join([]string{
		"DCAC", "DCBNONE", "DCDNONE", "DBA" + l.expiry, "DCS" + l.last, "DAC" + l.first, "DAD" + l.middle,
		"DBD" + l.issue, "DBB" + l.dob, "DBC2", "DAYBRO", "DAU065 in", "DAG" + l.street, "DAI" + l.city,
		"DAJ" + l.state, "DAK" + l.postal, "DAQ" + l.number, "DCF83D9BN217QO983B1", "DCGUSA",
		"DDEN", "DDFN", "DDGN",
	}, "\n") + "\r"
	z := "ZCZCAORIGINAL\nZCB01\r"
	header := fmt.Sprintf("@\n\x1e\rANSI %s%02d%02d%02d", l.iin, l.aamvaVersion, 1, 2)
	off := len(header) + 2*10
	dir := fmt.Sprintf("DL%04d%04dZC%04d%04d", off, len(dl), off+len(dl), len(z))
	return []byte(header + dir + dl + z)
}

// photo draws payload as a PDF417 symbol on a card and photographs the card
// rotated by angle degrees.
func photo(t testing.TB, payload []byte, module int, angle float64, seed uint64) []byte {
	t.Helper()
	// boombuler/barcode v1.1.0 writes a wrong left row indicator unless the
	// row count is a multiple of three: pick an error correction level
	// that gives such a symbol.
	for _, ec := range []byte{5, 4, 3, 6, 2, 7} {
		code, err := pdf417.Encode(string(payload), ec)
		if err == nil && (code.Bounds().Dy()/2)%3 == 0 {
			return photograph(t, card(code, module), angle, seed)
		}
	}
	t.Fatalf("no PDF417 symbol with a row count divisible by 3 for %q", payload)
	return nil
}

// card draws the back of a card: a tinted background with a wavy security
// print, lines of text, and the PDF417 symbol (rows three modules high) in
// a white quiet zone.
func card(code barcode.Barcode, module int) *image.RGBA {
	modules, rows := code.Bounds().Dx(), code.Bounds().Dy()/2
	bw, bh := modules*module, rows*module*3
	w := bw * 100 / 85
	h := int(float64(w) / 1.586)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			wave := 8 * math.Sin(float64(x)/23+3*math.Sin(float64(y)/41))
			img.SetRGBA(x, y, color.RGBA{clamp(232 + wave), clamp(236 + wave*0.6), clamp(228 - wave*0.4), 255})
		}
	}
	for i := 0; i < 3; i++ { // text-like blocks
		for x := w / 16; x < w-w/16; x += 9 {
			fill(img, image.Rect(x, h/16+i*18, x+6, h/16+i*18+10), color.RGBA{40, 40, 60, 255})
		}
	}
	x0, y0 := (w-bw)/2, h/16+3*18+h/20
	q := 2 * module
	fill(img, image.Rect(x0-q, y0-q, x0+bw+q, y0+bh+q), color.RGBA{255, 255, 255, 255})
	for r := 0; r < rows; r++ {
		for m := 0; m < modules; m++ {
			if c, _, _, _ := code.At(m, r*2).RGBA(); c < 0x8000 {
				fill(img, image.Rect(x0+m*module, y0+r*module*3, x0+(m+1)*module, y0+(r+1)*module*3), color.RGBA{20, 20, 25, 255})
			}
		}
	}
	return img
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v+0.5))) }

// photograph places the card, rotated, on a noisy table in a 1280×960
// photo with uneven light, and encodes it as JPEG.
func photograph(t testing.TB, c *image.RGBA, angle float64, seed uint64) []byte {
	t.Helper()
	const W, H = 1280, 960
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	cw, ch := float64(c.Bounds().Dx()), float64(c.Bounds().Dy())
	scale := 0.7 * W / cw
	th := angle * math.Pi / 180
	cs, sn := math.Cos(th), math.Sin(th)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			fx, fy := float64(x)+0.5-W/2, float64(y)+0.5-H/2
			u := (fx*cs+fy*sn)/scale + cw/2
			v := (-fx*sn+fy*cs)/scale + ch/2
			light := 0.85 + 0.2*float64(x)/W - 0.1*float64(y)/H
			nz := (rng.Float64() - 0.5) * 10
			var r, g, b float64
			if u >= 0 && v >= 0 && u < cw-1 && v < ch-1 {
				r, g, b = bilinear(c, u-0.5, v-0.5)
			} else {
				k := 0.8 + 0.4*rng.Float64()
				r, g, b = 90*k, 70*k, 50*k
			}
			out.SetRGBA(x, y, color.RGBA{clamp(r*light + nz), clamp(g*light + nz), clamp(b*light + nz), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bilinear(img *image.RGBA, x, y float64) (r, g, b float64) {
	x, y = math.Max(x, 0), math.Max(y, 0)
	x0, y0 := int(x), int(y)
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) color.RGBA {
		return img.RGBAAt(min(x, img.Bounds().Dx()-1), min(y, img.Bounds().Dy()-1))
	}
	p00, p01, p10, p11 := at(x0, y0), at(x0+1, y0), at(x0, y0+1), at(x0+1, y0+1)
	mix := func(a, b, c, d uint8) float64 {
		return float64(a)*(1-fx)*(1-fy) + float64(b)*fx*(1-fy) + float64(c)*(1-fx)*fy + float64(d)*fx*fy
	}
	return mix(p00.R, p01.R, p10.R, p11.R), mix(p00.G, p01.G, p10.G, p11.G), mix(p00.B, p01.B, p10.B, p11.B)
}

// plainPNG is a photo with no barcode at all: a gradient with noise.
func plainPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := rng.Float64() * 20
			img.SetRGBA(x, y, color.RGBA{clamp(float64(x*200/w) + n), clamp(float64(y*200/h) + n), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngHeader is a PNG that announces w×h pixels and ends after its header.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

// upload sends credential_type and credential_image as a multipart file part.
func (e *env) upload(t testing.TB, token, typ string, img []byte) resp {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("token", token)
	w.WriteField("credential_type", typ)
	fw, _ := w.CreateFormFile("credential_image", "photo.jpg")
	fw.Write(img)
	w.Close()
	return e.do(t, "POST", "/api/v1/profile/add-credential", w.FormDataContentType(), &buf)
}

// dob is what app.DateOfBirth says for the token's user.
func (e *env) dob(t testing.TB, token string) (string, bool, bool) {
	t.Helper()
	ctx := context.Background()
	p, err := e.App.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	var d time.Time
	var fromCred, ok bool
	if err := e.DB.View(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		d, fromCred, ok, err = app.DateOfBirth(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return d.Format(app.DateLayout), fromCred, ok
}

func (e *env) registerNamed(t testing.TB, name, email string) string {
	t.Helper()
	r := e.form(t, "POST", "/api/v1/users/register", "name", name, "email", email, "password", pw)
	want(t, r, 201, "success", "")
	return r.str("token")
}

func problems(r resp) []string {
	var out []string
	list, _ := r.Body["problems"].([]any)
	for _, p := range list {
		s, _ := p.(string)
		out = append(out, s)
	}
	return out
}

func extracted(r resp) map[string]any { m, _ := r.Body["extracted"].(map[string]any); return m }

// TestAddCredentialLicence is the whole life of licence photos: a verified
// licence at 10°, an expired one, a name mismatch; pending credentials do
// not feed age claims, a confirmed verified one does and fills the profile
// on request; reject deletes; the list and the image; nothing in clear on
// disk.
func TestAddCredentialLicence(t *testing.T) {
	e := newScanEnv(t)
	e.Clock.Set(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	tok := e.registerNamed(t, "Jane Doe", "jane@example.org")
	ctx := context.Background()
	p, _ := e.App.Authenticate(ctx, tok)
	// A self-declared date of birth in the profile, which a confirmed
	// verified licence overrides.
	if err := e.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
		return tx.Put(app.Cell{Entity: app.EntityField, ID: "date_of_birth", Field: "value", Value: []byte(`"1999-01-01"`)})
	}); err != nil {
		t.Fatal(err)
	}

	// A verified licence, rotated 10°, as a multipart file.
	goodPhoto := photo(t, janeDoe.payload(), 3, 10, 1)
	r := e.upload(t, tok, "Driver's License", goodPhoto)
	want(t, r, 201, "success", "")
	if r.str("verification") != "verified" || len(problems(r)) != 0 || r.str("credential_status") != "pending" || r.str("credential_type") != "drivers_license" {
		t.Fatalf("verified licence: %s", r.Raw)
	}
	ex := extracted(r)
	if ex["first_name"] != "JANE" || ex["last_name"] != "DOE" || ex["date_of_birth"] != "1985-04-12" ||
		ex["expiry_date"] != fmt.Sprintf("%d-04-12", licenceExpiry) || ex["issue_date"] != "2021-06-01" || ex["issuer"] != "California" ||
		ex["document_number"] != "••••4567" {
		t.Fatalf("extracted: %v", ex)
	}
	if addr, _ := ex["address"].(map[string]any); addr["street"] != "123 MAIN ST" || addr["city"] != "SACRAMENTO" || addr["postal_code"] != "95814" {
		t.Fatalf("address: %v", ex["address"])
	}
	if bytes.Contains(r.Raw, []byte(janeDoe.number)) {
		t.Fatalf("full document number in the response: %s", r.Raw)
	}
	goodID := r.str("credential_id")

	// Pending: the licence's date of birth does not feed age claims.
	if d, fromCred, ok := e.dob(t, tok); !ok || fromCred || d != "1999-01-01" {
		t.Fatalf("pending licence fed the date of birth: %s %v %v", d, fromCred, ok)
	}

	// An expired licence, as a data: URL in JSON.
	old := janeDoe
	old.issue, old.expiry, old.number = "04122016", "04122024", "E7654321"
	expPhoto := photo(t, old.payload(), 3, -6, 2)
	r = e.json(t, "POST", "/api/v1/profile/add-credential", map[string]any{
		"token": tok, "credential_type": "id_card",
		"credential_image": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(expPhoto),
	})
	want(t, r, 201, "success", "")
	if r.str("verification") != "expired" || len(problems(r)) != 1 || !strings.Contains(problems(r)[0], "2024-04-12") {
		t.Fatalf("expired licence: %s", r.Raw)
	}
	expID := r.str("credential_id")
	// Confirming an expired licence keeps it, but it vouches for no age.
	r = e.form(t, "POST", "/api/v1/profile/credentials/"+expID+"/confirm", "token", tok)
	want(t, r, 200, "success", "")
	if d, fromCred, _ := e.dob(t, tok); fromCred || d != "1999-01-01" {
		t.Fatalf("expired licence fed the date of birth: %s", d)
	}

	// Confirm the verified one, filling the profile.
	r = e.form(t, "POST", "/api/v1/profile/credentials/"+goodID+"/confirm", "token", tok, "fill_profile", "true")
	want(t, r, 200, "success", "")
	if r.str("credential_status") != "confirmed" || fmt.Sprint(r.Body["filled"]) != "[name address]" {
		t.Fatalf("confirm: %s", r.Raw)
	}
	if d, fromCred, ok := e.dob(t, tok); !ok || !fromCred || d != "1985-04-12" {
		t.Fatalf("confirmed licence: date of birth %s %v %v", d, fromCred, ok)
	}
	prof := e.form(t, "GET", "/api/v1/profile", "token", tok)
	fields, _ := prof.Body["fields"].(map[string]any)
	name, _ := fields["name"].(map[string]any)
	addr, _ := fields["address"].(map[string]any)
	if name["value"] != "Jane Quinn Doe" || name["ring"] != "public" || addr["value"] != "123 MAIN ST, SACRAMENTO, CA 95814" || addr["ring"] != "private" {
		t.Fatalf("filled profile: %s", prof.Raw)
	}

	// The list: both, never the image or the full number.
	r = e.form(t, "GET", "/api/v1/profile/credentials", "token", tok)
	want(t, r, 200, "success", "")
	var list struct {
		Credentials []struct {
			ID           string          `json:"credential_id"`
			Type         string          `json:"type"`
			Status       string          `json:"status"`
			Verification string          `json:"verification"`
			Extracted    json.RawMessage `json:"extracted"`
			ConfirmedAt  *time.Time      `json:"confirmed_at"`
		} `json:"credentials"`
	}
	json.Unmarshal(r.Raw, &list)
	if len(list.Credentials) != 2 || list.Credentials[0].ID != goodID || list.Credentials[0].Status != "confirmed" ||
		list.Credentials[0].ConfirmedAt == nil || list.Credentials[1].ID != expID || list.Credentials[1].Verification != "expired" ||
		!bytes.Contains(list.Credentials[0].Extracted, []byte("4567")) {
		t.Fatalf("list: %s", r.Raw)
	}
	if bytes.Contains(r.Raw, []byte(janeDoe.number)) || bytes.Contains(r.Raw, []byte(old.number)) || len(r.Raw) > 8<<10 {
		t.Fatalf("list leaks the number or the image: %s", r.Raw)
	}

	// The image, as uploaded, with its content type; only for its owner.
	img := e.do(t, "GET", "/api/v1/profile/credentials/"+goodID+"/image", "", nil, "Authorization", "Bearer "+tok)
	if img.Code != 200 || img.Header.Get("Content-Type") != "image/jpeg" || !bytes.Equal(img.Raw, goodPhoto) {
		t.Fatalf("image: %d %s, %d bytes", img.Code, img.Header.Get("Content-Type"), len(img.Raw))
	}
	other := e.registerNamed(t, "Eve", "eve@example.org")
	want(t, e.form(t, "GET", "/api/v1/profile/credentials/"+goodID+"/image", "token", other), 404, "credential_id does not exist!", "credential_not_found")
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+goodID+"/confirm", "token", other), 404, "credential_id does not exist!", "credential_not_found")
	want(t, e.form(t, "GET", "/api/v1/profile/credentials/"+goodID+"/image"), 401, "token must exist!", "token_missing")

	// Reject deletes the expired one.
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+expID+"/reject", "token", tok), 200, "success", "")
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+expID+"/reject", "token", tok), 404, "credential_id does not exist!", "credential_not_found")
	want(t, e.form(t, "GET", "/api/v1/profile/credentials/"+expID+"/image", "token", tok), 404, "credential_id does not exist!", "credential_not_found")
	r = e.form(t, "GET", "/api/v1/profile/credentials", "token", tok)
	if n := len(r.Body["credentials"].([]any)); n != 1 {
		t.Fatalf("after reject: %s", r.Raw)
	}

	// Nothing of the documents in clear on disk: the numbers, the address,
	// and runs of the images' bytes.
	needles := map[string][]byte{
		"document number":         []byte(janeDoe.number),
		"expired document number": []byte(old.number),
		"street":                  []byte(janeDoe.street),
		"city":                    []byte(janeDoe.city),
	}
	for _, ph := range []struct {
		name string
		b    []byte
	}{{"licence photo", goodPhoto}, {"expired photo", expPhoto}} {
		for i := 1; i <= 4; i++ {
			at := len(ph.b) * i / 5
			needles[fmt.Sprintf("%s bytes at %d", ph.name, at)] = ph.b[at : at+32]
		}
	}
	scanDir(t, e, needles)
	e.srv.Close()
	e.DB.Close() // checkpoints the WAL into the database file
	scanDir(t, e, needles)
}

// scanDir reads every file of the data directory and reports any needle
// found in clear.
func scanDir(t *testing.T, e *env, needles map[string][]byte) {
	t.Helper()
	files := 0
	filepath.Walk(e.Dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for name, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s found in clear in %s", name, filepath.Base(path))
			}
		}
		return nil
	})
	if files < 2 {
		t.Fatalf("scanned only %d files", files)
	}
}

// TestAddCredentialNameMismatch: a licence that is not the profile's
// holder fails verification, says why, and is kept pending like any other.
func TestAddCredentialNameMismatch(t *testing.T) {
	e := newScanEnv(t)
	e.Clock.Set(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	tok := e.registerNamed(t, "Ada Lovelace", "ada@example.org")
	ph := photo(t, janeDoe.payload(), 3, 4, 3)
	// As a base64 string in a url-encoded form field.
	r := e.form(t, "POST", "/api/v1/profile/add-credential", "token", tok, "credential_type", "DRIVER'S LICENCE",
		"credential_image", base64.StdEncoding.EncodeToString(ph))
	want(t, r, 201, "success", "")
	if r.str("verification") != "failed" || fmt.Sprint(problems(r)) != "[name on the document does not match the profile name]" {
		t.Fatalf("name mismatch: %s", r.Raw)
	}
	// Confirmed or not, a failed licence vouches for no date of birth.
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+r.str("credential_id")+"/confirm", "token", tok), 200, "success", "")
	if _, _, ok := e.dob(t, tok); ok {
		t.Fatal("a failed licence gave a date of birth")
	}
}

// TestAddCredentialBadInput: every kind of bad photo gets its own 4xx.
func TestAddCredentialBadInput(t *testing.T) {
	e := newScanEnv(t)
	tok := e.register(t, "bad@example.org").str("token")
	add := "/api/v1/profile/add-credential"

	// Parameters.
	want(t, e.form(t, "POST", add, "credential_type", "passport", "credential_image", "i"), 401, "token must exist!", "token_missing")
	want(t, e.form(t, "POST", add, "token", tok, "credential_image", "i"), 400, "credential_type,credential_image must exist!", "missing_parameter")
	want(t, e.form(t, "POST", add, "token", tok, "credential_type", "passport"), 400, "credential_type,credential_image must exist!", "missing_parameter")
	want(t, e.form(t, "POST", add, "token", tok, "credential_type", " ", "credential_image", "i"), 400, "credential_type,credential_image must exist!", "missing_parameter")
	want(t, e.upload(t, tok, "passport", nil), 400, "credential_type,credential_image must exist!", "missing_parameter")
	want(t, e.form(t, "POST", add, "token", tok, "credential_type", strings.Repeat("x", 65), "credential_image", "i"), 400, "credential_type format error!", "invalid_credential_type")
	want(t, e.form(t, "GET", add, "token", tok), 405, "post required", "method_not_allowed")

	// Not images: the legacy suite's "i", text bytes as a file, text in base64.
	want(t, e.form(t, "POST", add, "token", tok, "credential_type", "drivers_license", "credential_image", "i"), 415, "credential_image must be an image!", "not_an_image")
	want(t, e.upload(t, tok, "drivers_license", []byte("this is a text file, not a photo of a licence\n")), 415, "credential_image must be an image!", "not_an_image")
	want(t, e.json(t, "POST", add, map[string]any{"token": tok, "credential_type": "passport",
		"credential_image": base64.StdEncoding.EncodeToString([]byte("%PDF-1.7 not an image"))}), 415, "credential_image must be an image!", "not_an_image")

	// A truncated JPEG: its header reads, its pixels do not.
	plain := plainPNG(t, 320, 240)
	im, _ := png.Decode(bytes.NewReader(plain))
	var jb bytes.Buffer
	jpeg.Encode(&jb, im, &jpeg.Options{Quality: 90})
	truncated := jb.Bytes()[:jb.Len()/2]
	want(t, e.upload(t, tok, "drivers_license", truncated), 415, "credential_image must be an image!", "not_an_image")
	want(t, e.upload(t, tok, "passport", truncated), 415, "credential_image must be an image!", "not_an_image")

	// A header announcing 100 megapixels: refused before decoding.
	huge := pngHeader(10000, 10000)
	want(t, e.upload(t, tok, "drivers_license", huge), 413, "credential_image is too large!", "image_too_large")
	want(t, e.upload(t, tok, "passport", huge), 413, "credential_image is too large!", "image_too_large")

	// Over the 16 MiB upload cap.
	want(t, e.upload(t, tok, "passport", bytes.Repeat([]byte{0xff}, 16<<20+1)), 413, "request body is too large!", "body_too_large")

	// A photo with no barcode.
	want(t, e.upload(t, tok, "id_card", plain), 422, "credential_image could not be read!", "unreadable_barcode")

	// A PDF417 barcode that is not an AAMVA licence.
	notAAMVA := photo(t, []byte("WAREHOUSE 7 / SHELF 42 / PALLET 0042-9 / THIS IS NOT A DRIVER LICENCE"), 3, 7, 5)
	want(t, e.upload(t, tok, "drivers_license", notAAMVA), 422, "credential_image could not be read!", "not_aamva")

	// None of that was stored.
	r := e.form(t, "GET", "/api/v1/profile/credentials", "token", tok)
	if n := len(r.Body["credentials"].([]any)); n != 0 {
		t.Fatalf("bad uploads were stored: %s", r.Raw)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/nope/confirm", "token", tok, "fill_profile", "maybe"), 400, "fill_profile must be true or false!", "invalid_parameter")
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/nope/confirm", "token", tok), 404, "credential_id does not exist!", "credential_not_found")
}

// TestAddCredentialOtherTypes: a passport is kept as an unverified
// document, image only, sealed, and can be read back.
func TestAddCredentialOtherTypes(t *testing.T) {
	e := newScanEnv(t)
	tok := e.register(t, "passport@example.org").str("token")
	img := plainPNG(t, 200, 150)
	r := e.upload(t, tok, "Passport", img)
	want(t, r, 201, "success", "")
	if r.str("verification") != "unverified" || r.str("credential_type") != "Passport" || len(extracted(r)) != 0 || r.str("credential_status") != "pending" {
		t.Fatalf("passport: %s", r.Raw)
	}
	id := r.str("credential_id")
	got := e.do(t, "GET", "/api/v1/profile/credentials/"+id+"/image?token="+tok, "", nil)
	if got.Code != 200 || got.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got.Raw, img) {
		t.Fatalf("image: %d %q", got.Code, got.Header.Get("Content-Type"))
	}
	// Confirming with fill_profile fills nothing: there are no fields.
	r = e.json(t, "POST", "/api/v1/profile/credentials/"+id+"/confirm", map[string]any{"fill_profile": true}, "Authorization", "Bearer "+tok)
	want(t, r, 200, "success", "")
	if fmt.Sprint(r.Body["filled"]) != "[]" {
		t.Fatalf("filled from a passport: %s", r.Raw)
	}
	if _, _, ok := e.dob(t, tok); ok {
		t.Fatal("a passport gave a date of birth")
	}
	needles := map[string][]byte{}
	for i := 1; i <= 4; i++ {
		at := len(img) * i / 5
		needles[fmt.Sprintf("image bytes at %d", at)] = img[at : at+32]
	}
	scanDir(t, e, needles)
}

// TestAddCredentialRateLimit: uploads count per user, readable or not.
func TestAddCredentialRateLimit(t *testing.T) {
	e := newScanEnv(t)
	tok := e.register(t, "limit@example.org").str("token")
	for i := 0; i < app.CredentialScanLimit; i++ {
		want(t, e.upload(t, tok, "drivers_license", []byte("text")), 415, "credential_image must be an image!", "not_an_image")
	}
	r := e.upload(t, tok, "drivers_license", []byte("text"))
	want(t, r, 429, "too many attempts, try again later!", "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another user is not limited.
	other := e.register(t, "other@example.org").str("token")
	want(t, e.upload(t, other, "drivers_license", []byte("text")), 415, "credential_image must be an image!", "not_an_image")
	e.Clock.Advance(app.CredentialScanWindow + time.Second)
	want(t, e.upload(t, tok, "drivers_license", []byte("text")), 415, "credential_image must be an image!", "not_an_image")
}

// BenchmarkAddCredentialLicence is add-credential end to end for a
// verified licence: a 1280×960 JPEG of a card rotated 10°, sent as a
// multipart file, its barcode found, decoded, parsed and verified, and the
// credential sealed and stored.
func BenchmarkAddCredentialLicence(b *testing.B) {
	e := newScanEnv(b)
	e.Clock.Set(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	tok := e.registerNamed(b, "Jane Doe", "bench@example.org")
	ph := photo(b, janeDoe.payload(), 3, 10, 1)
	b.SetBytes(int64(len(ph)))
	for b.Loop() {
		r := e.upload(b, tok, "drivers_license", ph)
		if r.Code != 201 || r.str("verification") != "verified" {
			b.Fatalf("%d %s", r.Code, r.Raw)
		}
		// Stay under the per-user upload limit.
		e.Clock.Advance(app.CredentialScanWindow/app.CredentialScanLimit + time.Second)
	}
}

// TestAddCredentialWithoutScanner: a server built without the licence
// scanner still takes every credential, as an unverified document: a
// licence says it was not read and vouches for nothing; what has no image
// signature is still refused.
func TestAddCredentialWithoutScanner(t *testing.T) {
	e := newEnv(t)
	tok := e.registerNamed(t, "Jane Doe", "jane@example.org")
	r := e.upload(t, tok, "Passport", plainPNG(t, 200, 150))
	want(t, r, 201, "success", "")
	if r.str("verification") != "unverified" || len(problems(r)) != 0 || len(extracted(r)) != 0 {
		t.Fatalf("passport: %s", r.Raw)
	}
	r = e.upload(t, tok, "Driver's License", photo(t, janeDoe.payload(), 3, 4, 3))
	want(t, r, 201, "success", "")
	if r.str("verification") != "unverified" || r.str("credential_type") != "drivers_license" || len(extracted(r)) != 0 ||
		fmt.Sprint(problems(r)) != "[the barcode was not read: this installation has no licence scanner]" {
		t.Fatalf("licence: %s", r.Raw)
	}
	want(t, e.form(t, "POST", "/api/v1/profile/credentials/"+r.str("credential_id")+"/confirm", "token", tok, "fill_profile", "true"), 200, "success", "")
	if _, _, ok := e.dob(t, tok); ok {
		t.Fatal("an unread licence gave a date of birth")
	}
	want(t, e.upload(t, tok, "drivers_license", []byte("text")), 415, "credential_image must be an image!", "not_an_image")
}
