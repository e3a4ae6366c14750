package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium (Debian's package) with a fresh
// profile and no background traffic; the test is skipped only when the
// browser is not installed.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("browser test skipped: " + chromiumPath + " is missing (install Debian's chromium package; `make test` does)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// styled reports whether the page's own stylesheet applied: the strict
// CSP allows exactly that inline style, by its hash.
func styled(ctx context.Context) (bool, error) {
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	return bg == "rgb(246, 247, 249)", err
}

// TestPagesInHeadlessChromium drives the responder's page and the doctor's
// page in a real browser: fill the form, submit, see the information.
func TestPagesInHeadlessChromium(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	tok := e.register(t, "browser@example.org").str("token")
	e.field(t, tok, "blood_type", "B positive")
	r := e.json(t, "POST", emergencyPath, map[string]any{
		"token": tok, "emergency_info": map[string]any{"allergies": "penicillin", "contact": "Mary Lovelace"},
		"info_field": []string{"name", "blood_type"}, "trusted_contacts": []string{"kin@example.org"},
	})
	want(t, r, 201, "success", "")
	secret := e.responder(t, "EMT-5", "Jo Kim", "Metro Fire")
	e.form(t, "POST", recordsPath, "token", tok, "record_type", "immunizations", "record_data", `{"vaccine":"Tetanus","date":"2024-03-01"}`)
	l := e.form(t, "POST", linkPath, "token", tok, "health_records_info", "immunizations", "link_format", "page", "doctor_email", "dr@example.org", "passcode", "river-stone")
	want(t, l, 201, "success", "")

	t.Run("responder", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+e.pagePath(t, r.str("emergency_url"))),
			chromedp.WaitVisible(chromedp.ID("responder_id")),
			chromedp.SendKeys(chromedp.ID("responder_id"), "EMT-5"),
			chromedp.SendKeys(chromedp.ID("reason"), "patient unconscious after a fall"),
			chromedp.SendKeys(chromedp.ID("responder_secret"), secret),
		)
		if err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("submit")))
		if err != nil || res.Status != 200 {
			t.Fatalf("submit: %v %v", res, err)
		}
		info, err1 := chromedp.Run(ctx, chromedp.Text(chromedp.ID("emergency-info")))
		fields, err2 := chromedp.Run(ctx, chromedp.Text(chromedp.ID("profile-fields")))
		status, err3 := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[role=status]")))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(info, "penicillin") || !strings.Contains(info, "Mary Lovelace") ||
			!strings.Contains(fields, "Ada Lovelace") || !strings.Contains(fields, "B positive") || !strings.Contains(status, "Access granted and logged") {
			t.Fatalf("page shows info=%q fields=%q status=%q", info, fields, status)
		}
		if ok, err := styled(ctx); err != nil || !ok {
			t.Fatalf("the page's style was blocked: %v", err)
		}
	})

	// A badge's QR code photographed and uploaded from the page.
	t.Run("responder with a badge", func(t *testing.T) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := e.App.TrustResponderOrg(context.Background(), "Metro Paramedics", pub); err != nil {
			t.Fatal(err)
		}
		now := e.Clock.Now()
		badge, err := app.IssueBadge(priv, app.Badge{ResponderID: "PM-3", Name: "Sam Lee", IssuedAt: now, Expires: now.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		png, err := qr.PNG(badge, 300)
		if err != nil {
			t.Fatal(err)
		}
		picture := filepath.Join(t.TempDir(), "badge.png")
		if err := os.WriteFile(picture, png, 0o600); err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+e.pagePath(t, r.str("emergency_url"))),
			chromedp.WaitVisible(chromedp.ID("responder_id")),
			chromedp.SendKeys(chromedp.ID("responder_id"), "PM-3"),
			chromedp.SendKeys(chromedp.ID("reason"), "cardiac arrest"),
			chromedp.SetUploadFiles(chromedp.ID("responder_credential_image"), []string{picture}),
		)
		if err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("submit")))
		if err != nil || res.Status != 200 {
			t.Fatalf("submit: %v %v", res, err)
		}
		info, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("emergency-info")))
		if err != nil || !strings.Contains(info, "penicillin") {
			t.Fatalf("page shows info=%q: %v", info, err)
		}
	})

	t.Run("doctor", func(t *testing.T) {
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.srv.URL+e.pagePath(t, l.str("access_link"))),
			chromedp.WaitVisible(chromedp.ID("passcode")),
			chromedp.SendKeys(chromedp.ID("passcode"), "wrong guess"),
		)
		if err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("submit")))
		if err != nil || res.Status != 403 {
			t.Fatalf("wrong passcode: %v %v", res, err)
		}
		errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("error")))
		if err != nil || errText != "passcode is wrong!" {
			t.Fatalf("error shown: %q %v", errText, err)
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("passcode"), "river-stone")); err != nil {
			t.Fatal(err)
		}
		res, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("submit")))
		if err != nil || res.Status != 200 {
			t.Fatalf("right passcode: %v %v", res, err)
		}
		records, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(records, "Immunizations") || !strings.Contains(records, "Tetanus") || !strings.Contains(records, "2024-03-01") {
			t.Fatalf("records=%q", records)
		}
		if ok, err := styled(ctx); err != nil || !ok {
			t.Fatalf("the page's style was blocked: %v", err)
		}
	})

	// Both visits are on the record.
	lg := e.form(t, "GET", logPath, "token", tok)
	if !strings.Contains(string(lg.Raw), `"reason":"patient unconscious after a fall"`) || !strings.Contains(string(lg.Raw), `"responder_organization":"Metro Paramedics"`) {
		t.Fatalf("grant not logged: %s", lg.Raw)
	}
	ls := e.form(t, "GET", linksPath, "token", tok)
	if !strings.Contains(string(ls.Raw), `"outcome":"wrong_passcode"`) || !strings.Contains(string(ls.Raw), `"outcome":"opened"`) || !strings.Contains(string(ls.Raw), "Chrome") {
		t.Fatalf("openings: %s", ls.Raw)
	}
}
