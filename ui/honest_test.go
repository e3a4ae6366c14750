package ui_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

// okMail is an e-mail relay that takes every message.
type okMail struct{}

func (okMail) Kind() string                             { return app.KindEmail }
func (okMail) Send(context.Context, *app.Message) error { return nil }

// TestHealthLinkSaysWhetherTheEmailWentOut: after a link is made the
// screen never says the doctor was e-mailed while the e-mail waits for a
// relay; it says why it waits, offers Settings, and says "sent" (with
// when) once it left (issue 15 §1).
func TestHealthLinkSaysWhetherTheEmailWentOut(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	p := u.Principal()
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`"penicillin"`)); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Health") })
	h := u.Shell.Screen("Health").(*ui.HealthScreen)
	waitFor(t, "the record", func() bool { return len(h.TypeChecks) == 1 })
	waitIdle(t, u)
	tap(h.TypeChecks["allergies"])
	typeIn(h.Doctor, "dr@example.org")
	tap(h.Share)
	waitFor(t, "link shown", func() bool { return h.LinkBox.Visible() && len(h.LinkLabels) == 1 })
	waitIdle(t, u)
	links, _ := env.App.HealthLinks(ctx, p)
	if len(links) != 1 || links[0].EmailID == "" {
		t.Fatalf("links %+v", links)
	}
	id := links[0].ID
	const waiting = "E-mail to the doctor: waiting (no e-mail relay on this device)"
	if strings.Contains(h.LinkInfo.Text, "e-mailed") || !strings.HasPrefix(h.LinkMail.Text, waiting) || !h.FixMail.Visible() {
		t.Fatalf("shown %q / %q", h.LinkInfo.Text, h.LinkMail.Text)
	}
	if l := h.MailLabels[id]; l == nil || !strings.HasPrefix(l.Text, waiting) {
		t.Fatalf("the link's row: %v", l)
	}
	tap(h.FixMail)
	if u.Shell.Tabs.Selected().Text != "Settings" {
		t.Fatalf("the fix opens %q", u.Shell.Tabs.Selected().Text)
	}
	waitIdle(t, u)

	// A relay: the e-mail leaves, and the screen says so when shown again.
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	env.App.StartOutbox(octx, okMail{}).Flush(octx)
	ui.OnUI(func() { u.Shell.Select("Health") })
	waitFor(t, "sent", func() bool {
		l := h.MailLabels[id]
		return l != nil && strings.HasPrefix(l.Text, "E-mail to the doctor: sent ") && strings.HasPrefix(h.LinkMail.Text, "E-mail to the doctor: sent ")
	})
	waitIdle(t, u)
	if h.FixMail.Visible() {
		t.Fatal("the way to Settings stays after the e-mail left")
	}
}

// TestHealthTypesAndJSONRecords: the type list offers the common types on
// first use, and a record typed as JSON shows as "Key: value" lines
// (issue 15 §10).
func TestHealthTypesAndJSONRecords(t *testing.T) {
	u, env, _ := signedIn(t)
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Health") })
	h := u.Shell.Screen("Health").(*ui.HealthScreen)
	waitIdle(t, u)
	for _, want := range []string{"Allergies", "Immunizations", "Conditions", "Medications", "Lab results", "Vitals"} { // by their labels
		if !slices.Contains(h.TypeOptions(), want) {
			t.Fatalf("types offered %v, lack %q", h.TypeOptions(), want)
		}
	}
	if _, _, err := env.App.PutHealthRecord(context.Background(), u.Principal(), "", "allergies", json.RawMessage(`{"substance":"latex","reaction":"hives"}`)); err != nil {
		t.Fatal(err)
	}
	ui.OnUI(func() { u.Shell.Select("Settings") })
	waitIdle(t, u)
	ui.OnUI(func() { u.Shell.Select("Health") })
	waitFor(t, "the record", func() bool { return len(h.RecordLabels) == 1 })
	waitIdle(t, u)
	for _, l := range h.RecordLabels {
		if l.Text != "Reaction: hives\nSubstance: latex" {
			t.Fatalf("shown %q", l.Text)
		}
	}
}

