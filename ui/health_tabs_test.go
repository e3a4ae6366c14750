package ui_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

// healthScreen shows the Health screen of a new profile holding one
// allergy record, loaded.
func healthScreen(t *testing.T) (*ui.UI, *app.App, *ui.HealthScreen) {
	t.Helper()
	u, env, _ := signedIn(t)
	t.Cleanup(func() {
		waitFor(t, "idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	if _, _, err := env.App.PutHealthRecord(context.Background(), u.Principal(), "", "allergies", json.RawMessage(`"penicillin"`)); err != nil {
		t.Fatal(err)
	}
	h := u.Shell.Screen("Health").(*ui.HealthScreen)
	ui.OnUI(func() { u.Shell.Select("Health") })
	waitFor(t, "the record", func() bool { return u.Shell.Idle() && len(h.TypeChecks) == 1 })
	return u, env.App, h
}

// shows reports whether notice is shown saying text (on the UI goroutine).
func shows(notice *widget.Label, text string) bool {
	return notice.Visible() && notice.Text == text
}

// TestHealthLinksInTheirOwnTab: the links made for doctors, with their
// openings, are a tab of their own beside the records and the forms, one
// tap away at either size, their list at the top (issue 15 §7).
func TestHealthLinksInTheirOwnTab(t *testing.T) {
	u, _, h := healthScreen(t)
	ui.OnUI(func() {
		test.Tap(h.TypeChecks["allergies"])
		test.Type(h.Doctor, "dr@example.org")
		test.Tap(h.Share)
	})
	waitFor(t, "the link", func() bool { return u.Shell.Idle() && len(h.LinkLabels) == 1 })
	ui.OnUI(func() {
		if h.Parts == nil || len(h.Parts.Items) != 2 || h.Parts.Items[0].Text != "Records" || h.Parts.Items[1].Text != "Links" {
			t.Fatal("no Links tab beside Records")
		}
		if h.Parts.Selected() != h.Parts.Items[0] || !h.Share.Visible() {
			t.Fatal("the screen does not open on its records")
		}
		h.Parts.SelectIndex(1)
		for _, l := range h.LinkLabels {
			d := fyne.CurrentApp().Driver()
			top := d.AbsolutePositionForObject(l).Y - d.AbsolutePositionForObject(h.Parts).Y
			if !l.Visible() || top > 300 {
				t.Fatalf("the link's row is %v down the Links tab", top)
			}
		}
	})
}

// TestHealthNoticesUnderTheirActions: what adding a record, creating a
// link, revoking one and deleting a record did — or why not — shows in
// the notice beside that action (issue 15 §1, §10).
func TestHealthNoticesUnderTheirActions(t *testing.T) {
	u, _, h := healthScreen(t)
	step := func(what string, act func(), cond func() bool) {
		t.Helper()
		ui.OnUI(act)
		waitFor(t, what, func() bool { return u.Shell.Idle() && cond() })
	}
	step("a bad type refused", func() {
		h.NewType.SetText("Blood pressure (home)")
		test.Type(h.NewData, "x")
		test.Tap(h.Add)
	}, func() bool {
		return h.AddNotice.Visible() && strings.HasPrefix(h.AddNotice.Text, "Name the record's type with letters, digits and spaces") && h.AddNotice.Text == u.Shell.Status.Text
	})
	step("a record added", func() {
		h.NewType.SetText("vitals")
		test.Tap(h.Add)
	}, func() bool { return shows(h.AddNotice, "Record added.") })
	step("nothing ticked", func() { test.Tap(h.Share) }, func() bool {
		return shows(h.ShareNotice, "Tick the records or types to share first.")
	})
	step("a link made", func() {
		test.Tap(h.TypeChecks["allergies"])
		test.Type(h.Doctor, "dr@example.org")
		test.Tap(h.Share)
	}, func() bool {
		return h.ShareNotice.Visible() && strings.HasPrefix(h.ShareNotice.Text, "Link created, working until the end of ") &&
			strings.HasSuffix(h.ShareNotice.Text, "; it is listed under Links, with who opens it.") && len(h.RevokeButtons) == 1
	})
	if h.AddNotice.Text != "Record added." {
		t.Fatalf("creating a link spoke under Add: %q", h.AddNotice.Text)
	}
	ui.OnUI(func() { h.Parts.SelectIndex(1) })
	step("a link revoked", func() {
		for _, b := range h.RevokeButtons {
			test.Tap(b)
		}
	}, func() bool { return shows(h.LinksNotice, "Link revoked: it opens no more.") })
	ui.OnUI(func() { h.Parts.SelectIndex(0) })
	step("a record deleted", func() {
		test.Tap(h.DeleteButtons[healthRecordID(t, h, "x")])
	}, func() bool {
		return shows(h.RecordsNotice, "Record deleted; links that named it show it no more.")
	})
}

// TestHealthLinkUntilTheChosenDay: a link chosen to work until a day
// works through that day where the user is, and says so — "until the end
// of 2026-12-15", not "2026-12-16 00:00" — as it is made, in its row
// and shown again (issue 15 §10).
func TestHealthLinkUntilTheChosenDay(t *testing.T) {
	u, a, h := healthScreen(t)
	day := a.Now().AddDate(0, 0, 10).In(time.Local).Format(app.DateLayout)
	ui.OnUI(func() {
		test.Tap(h.TypeChecks["allergies"])
		test.Type(h.Doctor, "dr@example.org")
		h.Expires.SetText(day)
		test.Tap(h.Share)
	})
	waitFor(t, "the link", func() bool { return u.Shell.Idle() && len(h.LinkLabels) == 1 })
	links, err := a.HealthLinks(context.Background(), u.Principal())
	if err != nil || len(links) != 1 {
		t.Fatalf("links %v %v", links, err)
	}
	l := links[0]
	chosen, _ := time.ParseInLocation(app.DateLayout, day, time.Local)
	if !l.ExpiresAt.Equal(chosen.AddDate(0, 0, 1)) {
		t.Fatalf("the link stops at %v, not at the end of %s here", l.ExpiresAt, day)
	}
	until := "until the end of " + day
	ui.OnUI(func() {
		if !strings.Contains(h.LinkInfo.Text, "working "+until+".") {
			t.Errorf("as made: %q", h.LinkInfo.Text)
		}
		if row := h.LinkLabels[l.ID].Text; !strings.Contains(row, "· active · "+until+"\n") {
			t.Errorf("its row: %q", row)
		}
		h.Parts.SelectIndex(1)
		test.Tap(h.ShowButtons[l.ID])
		if h.Again == nil || !strings.Contains(h.Again.LinkInfo.Text, until) {
			t.Errorf("shown again: %+v", h.Again)
		}
	})
}
