package ui_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/ui"
)

// verifyScreen opens the Verify a code dialog from the Sharing screen.
func verifyScreen(t *testing.T, u *ui.UI) *ui.VerifyScreen {
	t.Helper()
	s := sharingScreen(t, u)
	tap(s.VerifyButton)
	v := s.Verify
	ui.OnUI(func() {
		if v.Code == nil || !v.Code.Visible() {
			t.Fatal("the Verify a code screen is not shown")
		}
	})
	return v
}

// verifyText pastes text, taps Verify and waits for the verdict and any
// live status.
func verifyText(t *testing.T, u *ui.UI, v *ui.VerifyScreen, text string) {
	t.Helper()
	ui.OnUI(func() { v.Code.SetText(text) })
	tap(v.Check)
	waitFor(t, "the verdict", func() bool {
		return u.Shell.Idle() && v.Verdict.Visible() && !strings.HasPrefix(v.Live.Text, "Asking")
	})
}

// shareCodeOf shares the e-mail with club.example and returns its code.
func shareCodeOf(t *testing.T, u *ui.UI, a *app.App, ttl time.Duration) (*app.Share, string) {
	t.Helper()
	ctx := context.Background()
	sh, err := a.CreateShare(ctx, u.Principal(), app.ShareRequest{ServiceID: "club.example", InfoField: "email", ExpiresIn: ttl})
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.ShareCode(ctx, u.Principal(), sh.ShareID)
	if err != nil {
		t.Fatal(err)
	}
	return sh, code
}

func TestVerifyAGoodCodeWithItsLiveStatus(t *testing.T) {
	n := &fakeNet{}
	u, env, _ := signedInWith(t, app.Config{Fetch: n.fetch, PublicURL: "https://home.example.org"})
	n.a = env.App
	sh, code := shareCodeOf(t, u, env.App, 24*time.Hour)
	v := verifyScreen(t, u)

	verifyText(t, u, v, code)
	if !strings.HasPrefix(v.Verdict.Text, "Genuine") {
		t.Fatalf("verdict %q", v.Verdict.Text)
	}
	for _, want := range []string{"E-mail: grace@example.org", "For: club.example", "Valid until: " + fmtDay(sh.ExpiresAt), "Issuer: did:key:z"} {
		if !strings.Contains(v.Details.Text, want) {
			t.Fatalf("details %q lack %q", v.Details.Text, want)
		}
	}
	if !strings.Contains(v.Live.Text, "home.example.org: active") {
		t.Fatalf("live status %q", v.Live.Text)
	}
	// The bare JWS verifies too; the audience, when given, must match.
	_, jws, _ := strings.Cut(code, "#")
	ui.OnUI(func() { v.Audience.SetText("club.example") })
	verifyText(t, u, v, jws)
	if !strings.HasPrefix(v.Verdict.Text, "Genuine") {
		t.Fatalf("the bare JWS: %q", v.Verdict.Text)
	}
	ui.OnUI(func() { v.Audience.SetText("bar.example") })
	verifyText(t, u, v, code)
	if v.Verdict.Text != "Not valid: this code was made for club.example, not for bar.example. (Its signature is genuine.)" {
		t.Fatalf("another audience: %q", v.Verdict.Text)
	}
	ui.OnUI(func() { v.Audience.SetText("") })

	// Revoked: still genuine offline, and the live status says so.
	if _, err := env.App.RevokeAccess(context.Background(), u.Principal(), "club.example"); err != nil {
		t.Fatal(err)
	}
	verifyText(t, u, v, code)
	if !strings.HasPrefix(v.Verdict.Text, "Genuine") || !strings.Contains(v.Live.Text, "REVOKED") {
		t.Fatalf("revoked: %q, live %q", v.Verdict.Text, v.Live.Text)
	}
	ui.OnUI(func() {
		if w := v.Code.MinSize().Width; w > 400 {
			t.Errorf("the verify screen needs %v wide", w)
		}
	})
}

func fmtDay(t time.Time) string { return t.Local().Format("2 Jan 2006") }

func TestVerifyATamperedCode(t *testing.T) {
	u, env, _ := signedIn(t)
	_, code := shareCodeOf(t, u, env.App, 0)
	v := verifyScreen(t, u)
	// Another e-mail in the payload, under the original signature.
	base, jws, _ := strings.Cut(code, "#")
	parts := strings.Split(jws, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), "grace@example.org", "admin@example.org", 1)
	if forged == string(payload) {
		t.Fatalf("no e-mail in %s", payload)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	verifyText(t, u, v, base+"#"+strings.Join(parts, "."))
	if !strings.HasPrefix(v.Verdict.Text, "Not genuine") || v.Details.Visible() {
		t.Fatalf("a forged code: %q, details shown: %v", v.Verdict.Text, v.Details.Visible())
	}
	if want := "Not genuine: its signature does not match what it says. It was changed, or not signed by the key it names."; v.Verdict.Text != want {
		t.Fatalf("a forged code: %q", v.Verdict.Text)
	}
	verifyText(t, u, v, "hello, I am a code")
	if want := "Not a share code: paste all of the code's text (its link, or the part after #), or open a picture of its QR code."; v.Verdict.Text != want {
		t.Fatalf("not a code: %q", v.Verdict.Text)
	}
}

// An expired code, or one not valid yet, says when in words (not the
// verifier's "the code has expired!").
func TestVerifyAnExpiredCode(t *testing.T) {
	u, env, _ := signedIn(t)
	sh, code := shareCodeOf(t, u, env.App, time.Hour)
	v := verifyScreen(t, u)
	env.Clock.Set(sh.IssuedAt.Add(-time.Hour))
	verifyText(t, u, v, code)
	if want := "Not valid yet: this code is not valid before a time still to come (is this device's clock right?). (Its signature is genuine.)"; v.Verdict.Text != want {
		t.Fatalf("not yet valid: %q", v.Verdict.Text)
	}
	env.Clock.Set(sh.ExpiresAt.Add(time.Hour))
	verifyText(t, u, v, code)
	if want := "Not valid: this code expired on " + sh.ExpiresAt.Local().Format("2 Jan 2006 15:04") + ". (Its signature is genuine.)"; v.Verdict.Text != want {
		t.Fatalf("expired: %q", v.Verdict.Text)
	}
	if !strings.Contains(v.Details.Text, "E-mail: grace@example.org") {
		t.Fatalf("details %q", v.Details.Text)
	}
	// No network client here: the offline result stands alone.
	if !strings.Contains(v.Live.Text, "the offline check is all there is") {
		t.Fatalf("live %q", v.Live.Text)
	}
}

func TestVerifyACodeFromAnImage(t *testing.T) {
	u, env, _ := signedIn(t)
	_, code := shareCodeOf(t, u, env.App, 0)
	v := verifyScreen(t, u)
	png, err := qr.PNG(code, 512)
	if err != nil {
		t.Fatal(err)
	}
	v.VerifyImage(png)
	waitFor(t, "the verdict", func() bool { return u.Shell.Idle() && v.Verdict.Visible() })
	if !strings.HasPrefix(v.Verdict.Text, "Genuine") || v.Code.Text != code {
		t.Fatalf("from an image: %q, code %q", v.Verdict.Text, v.Code.Text)
	}
	v.VerifyImage([]byte("not a picture"))
	waitFor(t, "the verdict", func() bool { return u.Shell.Idle() && strings.HasPrefix(v.Verdict.Text, "No QR code") })
}