// TestResponderConfirmsACondition: on the device, a person's conditions
// are shown and one must be chosen; "none applies" is refused and logged,
// and the grant's log entry records the condition (issue 15 §6).
func TestResponderConfirmsACondition(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	_, err := env.App.SetupEmergency(ctx, u.Principal(), app.EmergencySetup{
		EmergencyInfo: json.RawMessage(`"asthma"`),
		Criteria:      json.RawMessage(`{"responders":"any","conditions":["unconscious","cannot speak"]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	tap(u.Shell.Lock)
	tap(u.Start.Emergency)
	r := u.Responder
	waitFor(t, "the conditions", func() bool { return r.Condition.Visible() && !r.Show.Disabled() })
	if !slices.Equal(r.Condition.Options, []string{"unconscious", "cannot speak", ui.NoneApplies}) {
		t.Fatalf("offered %v", r.Condition.Options)
	}
	typeIn(r.ResponderID, "volunteer-1")
	typeIn(r.Reason, "anything at all")
	tap(r.Show)
	if !strings.HasPrefix(r.Status.Text, "Choose which of the person's conditions applies") || r.Result.Visible() {
		t.Fatalf("no condition: %q", r.Status.Text)
	}
	ui.OnUI(func() { r.Condition.SetSelected(ui.NoneApplies) })
	tap(r.Show)
	waitFor(t, "refused", func() bool {
		return strings.HasPrefix(r.Status.Text, "Nothing is shown unless you confirm which of the person's conditions applies")
	})
	if r.Result.Visible() {
		t.Fatal("granted though none applies")
	}
	ui.OnUI(func() { r.Condition.SetSelected("unconscious") })
	tap(r.Show)
	waitFor(t, "granted", func() bool { return r.Result.Visible() })

	auth, err := env.App.Login(ctx, "grace@example.org", "cobol-compiler-1959")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	l, err := env.App.EmergencyLog(ctx, p)
	if err != nil || len(l.Entries) != 2 || l.Entries[0].Outcome != app.OutcomeConditionNotMet ||
		l.Entries[1].Outcome != app.OutcomeGranted || l.Entries[1].Condition != "unconscious" {
		t.Fatalf("log %+v %v", l, err)
	}
}

// TestResponderSeesWhetherContactsWereTold: the lock screen's responder
// reads that the notices wait (no relay on this device) and, once they
// left, that they were sent, and when (issue 15 §1).
func TestResponderSeesWhetherContactsWereTold(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	_, err := env.App.SetupEmergency(ctx, u.Principal(), app.EmergencySetup{
		EmergencyInfo:   json.RawMessage(`"asthma"`),
		TrustedContacts: json.RawMessage(`["kin@example.org"]`),
		Criteria:        json.RawMessage(`{"responders":"any"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, u)
	tap(u.Shell.Lock)
	tap(u.Start.Emergency)
	r := u.Responder
	waitFor(t, "the form", func() bool { return !r.Show.Disabled() })
	typeIn(r.ResponderID, "volunteer-2")
	typeIn(r.Reason, "collapsed")
	tap(r.Show)
	waitFor(t, "granted", func() bool { return r.Result.Visible() })
	// Told is kept current in the background too (watchTold).
	told := func() (text string) { ui.OnUI(func() { text = r.Told.Text }); return text }
	if r.RefreshTold() || !strings.Contains(told(), "1 contact by e-mail (queued: this device has no mail relay, so it waits in the outbox)") {
		t.Fatalf("told %q", told())
	}
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	env.App.StartOutbox(octx, okMail{}).Flush(octx)
	if !r.RefreshTold() || !strings.Contains(told(), "1 contact by e-mail (sent ") {
		t.Fatalf("told %q", told())
	}
}
