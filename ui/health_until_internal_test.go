package ui

import (
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// TestLinkUntilTheChosenDayInEveryZone: a day chosen for a doctor's link
// is asked of the app as the end of that day where the user is, the app
// keeps that instant, and the screen shows it as the day chosen — west
// and east of UTC alike; a link that stops at another time shows it
// (issue 15 §10).
func TestLinkUntilTheChosenDayInEveryZone(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("UTC-8", -8*3600), time.FixedZone("UTC+13", 13*3600), time.FixedZone("UTC+5:30", 5*3600+1800)} {
		end, ok := dayEnd(" 2026-12-15 ", loc)
		if !ok || !end.Equal(time.Date(2026, 12, 16, 0, 0, 0, 0, loc)) {
			t.Fatalf("%s: the end of 2026-12-15 is %v", loc, end)
		}
		kept, ok := app.ParseExpiration(end.Format(time.RFC3339), now)
		if !ok || !kept.Equal(end) {
			t.Fatalf("%s: asked %s, the app keeps %v", loc, end.Format(time.RFC3339), kept)
		}
		if got := untilText(kept.UTC(), loc); got != "the end of 2026-12-15" {
			t.Errorf("%s: shown as %q", loc, got)
		}
		if got := untilText(time.Date(2026, 12, 15, 18, 30, 0, 0, loc).UTC(), loc); got != "2026-12-15 18:30" {
			t.Errorf("%s: a link stopping at 18:30 shows as %q", loc, got)
		}
	}
	if _, ok := dayEnd("15 Dec", time.UTC); ok {
		t.Error("no date taken as one")
	}
}
