package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Issue 15 §3: the access log says how each attempt ended and where it
// came from in words, not the log's codes (not_verified, condition_not_met,
// via api); a confirmed condition is shown.
func TestAccessLogLinesInWords(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 41, 0, 0, time.UTC)
	for _, c := range []struct {
		en   app.EmergencyLogEntry
		want string
	}{
		{app.EmergencyLogEntry{Outcome: app.OutcomeGranted, Via: "device", Client: app.ClientThisDevice, Verified: true, Condition: "unconscious"},
			"granted · responder EMT-7, verified · on a device's lock screen · reason: found lying down · condition confirmed: unconscious"},
		{app.EmergencyLogEntry{Outcome: app.OutcomeNotVerified, Via: "api", Client: "192.0.2.9"},
			"refused: responder not verified · responder EMT-7, not verified · through the API from 192.0.2.9 · reason: found lying down"},
		{app.EmergencyLogEntry{Outcome: app.OutcomeConditionNotMet, Via: "page", Client: "198.51.100.4", Verified: true},
			"refused: the responder confirmed none of your conditions · responder EMT-7, verified · on the emergency page from 198.51.100.4 · reason: found lying down"},
		{app.EmergencyLogEntry{Outcome: app.OutcomeRateLimited, Via: "api", Client: "192.0.2.9"}, "refused: too many attempts · "},
		{app.EmergencyLogEntry{Outcome: app.OutcomeNotConfigured, Via: "api", Client: "192.0.2.9"}, "refused: emergency access was not set up · "},
		{app.EmergencyLogEntry{Outcome: app.OutcomeUnavailable, Via: "api", Client: "192.0.2.9"}, "refused: emergency access was not yet available on that device · "},
	} {
		c.en.Seq, c.en.At, c.en.ResponderID, c.en.Reason = 3, at, "EMT-7", "found lying down"
		got := logLine(&c.en)
		if want := "#3 · " + at.Local().Format("2006-01-02 15:04:05") + " · " + c.want; !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", c.en.Outcome, got, want)
		}
		if c.en.Outcome != app.OutcomeGranted && strings.Contains(got, c.en.Outcome) || strings.Contains(got, "via ") {
			t.Errorf("%s: the log's code shown: %q", c.en.Outcome, got)
		}
	}
}
