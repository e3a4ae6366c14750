package ui

// The Verify a code screen, a dialog opened from the Sharing screen: a
// share code someone shows (pasted as text, or read from an image of its
// QR code) checked with no connection (signature, issuer, audience,
// validity), then, where the code's status URL answers, its live status.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// VerifyScreen verifies a share code: paste its text (the QR code's
// link, or the bare JWS) or open a picture of its QR code. Verdict says
// "Genuine…", "Not genuine…", "Not valid…" (a genuine signature on a
// code expired, not yet valid or for another audience) or "Not a share
// code…"; Details lists the claims, issuer, audience and times; Live is
// the issuer's live status where its status URL answers.
type VerifyScreen struct {
	shell *Shell

	Code      *widget.Entry
	Audience  *widget.Entry // optional: the code must be for this service
	Check     *widget.Button
	OpenImage *widget.Button
	Verdict   *widget.Label
	Details   *widget.Label
	Live      *widget.Label

	content fyne.CanvasObject
	dialog  dialog.Dialog
	gen     int // the verification shown; a late live status of an earlier one is dropped
}

// verifyImageTypes are the picture types the open dialog offers.
var verifyImageTypes = []string{".png", ".jpg", ".jpeg", ".gif"}

// maxCodeImage caps a picture of a code read from a file.
const maxCodeImage = 10 << 20

func (v *VerifyScreen) build() fyne.CanvasObject {
	v.Code = widget.NewMultiLineEntry()
	v.Code.Wrapping = fyne.TextWrapBreak
	v.Code.SetMinRowsVisible(3)
	v.Code.SetPlaceHolder("https://…/api/v1/verify#eyJ…")
	v.Audience = widget.NewEntry()
	v.Audience.SetPlaceHolder("optional: shop.example.com")
	v.Check = primary("Verify", theme.ConfirmIcon(), v.verify)
	v.OpenImage = widget.NewButtonWithIcon("Open an image…", theme.FileImageIcon(), func() {
		openFile(v.shell, storage.NewExtensionFileFilter(verifyImageTypes), func(r fyne.URIReadCloser) {
			readFile(v.shell, r, maxCodeImage, func(_ string, data []byte) { v.VerifyImage(data) })
		})
	})
	v.Verdict = boldWrapped("")
	v.Details = wrapped("")
	v.Details.Selectable = true
	v.Live = wrapped("")
	v.Verdict.Hide()
	v.Details.Hide()
	v.Live.Hide()
	v.content = container.NewVBox(
		wrapped("Paste a share code (the text its QR code carries), or open a picture of the QR code. It is checked here with no connection; where the issuer's device answers, its live status too."),
		v.Code,
		form(formRow{"For service", v.Audience}),
		container.NewHBox(v.Check, v.OpenImage),
		v.Verdict, v.Details, v.Live)
	return v.content
}

func (v *VerifyScreen) refresh() {}

// open shows the screen in a dialog over the window.
func (v *VerifyScreen) open() {
	if v.content == nil {
		v.build()
	}
	if v.dialog == nil {
		v.dialog = dialog.NewCustom("Verify a code", "Close", container.NewVScroll(v.content), v.shell.window())
	}
	size := v.shell.window().Canvas().Size()
	v.dialog.Resize(fyne.NewSize(min(size.Width-16, 640), min(size.Height-16, 640)))
	v.dialog.Show()
}

// VerifyImage verifies the code in a picture of its QR code (what Open
// an image does with the file's bytes).
func (v *VerifyScreen) VerifyImage(data []byte) {
	var text string
	v.shell.run("Reading the QR code", func(context.Context) (err error) {
		text, err = qr.Decode(data)
		return err
	}, func(err error) {
		if err != nil {
			v.show(nil, nil, "No QR code could be read in the picture.")
			return
		}
		v.Code.SetText(text)
		v.verify()
	})
}

// verify checks the code in the Code box, offline, then asks for its
// live status.
func (v *VerifyScreen) verify() {
	v.shell.u.Touch()
	v.gen++
	c, err := app.VerifyCode(v.Code.Text, strings.TrimSpace(v.Audience.Text), v.shell.u.app.Now())
	v.show(c, err, "")
	if c != nil {
		v.liveStatus(v.gen, c.StatusURL)
	}
}

// errCode is the code of the app's error err ("" for none).
func errCode(err error) string {
	if err == nil {
		return ""
	}
	return app.AsError(err).Code
}

// show puts a verification's result on screen; failed (not "") says no
// code could be read at all.
func (v *VerifyScreen) show(c *app.CodeCheck, err error, failed string) {
	v.Live.Hide()
	v.Verdict.Show()
	switch {
	case failed != "":
		v.Verdict.SetText(failed)
		v.Details.Hide()
		return
	default:
		v.Verdict.SetText(verdict(c, err, strings.TrimSpace(v.Audience.Text)))
	}
	if c == nil {
		v.Details.Hide()
		return
	}
	v.Details.SetText(codeDetails(c))
	v.Details.Show()
}

