package ui_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

// healthRecordID finds the shown record whose text is text.
func healthRecordID(t *testing.T, h *ui.HealthScreen, text string) string {
	t.Helper()
	for id, l := range h.RecordLabels {
		if l.Text == text {
			return id
		}
	}
	t.Fatalf("no record %q shown", text)
	return ""
}

// fitsPhone renders the window at a phone's size and at a desktop's, with
// the screen showing its data, and checks that the screen fits the width.
func fitsPhone(t *testing.T, u *ui.UI, w fyne.Window, title string) {
	t.Helper()
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select(title) })
	waitIdle(t, u)
	for _, size := range []fyne.Size{fyne.NewSize(400, 800), ui.DefaultSize} {
		ui.OnUI(func() {
			w.Resize(size)
			if img := w.Canvas().Capture(); img.Bounds().Dx() < int(size.Width) {
				t.Fatalf("captured %v at %v", img.Bounds(), size)
			}
			for _, it := range u.Shell.Tabs.Items {
				if it.Text == title && it.Content.MinSize().Width > size.Width {
					t.Errorf("%s needs %v wide at %v", title, it.Content.MinSize().Width, size)
				}
			}
		})
	}
}

func isAppError(err error, code string) bool {
	var e *app.Error
	return errors.As(err, &e) && e.Code == code
}

