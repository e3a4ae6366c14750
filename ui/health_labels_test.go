package ui_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/ui"
)

// Issue 15 §3: record types are offered, typed and shown by their labels
// ("Lab results") and stored by their keys (lab_results), as fields are;
// a form lacking its type, its record or the doctor's e-mail says so in
// words, not the API's "record_type,record_data must exist!".
func TestHealthTypesByTheirLabels(t *testing.T) {
	u, a, h := healthScreen(t) // one "allergies" record
	step := func(what string, act func(), cond func() bool) {
		t.Helper()
		ui.OnUI(act)
		waitFor(t, what, func() bool { return u.Shell.Idle() && cond() })
	}
	if opts := h.TypeOptions(); !slices.Contains(opts, "Lab results") || slices.ContainsFunc(opts, func(o string) bool { return strings.ContainsAny(o, "_") }) {
		t.Fatalf("types offered %q", opts)
	}
	step("no type", func() { h.NewType.SetText(""); test.Type(h.NewData, "HbA1c 5.4%"); test.Tap(h.Add) }, func() bool {
		return shows(h.AddNotice, "Choose the record's type first (or type one, e.g. Allergies).")
	})
	step("no record", func() { h.NewType.SetText("Lab results"); h.NewData.SetText(""); test.Tap(h.Add) }, func() bool {
		return shows(h.AddNotice, "Write the record first: text, or JSON.")
	})
	step("a lab result added", func() { test.Type(h.NewData, "HbA1c 5.4%"); test.Tap(h.Add) }, func() bool {
		return shows(h.AddNotice, "Record added.") && len(h.TypeChecks) == 2
	})
	want := [][]string{{"Allergies · 1 record", "penicillin"}, {"Lab results · 1 record", "HbA1c 5.4%"}}
	var got [][]string
	ui.OnUI(func() { got = h.ShownGroups() })
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("shown %q, want %q", got, want)
	}
	if rs, err := a.HealthRecords(context.Background(), u.Principal(), "lab_results"); err != nil || len(rs) != 1 {
		t.Fatalf("stored lab results %v %v", rs, err)
	}

	step("no doctor", func() { test.Tap(h.TypeChecks["lab_results"]); test.Tap(h.Share) }, func() bool {
		return shows(h.ShareNotice, "Type the doctor's e-mail address first.")
	})
	step("a link made", func() { test.Type(h.Doctor, "dr@example.org"); test.Tap(h.Share) }, func() bool {
		return len(h.LinkLabels) == 1
	})
	for _, l := range h.LinkLabels {
		if !strings.Contains(l.Text, "Shares: every record under Lab results") || strings.Contains(l.Text, "lab_results") {
			t.Fatalf("link listed as %q", l.Text)
		}
	}
}
