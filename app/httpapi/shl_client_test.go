package httpapi_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/nodetest"
)

// An SHL client we did not write: panva's jose (npm) follows the protocol
// against our listener — decode the shlink, POST the manifest with
// recipient and passcode, take the embedded file and then a location
// file, decrypt every JWE with the key — and prints what it got.
const joseSHLClient = `
import { compactDecrypt, base64url } from "jose";
const [shlink, passcode] = process.argv.slice(2);
const payload = JSON.parse(new TextDecoder().decode(base64url.decode(shlink.slice(shlink.indexOf("shlink:/") + 8))));
const key = base64url.decode(payload.key);
if (key.length !== 32) throw new Error("key of " + key.length + " bytes");
const out = [];
for (const extra of [{}, { embeddedLengthMax: 0 }]) {
  const res = await fetch(payload.url, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ recipient: "jose SHL client", passcode, ...extra }) });
  if (!res.ok) throw new Error("manifest " + res.status + " " + await res.text());
  const m = await res.json();
  for (const f of m.files) {
    let jwe = f.embedded, how = "embedded";
    if (!jwe) {
      how = "location";
      const r = await fetch(f.location);
      if (!r.ok) throw new Error("location " + r.status);
      jwe = await r.text();
    }
    const { plaintext, protectedHeader } = await compactDecrypt(jwe, key);
    out.push({ how, contentType: f.contentType, header: protectedHeader, bundle: JSON.parse(new TextDecoder().decode(plaintext)) });
  }
}
delete payload.key;
console.log(JSON.stringify({ payload, files: out }));
`

func TestSHLReadByJose(t *testing.T) {
	e := newEnv(t)
	startMail(t, e)
	_, link, _ := shlSetup(t, e, "passcode", "river-stone")
	out, err := nodetest.Run(t, joseSHLClient, link.str("shlink"), "river-stone")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Payload struct {
			Flag  string `json:"flag"`
			V     int    `json:"v"`
			Label string `json:"label"`
		} `json:"payload"`
		Files []struct {
			How         string            `json:"how"`
			ContentType string            `json:"contentType"`
			Header      map[string]string `json:"header"`
			Bundle      json.RawMessage   `json:"bundle"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Payload.Flag != "LP" || got.Payload.V != 1 || len(got.Files) != 2 || got.Files[0].How != "embedded" || got.Files[1].How != "location" {
		t.Fatalf("jose got: %s", out)
	}
	for _, f := range got.Files {
		if f.ContentType != "application/fhir+json" || f.Header["alg"] != "dir" || f.Header["enc"] != "A256GCM" {
			t.Fatalf("file: %+v", f)
		}
		validFHIR(t, f.Bundle)
		if b := readBundle(t, f.Bundle); strings.Join(b.types(), ",") != "Patient,AllergyIntolerance,Immunization,Observation" || !bytes.Contains(f.Bundle, []byte("penicillin")) {
			t.Fatalf("bundle: %s", f.Bundle)
		}
	}
}

// TestSHLViewerInChromium opens the access link in a real browser: the
// viewer page asks the manifest and decrypts the file with WebCrypto
// under its strict CSP, and shows the records.
func TestSHLViewerInChromium(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	startMail(t, e)
	tok, link, _ := shlSetup(t, e, "passcode", "river-stone")
	waitText := func(sel, want string) string {
		t.Helper()
		var text string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var err error
			text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+"`"+sel+"`"+`)||{}).innerText||""`))
			if err == nil && strings.Contains(text, want) {
				return text
			}
		}
		t.Fatalf("%s shows %q, not %q", sel, text, want)
		return ""
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(link.str("access_link")),
		chromedp.WaitVisible(chromedp.ID("recipient")),
		chromedp.SendKeys(chromedp.ID("recipient"), "Dr. Okafor"),
		chromedp.SendKeys(chromedp.ID("passcode"), "wrong guess"),
		chromedp.Click(chromedp.ID("open")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitText("#status", "9 attempts left")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("passcode").value = ""`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("passcode"), "river-stone"),
		chromedp.Click(chromedp.ID("open")),
	); err != nil {
		t.Fatal(err)
	}
	records := waitText("#records", "Tetanus")
	for _, w := range []string{"Allergy", "penicillin", "Immunization", "Date: 2024-03-01", "Vital Signs", "120/80 mmHg"} {
		if !strings.Contains(records, w) {
			t.Fatalf("records show %q, not %q", records, w)
		}
	}
	waitText("#patient", "Ada Lovelace, born 1990-12-10")
	waitText("#status", "Decrypted in this browser")
	if ok, err := styled(ctx); err != nil || !ok {
		t.Fatalf("the page's style was blocked: %v", err)
	}
	ls := e.form(t, "GET", linksPath, "token", tok)
	if !strings.Contains(string(ls.Raw), `"recipient":"Dr. Okafor"`) || !strings.Contains(string(ls.Raw), "Chrome") {
		t.Fatalf("openings: %s", ls.Raw)
	}
}

// BenchmarkSHLManifest: a manifest request with its passcode-free link:
// token lookup, the view opened, the file handed out, the request logged.
func BenchmarkSHLManifest(b *testing.B) {
	e := newEnv(b)
	_, _, p := shlSetup(b, e)
	body := map[string]any{"recipient": "bench"}
	b.ResetTimer()
	for b.Loop() {
		if r := e.manifest(b, p, body); r.Code != 200 {
			b.Fatal(r.Code)
		}
	}
}

// BenchmarkSHLEncrypt100: the JWE (dir, A256GCM) of a 100-record Bundle.
func BenchmarkSHLEncrypt100(b *testing.B) {
	recs := make([]*app.HealthRecord, 100)
	for i := range recs {
		recs[i] = &app.HealthRecord{ID: app.NewID(), Type: []string{"allergies", "immunizations", "vitals", "notes"}[i%4],
			Data: json.RawMessage(`{"name":"Record","value":"120/80 mmHg","date":"2024-03-01"}`), CreatedAt: time.Now()}
	}
	bundle, err := app.FHIRBundleOf(recs, "Ada Lovelace", "1990-12-10")
	if err != nil {
		b.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	b.SetBytes(int64(len(bundle)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := app.EncryptSHLFile(key, bundle, "application/fhir+json"); err != nil {
			b.Fatal(err)
		}
	}
}