// TestHealthRecordsAndLinks adds records (shown by type), deletes one,
// shares a chosen record with a doctor behind a passcode (the link and its
// QR code shown; the doctor's openings listed), shares a whole type, and
// revokes a link.
func TestHealthRecordsAndLinks(t *testing.T) {
	u, env, w := signedIn(t)
	ctx := context.Background()
	p := u.Principal()
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Health") })
	h := u.Shell.Screen("Health").(*ui.HealthScreen)
	waitFor(t, "empty list", func() bool {
		g := h.ShownGroups()
		return len(g) == 0 && len(h.Groups.Objects) == 1
	})
	waitIdle(t, u)

	// A type is typed (or chosen) by its label and stored as its key.
	for _, r := range [][2]string{{"allergy", "penicillin"}, {"Vaccination", "tetanus 2020"}, {"Allergy", `{"substance":"latex"}`}} {
		ui.OnUI(func() { h.NewType.SetText(r[0]) })
		typeIn(h.NewData, r[1])
		tap(h.Add)
		waitFor(t, "record added", func() bool { return h.NewData.Text == "" && u.Shell.Status.Text == "Record added." })
		waitIdle(t, u)
	}
	want := [][]string{
		{"Allergy · 2 records", "penicillin", "Substance: latex"}, // JSON shown as "Key: value" lines
		{"Vaccination · 1 record", "tetanus 2020"},
	}
	if got := h.ShownGroups(); !reflect.DeepEqual(got, want) {
		t.Fatalf("shown %q, want %q", got, want)
	}
	stored, err := env.App.HealthRecords(ctx, p, "allergy")
	if err != nil || len(stored) != 2 || string(stored[0].Data) != `"penicillin"` || string(stored[1].Data) != `{"substance":"latex"}` {
		t.Fatalf("stored allergies %v %v", stored, err)
	}
	// A bad type: the app's error, in words.
	ui.OnUI(func() { h.NewType.SetText("Blood pressure (home)") })
	typeIn(h.NewData, "x")
	tap(h.Add)
	waitFor(t, "type error", func() bool {
		return u.Shell.Status.Text == "Name the record's type with letters, digits and spaces, starting with a letter (at most 64), e.g. Lab results."
	})
	waitIdle(t, u)
	ui.OnUI(func() { h.NewData.SetText("") })

	// Delete the vaccination.
	tap(h.DeleteButtons[healthRecordID(t, h, "tetanus 2020")])
	waitFor(t, "deleted", func() bool { return len(h.ShownGroups()) == 1 })
	waitIdle(t, u)
	if rs, _ := env.App.HealthRecords(ctx, p, "vaccination"); len(rs) != 0 {
		t.Fatalf("vaccination still stored: %v", rs)
	}

	// Nothing ticked: nothing shared.
	tap(h.Share)
	if u.Shell.Status.Text != "Tick the records or types to share first." {
		t.Fatalf("status %q", u.Shell.Status.Text)
	}

	// Share the penicillin record, with a passcode, until a chosen day.
	penicillin := healthRecordID(t, h, "penicillin")
	tap(h.RecordChecks[penicillin])
	typeIn(h.Doctor, "dr.who@example.org")
	day := env.App.Now().AddDate(0, 0, 10).Format(app.DateLayout)
	ui.OnUI(func() { h.Expires.SetText(day) })
	typeIn(h.Passcode, "432198")
	tap(h.Share)
	waitFor(t, "link shown", func() bool { return h.LinkBox.Visible() && len(h.LinkLabels) == 1 })
	waitIdle(t, u)
	links, err := env.App.HealthLinks(ctx, p)
	if err != nil || len(links) != 1 {
		t.Fatalf("links %v %v", links, err)
	}
	l := links[0]
	if h.Link.Text != l.URL || shownQR(t, h.LinkQR) != l.URL {
		t.Fatalf("link shown %q, QR %q, stored %q", h.Link.Text, shownQR(t, h.LinkQR), l.URL)
	}
	wantExpiry, _ := time.ParseInLocation(app.DateLayout, day, time.Local) // through that day, here
	if !l.Passcode || l.DoctorEmail != "dr.who@example.org" || !l.ExpiresAt.Equal(wantExpiry.AddDate(0, 0, 1)) ||
		!reflect.DeepEqual(l.Records, []app.LinkSelector{{RecordID: penicillin}}) || h.Passcode.Text != "" {
		t.Fatalf("stored link %+v", l)
	}
	if text := h.LinkLabels[l.ID].Text; !strings.Contains(text, "dr.who@example.org · active") || !strings.Contains(text, "passcode") ||
		!strings.Contains(text, "Shares: Allergy: penicillin") || !strings.Contains(text, "Not opened yet.") {
		t.Fatalf("link listed as %q", text)
	}

	// The doctor's client follows the SMART Health Link: a wrong
	// passcode, then the right one.
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(l.SHLink, "shlink:/"))
	var shl struct{ URL string }
	if err != nil || json.Unmarshal(raw, &shl) != nil {
		t.Fatalf("shlink %q: %v", l.SHLink, err)
	}
	token := path.Base(shl.URL)
	if _, err := env.App.SHLManifest(ctx, app.SHLManifestRequest{Token: token, Recipient: "Dr. Who", Passcode: "000000", Client: "198.51.100.4", UserAgent: "DocBrowser/1"}); !isAppError(err, "wrong_passcode") {
		t.Fatalf("wrong passcode: %v", err)
	}
	files, err := env.App.SHLManifest(ctx, app.SHLManifestRequest{Token: token, Recipient: "Dr. Who", Passcode: "432198", Client: "198.51.100.4", UserAgent: "DocBrowser/1"})
	if err != nil || len(files) != 1 {
		t.Fatalf("opened: %+v %v", files, err)
	}
	ui.OnUI(func() { u.Shell.Select("My profile") })
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Health") })
	waitFor(t, "openings listed", func() bool { return strings.Contains(h.LinkLabels[l.ID].Text, "Opened ") })
	waitIdle(t, u)
	text := h.LinkLabels[l.ID].Text
	if !strings.Contains(text, "from 198.51.100.4 (DocBrowser/1): 1 record (Allergy: penicillin)") || !strings.Contains(text, "Wrong passcode ") ||
		strings.Index(text, "Opened ") > strings.Index(text, "Wrong passcode ") {
		t.Fatalf("openings shown: %q", text)
	}

	// Share the whole allergy type, without a passcode: both records, and a later one too.
	tap(h.RecordChecks[penicillin]) // untick
	tap(h.TypeChecks["allergy"])
	tap(h.Share)
	waitFor(t, "second link", func() bool { return len(h.LinkLabels) == 2 })
	waitIdle(t, u)
	if shownQR(t, h.LinkQR) != h.Link.Text || h.Link.Text == l.URL {
		t.Fatalf("second link %q, QR %q", h.Link.Text, shownQR(t, h.LinkQR))
	}
	all, err := env.App.HealthLinks(ctx, p)
	if err != nil || len(all) != 2 || all[0].ID == l.ID || !reflect.DeepEqual(all[0].Records, []app.LinkSelector{{Type: "allergy"}}) {
		t.Fatalf("type link: %+v %v", all, err)
	}
	raw2, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(all[0].SHLink, "shlink:/"))
	var shl2 struct{ URL string }
	json.Unmarshal(raw2, &shl2)
	if files, err := env.App.SHLManifest(ctx, app.SHLManifestRequest{Token: path.Base(shl2.URL), Recipient: "Dr. Two", Client: "198.51.100.5"}); err != nil || len(files) != 1 {
		t.Fatalf("type link opened: %+v %v", files, err)
	}

	// Revoke the first link: it opens no more.
	tap(h.RevokeButtons[l.ID])
	waitFor(t, "revoked", func() bool {
		lb := h.LinkLabels[l.ID]
		return lb != nil && strings.Contains(lb.Text, "· revoked ·") && h.RevokeButtons[l.ID].Disabled()
	})
	waitIdle(t, u)
	if _, err := env.App.SHLManifest(ctx, app.SHLManifestRequest{Token: token, Recipient: "Dr. Who", Passcode: "432198", Client: "198.51.100.4"}); err == nil || app.AsError(err).Kind != app.KindNotFound {
		t.Fatalf("revoked link opened: %v", err)
	}
	// Showing a listed link again gives its URL and code (in a dialog
	// over the Links tab).
	tap(h.ShowButtons[l.ID])
	if a := h.Again; a == nil || a.Link.Text != l.URL || shownQR(t, a.LinkQR) != l.URL || !a.LinkBox.Visible() {
		t.Fatalf("shown again: %+v", a)
	}
	fitsPhone(t, u, w, "Health")

	// A bad e-mail: the app's error.
	typeIn(h.Doctor, "@@")
	tap(h.Share)
	waitFor(t, "e-mail error", func() bool {
		return u.Shell.Status.Text == "That is not an e-mail address: type it as name@example.org."
	})
}
