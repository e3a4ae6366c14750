package ui

// What the user reads when something the app was asked fails: one
// sentence per app error code (app.Error.Code) that says what to do
// instead. The app's messages are the API's legacy strings ("updated_fields
// has an invalid field name!"), kept byte-exact for API clients only; a
// code not listed here shows its message as it is.

import (
	"errors"
	"fmt"

	"github.com/secure-personal-profile/spp/app"
)

// codeMessages are the sentences shown for app error codes. A code the
// API uses with several meanings is listed only when one sentence is right
// for each (invalid_email, invalid_name, busy, invalid_container); else
// (missing_parameter, code_expired) its message names what is missing or
// which code expired.
var codeMessages = map[string]string{
	// The start screen: unlocking, and joining from another device.
	"invalid_credentials": "Wrong e-mail or password: type them again.",
	codeJoinPassword:      "Wrong password: type the one that unlocks this profile on your other device.",

	// My profile.
	"invalid_field_name":     "Use letters, digits and spaces for a field's name, starting with a letter (at most 64).",
	"value_too_large":        "That value is too long: keep a field under 64 KB.",
	"invalid_date_of_birth":  "Choose the date of birth with the calendar button, or type it as the calendar shows it.",
	"invalid_updated_fields": "That value could not be saved: type it again.",
	"too_deep":               "That value is nested too deeply: keep it to a few levels.",

	// Credentials.
	"unreadable_barcode":      "No barcode found: photograph the back of the card, flat and in focus.",
	"not_aamva":               "The barcode is not a driver's licence or ID card's: photograph the wide barcode on the back of the card.",
	"not_an_image":            "That file is not a picture: choose a PNG, JPEG, GIF or WebP photo.",
	"image_too_large":         fmt.Sprintf("The photo is too large: use one under %d MB and %d megapixels.", app.MaxCredentialImage>>20, app.MaxCredentialPixels/1_000_000),
	"invalid_credential_type": "Choose the kind of document.",
	"credential_not_found":    "This document is no longer here: it was rejected, perhaps on another device.",

	// Shares and links.
	"verification_token_revoked": "This share was revoked: the service no longer sees the field. Share it again to give it back.",
	"field_restricted":           "This field is in the restricted ring, which is never shared: move it to another ring first.",
	"not_shareable":              "This field cannot be shared.",
	"link_revoked":               "This link was revoked: make a new one to share the records again.",
	"link_expired":               "This link has expired: make a new one to share the records again.",
	"invalid_service_id":         "Type the service as its name or domain, on one line and at most 256 characters.",
	"request_decided":            "This request was already answered, perhaps on another device.",
	"request_expired":            "This request has expired: the service has to ask again.",

	// Privacy rings.
	"invalid_ring_name": "Give the ring a name of at most 64 characters, on one line.",

	// Emergency.
	"invalid_contact":          "Type each trusted contact as an e-mail address or a phone number, one per line.",
	"emergency_info_too_large": "The emergency information is too long: keep to what a responder needs.",

	// The responder's screen (lock screen → Emergency information).
	"responder_not_verified": "You could not be verified as a responder: check your responder id and give your secret or badge.",
	"condition_not_met":      "Nothing is shown unless you confirm which of the person's conditions applies; this attempt is logged. If the person needs help, call the emergency services.",

	// Health.
	"record_too_large":    "That record is too large: split it into smaller records.",
	"invalid_expiration":  "Type the last day the link works as YYYY-MM-DD, today or later.",
	"invalid_record_type": "Name the record's type with letters, digits and spaces, starting with a letter (at most 64), e.g. Lab results.",

	// Devices: pairing (a device's name; a service's, at most 256, is the
	// API's only), the backup and restoring it.
	"invalid_name":         "That name is too long: shorten it (a device's name has at most 64 characters).",
	"weak_passphrase":      "Choose a stronger passphrase: at least 8 characters and not a common one.",
	"container_unreadable": "The passphrase is wrong or the backup file is damaged: type the passphrase again, or choose another copy of the backup.",
	"invalid_container":    "That file is not a backup this version of the app can restore: choose a file made with Devices → Backup → Export.",

	// Settings.
	"invalid_public_url":  "That is not a web address this profile can be reached at: type it as https://name.example (no user name, ? or #).",
	"invalid_smtp_addr":   "Type the e-mail relay as host:port, e.g. smtp.example.org:587.",
	"invalid_listen_addr": "Type the listener address as host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080.",
	"invalid_smtp_from":   "Type the sender as an e-mail address, e.g. me@example.org.",
	"invalid_relay":       "Type each relay as a multiaddr with /p2p/ and the relay's id.",
	"no_mailer":           "No e-mail relay is set on this device: set one and save; until then e-mail waits in the outbox.",

	// Anywhere.
	// (The sign-up's e-mail, the doctor's, a test e-mail's recipient.)
	"invalid_email": "That is not an e-mail address: type it as name@example.org.",
	"busy":          "This device is busy: wait a moment, then try again.",
	"weak_password": "Choose a stronger password: at least 8 characters, not your e-mail address and not a common one.",
	"token_expired": "Your session has ended: lock the app and unlock it again.",
	"rate_limited":  "Too many attempts in a short time: wait a few minutes, then try again.",
	"storage_full":  "This device's storage is full: free some space, then try again.",
}

// codeJoinPassword is the GUI's own code for a join refused for its
// password: the app says invalid_credentials, as for a wrong unlock, and
// StartScreen.join tells them apart (a join types no e-mail).
const codeJoinPassword = "ui_join_password"

// message is what the user reads for an error: the sentence for its code,
// else the app's message; never internals.
func message(err error) string {
	var e *app.Error
	if !errors.As(err, &e) || e.Kind == app.KindInternal {
		return "Something went wrong; see the log."
	}
	if m, ok := codeMessages[e.Code]; ok {
		return m
	}
	return e.Message
}