// verdict says what verifying a code found (c: what it says, nil when
// it could not be read; err: why it is not valid), in words rather than
// the offline verifier's API strings ("the code has expired!"); audience
// is the service the code was checked for.
func verdict(c *app.CodeCheck, err error, audience string) string {
	const genuine = " (Its signature is genuine.)"
	switch code := errCode(err); {
	case c == nil && code == "bad_signature":
		return "Not genuine: its signature does not match what it says. It was changed, or not signed by the key it names."
	case c == nil && code == "malformed_code":
		return "Not a share code: paste all of the code's text (its link, or the part after #), or open a picture of its QR code."
	case c == nil:
		return "Not a share code: " + message(err)
	case err == nil:
		return "Genuine: signed by the issuer's key, unchanged, and valid now."
	case code == "code_expired":
		return "Not valid: this code expired on " + fmtWhen(c.ExpiresAt) + "." + genuine
	case code == "code_not_yet_valid":
		return "Not valid yet: this code is not valid before a time still to come (is this device's clock right?)." + genuine
	case code == "wrong_audience":
		return fmt.Sprintf("Not valid: this code was made for %s, not for %s.%s", c.Audience, audience, genuine)
	}
	return "Not valid: " + message(err) + genuine
}

// codeDetails lists what a code says: its claims, for whom, by whom,
// its times.
func codeDetails(c *app.CodeCheck) string {
	names := make([]string, 0, len(c.Claims))
	for n := range c.Claims {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", keyLabel(n), claimText(c.Claims[n]))
	}
	fmt.Fprintf(&b, "For: %s\nIssued: %s\nValid until: %s\nIssuer: %s", c.Audience, fmtWhen(c.IssuedAt), fmtWhen(c.ExpiresAt), c.Issuer)
	return b.String()
}

// claimText is a claim's value as a person reads it: a string without
// its quotes, anything else as JSON.
func claimText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// liveStatus asks the code's status URL whether the share is still
// active, where this device can ask (the app's Fetch) and the URL is a
// share status address; otherwise only the offline result stands.
func (v *VerifyScreen) liveStatus(gen int, statusURL string) {
	fetch := v.shell.u.app.Config().Fetch
	host, ok := statusHost(statusURL)
	switch {
	case statusURL == "":
		v.Live.SetText("The code names no live status: the offline check is all there is.")
	case !ok:
		v.Live.SetText("The code's status address is not one this app asks; the offline check is all there is.")
	case fetch == nil:
		v.Live.SetText("This device cannot ask for the live status (no network client): the offline check is all there is.")
	}
	if statusURL == "" || !ok || fetch == nil {
		v.Live.Show()
		return
	}
	v.Live.SetText("Asking " + host + " whether the share is still active…")
	v.Live.Show()
	var (
		status int
		body   []byte
		ferr   error
	)
	v.shell.run("Asking for the live status", func(ctx context.Context) error {
		status, body, ferr = fetch(ctx, statusURL)
		return nil
	}, func(error) {
		if gen != v.gen {
			return
		}
		v.Live.SetText(liveWords(host, status, body, ferr))
	})
}

// statusHost is the host of a share status URL, and whether it is one
// (http or https, the status path and a share id, nothing else): a code
// from a stranger does not make this device fetch an address of its
// choosing.
func statusHost(statusURL string) (string, bool) {
	u, err := url.Parse(statusURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	i := strings.LastIndex(u.Path, app.ShareStatusPath)
	if i < 0 || !app.ValidUUID(u.Path[i+len(app.ShareStatusPath):]) {
		return "", false
	}
	return u.Host, true
}

// liveWords says what the status URL answered.
func liveWords(host string, status int, body []byte, err error) string {
	if err != nil {
		return "Live status: " + host + " does not answer now (offline, or not reachable from here); the offline check above stands."
	}
	var r struct {
		State string `json:"state"`
	}
	if status != 200 || json.Unmarshal(body, &r) != nil {
		return fmt.Sprintf("Live status: %s answers, but not with a share's status (HTTP %d); the offline check above stands.", host, status)
	}
	switch r.State {
	case app.CapActive:
		return "Live status from " + host + ": active — the share has not been revoked."
	case app.CapRevoked:
		return "Live status from " + host + ": REVOKED — the person has withdrawn this share; do not rely on it."
	case app.CapExpired:
		return "Live status from " + host + ": expired."
	}
	return "Live status from " + host + ": unknown (" + r.State + ")."
}
