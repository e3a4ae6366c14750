package ui

import (
	"errors"
	"regexp"
	"testing"

	"github.com/secure-personal-profile/spp/app"
)

// Issue 15 §3: the GUI shows no API string: the codes behind "updated_fields
// has an invalid field name!", "credential_image could not be read!" and
// "verification_token has been revoked!" read as sentences that say what
// to do, with no parameter names in them.
func TestMessagesSpeakToPeople(t *testing.T) {
	for _, c := range []struct {
		kind               app.Kind
		code, legacy, want string
	}{
		{app.KindInvalid, "invalid_field_name", "updated_fields has an invalid field name!", "Use letters, digits and spaces for a field's name, starting with a letter (at most 64)."},
		{app.KindUnprocessable, "unreadable_barcode", "credential_image could not be read!", "No barcode found: photograph the back of the card, flat and in focus."},
		{app.KindGone, "verification_token_revoked", "verification_token has been revoked!", codeMessages["verification_token_revoked"]},
		{app.KindInvalid, "invalid_public_url", "public_url must be an http or https URL with a host and no user, query or fragment!",
			"That is not a web address this profile can be reached at: type it as https://name.example (no user name, ? or #)."},
		{app.KindUnauthorized, "invalid_credentials", "email or password is wrong!", "Wrong e-mail or password: type them again."},
		{app.KindInvalid, "invalid_name", "name must be at most 64 characters!", "That name is too long: shorten it (a device's name has at most 64 characters)."},
		{app.KindInvalid, "weak_passphrase", "passphrase is too weak!", "Choose a stronger passphrase: at least 8 characters and not a common one."},
		{app.KindForbidden, "condition_not_met", "none of the person's conditions applies, so access is refused (and logged); call the emergency services if the person needs help!",
			codeMessages["condition_not_met"]},
	} {
		if got := message(app.E(c.kind, c.code, c.legacy)); got != c.want || got == c.legacy {
			t.Errorf("%s: %q, want %q", c.code, got, c.want)
		}
	}
	apiWords := regexp.MustCompile(`\b[a-z]+_[a-z_]+\b|!$`)
	for code, m := range codeMessages {
		if apiWords.MatchString(m) {
			t.Errorf("%s reads like the API: %q", code, m)
		}
	}
	// A code not listed keeps its message; internals stay hidden.
	if got := message(app.E(app.KindInvalid, "some_code", "what it says")); got != "what it says" {
		t.Errorf("unlisted code: %q", got)
	}
	if got := message(app.Internal(nil)); got != "Something went wrong; see the log." {
		t.Errorf("internal: %q", got)
	}
}

// TestMessagesForSettingsErrors: what Settings refuses reads as a sentence,
// not as the API's "public_url must be an http or https URL with a host
// and no user, query or fragment!" (the codes are the app's own).
func TestMessagesForSettingsErrors(t *testing.T) {
	_, err := app.NormalisePublicURL("ftp://home.example.org")
	if got := message(err); got != "That is not a web address this profile can be reached at: type it as https://name.example (no user name, ? or #)." {
		t.Errorf("public URL: %q", got)
	}
	for _, s := range []app.DeviceSettings{
		{SMTP: app.SMTPSettings{Addr: "smtp.example.org"}},
		{SMTP: app.SMTPSettings{Addr: "smtp.example.org:587", From: "me"}},
		{Relays: []string{"relay.example.org"}},
	} {
		err := s.Check()
		var e *app.Error
		if !errors.As(err, &e) {
			t.Fatalf("%+v: %v", s, err)
		}
		if got := message(err); got == e.Message || got != codeMessages[e.Code] {
			t.Errorf("%s: %q", e.Code, got)
		}
	}
}
