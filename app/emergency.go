package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Emergency access (use cases 4 and 5). One configuration per user, in the
// synced cells of entity "emergency" (id = access_id):
//
//	key         the emergency key (EK), sealed under the user's data key:
//	            another device of the user re-wraps it under its own
//	            installation key when the user signs in there
//	criteria    clear: the criteria, sealed under EK
//	contacts    clear: the trusted contacts, sealed under EK
//	info        clear: emergency_info and info_field, sealed under EK
//	token_hash  clear: SHA-256 of the emergency page's token
//	token       the emergency page's token (for its QR code), sealed
//	created_at, updated_at
//
// EK wrapped under this device's installation key lives in the
// device-local table emergency_keys: that wrap is what lets a grant open
// the emergency information without the user's password.
const (
	EntityEmergency      = "emergency"
	EntityEmergencyGrant = "emergency_grant" // id = log_id; field "record" (JSON): a grant, synced to the user's devices
)

// Rate limits of the grant (and of the emergency page's form).
const (
	// Every attempt from one client address counts: over it, a request
	// goes no further (what strangers can spend on this machine).
	GrantAddressLimit = 20
	// Refused attempts on one profile count. Over it, a request is still
	// checked, and passes with a valid proof (a responder's secret or
	// badge, or under criteria that accept any responder); only a
	// request that would be refused is refused as rate-limited (and the
	// log takes one entry for a run of them). So a stranger failing on
	// purpose cannot hold real responders off; guessing is hopeless
	// anyway (160-bit secrets, signed badges).
	GrantProfileLimit = 10
	GrantWindow       = 15 * time.Minute
)

// Limits on what a configuration holds.
const (
	maxContacts       = 20
	maxEmergencyInfo  = 64 << 10
	maxEmergencyField = 64
	maxReason         = 1000
)

// Responder policies of the criteria.
const (
	RespondersVerified = "verified"
	RespondersAny      = "any"
)

// Outcomes of a grant attempt, as logged.
const (
	OutcomeGranted       = "granted"
	OutcomeNotVerified   = "not_verified"
	OutcomeNotConfigured = "not_configured"
	OutcomeUnavailable   = "unavailable"
	OutcomeRateLimited   = "rate_limited"
)

var (
	errEmergencyInfoMissing = E(KindInvalid, "missing_parameter", "emergency_info must exist!")
	errContacts             = E(KindInvalid, "invalid_contact", "trusted_contacts must be e-mail addresses or phone numbers!")
	errTooManyContacts      = E(KindInvalid, "too_many_contacts", fmt.Sprintf("at most %d trusted contacts!", maxContacts))
	errEmergencyField       = E(KindInvalid, "invalid_field", "info_field is not shareable!")
	errEmergencyInfoSize    = E(KindTooLarge, "emergency_info_too_large", "emergency_info is too large!")
	errCriteria             = E(KindInvalid, "invalid_criteria", "criteria must be a JSON object!")
	errCriteriaResponders   = E(KindInvalid, "invalid_criteria", "criteria responders must be verified or any!")
	errGrantMissing         = E(KindInvalid, "missing_parameter", "responder_id,reason,email must exist!")
	errPageGrantMissing     = E(KindInvalid, "missing_parameter", "responder_id,reason must exist!")
	errReasonTooLong        = E(KindInvalid, "invalid_reason", fmt.Sprintf("reason must be at most %d characters!", maxReason))
	errGrantEmail           = E(KindNotFound, "unknown_email", "email must exist!")
	errNoEmergency          = E(KindNotFound, "no_emergency_access", "this user hasn\u2019t set emergency access!")
	errNotVerified          = E(KindForbidden, "responder_not_verified", "responder is not verified!")
	errEmergencyPage        = E(KindNotFound, "unknown_emergency_token", "emergency_url does not exist!")
	errEmergencyUnavailable = E(KindConflict, "emergency_key_unavailable", "emergency access is not yet available on this device; the user must sign in here once!")
)

// EmergencySetup is a user's emergency configuration as sent. Raw values
// are JSON (a form field's text that is not JSON arrives as a JSON string).
type EmergencySetup struct {
	TrustedContacts json.RawMessage // array of e-mail addresses / E.164 numbers, or one, or comma-separated
	EmergencyInfo   json.RawMessage // any JSON value, kept exactly
	Criteria        json.RawMessage // object, e.g. {"conditions":[…],"responders":"verified"}
	InfoField       json.RawMessage // field names: array, comma-separated string or one name
}

// EmergencyAccess is the result of setting emergency access up.
type EmergencyAccess struct {
	AccessID string
	URL      string // the emergency page a QR code opens
	Created  bool   // false when an existing configuration was updated
}

// emergencyInfo is what is sealed in the "info" cell.
type emergencyInfo struct {
	EmergencyInfo json.RawMessage `json:"emergency_info"` // null when only fields were chosen
	InfoField     []string        `json:"info_field"`
}

// emergencyCriteria is what is sealed in the "criteria" cell.
type emergencyCriteria struct {
	Responders string          `json:"responders"`
	Conditions []string        `json:"conditions,omitempty"`
	Raw        json.RawMessage `json:"raw"` // the criteria as sent
}

func emergencyAD(userID, accessID, part string) []byte {
	return []byte("emergency\x00" + userID + "\x00" + accessID + "\x00" + part)
}

func emergencyKeyPurpose(userID, accessID string) string {
	return purposeEmergencyKey + userID + "/" + accessID
}

// listParam reads a list parameter: a JSON array of strings, or a string
// holding one item or comma-separated items. ok is false for any other
// JSON (a number, an object, an array of non-strings).
func listParam(raw json.RawMessage) (items []string, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var arr []string
	if json.Unmarshal(raw, &arr) == nil {
		for _, s := range arr {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		return items, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			items = append(items, part)
		}
	}
	return items, true
}

// normContact normalises a trusted contact: an e-mail address as given, a
// phone number without spaces, dots, dashes or parentheses.
func normContact(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if ValidEmail(s) {
		return s, true
	}
	p := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	if ValidPhone(p) {
		return p, true
	}
	return "", false
}

func parseCriteria(raw json.RawMessage) (*emergencyCriteria, error) {
	c := &emergencyCriteria{Responders: RespondersVerified, Raw: json.RawMessage(`{}`)}
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	c.Raw = raw
	var s string
	if json.Unmarshal(raw, &s) == nil {
		// A plain text (a legacy client's description): the conditions.
		if s = strings.TrimSpace(s); s != "" {
			c.Conditions = []string{s}
		}
		return c, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, errCriteria
	}
	if r, ok := obj["responders"]; ok {
		var v string
		if json.Unmarshal(r, &v) != nil {
			return nil, errCriteriaResponders
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case RespondersVerified:
		case RespondersAny:
			c.Responders = RespondersAny
		default:
			return nil, errCriteriaResponders
		}
	}
	if cond, ok := obj["conditions"]; ok {
		list, ok := listParam(cond)
		if !ok {
			return nil, E(KindInvalid, "invalid_criteria", "criteria conditions must be a list of strings!")
		}
		c.Conditions = list
	}
	return c, nil
}

// SetupEmergency sets up (or updates, keeping the access id and the page's
// address) the principal's emergency access.
func (a *EmergencyService) SetupEmergency(ctx context.Context, p *Principal, s EmergencySetup) (*EmergencyAccess, error) {
	if err := cmp.Or(checkDepth("emergency_info", s.EmergencyInfo), checkDepth("criteria", s.Criteria),
		checkDepth("trusted_contacts", s.TrustedContacts), checkDepth("info_field", s.InfoField)); err != nil {
		return nil, err
	}
	fields, ok := listParam(s.InfoField)
	if !ok {
		return nil, errEmergencyField
	}
	info := s.EmergencyInfo
	if len(info) == 0 || string(info) == "null" || string(info) == `""` {
		info = nil
	}
	if info == nil && len(fields) == 0 {
		return nil, errEmergencyInfoMissing
	}
	contacts, ok := listParam(s.TrustedContacts)
	if !ok {
		return nil, errContacts
	}
	seen := map[string]bool{}
	var clean []string
	for _, c := range contacts {
		n, ok := normContact(c)
		if !ok {
			return nil, errContacts
		}
		if !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			clean = append(clean, n)
		}
	}
	if len(clean) > maxContacts {
		return nil, errTooManyContacts
	}
	var names []string
	seenField := map[string]bool{}
	for _, f := range fields {
		f = strings.ToLower(f)
		if !ValidFieldName(f) {
			return nil, errEmergencyField
		}
		if !seenField[f] {
			seenField[f] = true
			names = append(names, f)
		}
	}
	if len(names) > maxEmergencyField {
		return nil, errEmergencyField
	}
	if len(info) > maxEmergencyInfo {
		return nil, errEmergencyInfoSize
	}
	crit, err := parseCriteria(s.Criteria)
	if err != nil {
		return nil, err
	}

	infoJSON, err := json.Marshal(emergencyInfo{EmergencyInfo: info, InfoField: names})
	if err != nil {
		return nil, Internal(err)
	}
	critJSON, err := json.Marshal(crit)
	if err != nil {
		return nil, Internal(err)
	}
	if clean == nil {
		clean = []string{}
	}
	contactsJSON, err := json.Marshal(clean)
	if err != nil {
		return nil, Internal(err)
	}

	out := &EmergencyAccess{}
	var ek []byte
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityEmergency)
		if err != nil {
			return err
		}
		now := []byte(a.now().Format(time.RFC3339Nano))
		var token string
		if len(ids) > 0 {
			out.AccessID = ids[0]
			k, ok, err := tx.Get(EntityEmergency, out.AccessID, "key")
			if err != nil {
				return err
			}
			t, ok2, err := tx.Get(EntityEmergency, out.AccessID, "token")
			if err != nil {
				return err
			}
			if !ok || !ok2 {
				return fmt.Errorf("emergency configuration %s lacks its key or token", out.AccessID)
			}
			ek, token = k.Value, string(t.Value)
		} else {
			out.AccessID, out.Created = NewID(), true
			if ek, err = crypto.NewKey(); err != nil {
				return err
			}
			if token, err = crypto.NewToken(); err != nil {
				return err
			}
			put := []Cell{
				{Field: "key", Value: ek},
				{Field: "token", Value: []byte(token)},
				{Field: "token_hash", Clear: crypto.TokenIndex(token)},
				{Field: "created_at", Value: now},
			}
			for _, c := range put {
				c.Entity, c.ID = EntityEmergency, out.AccessID
				if err := tx.Put(c); err != nil {
					return err
				}
			}
		}
		out.URL = a.emergencyPageURL(ctx, p.UserID, token)
		for part, plain := range map[string][]byte{"info": infoJSON, "criteria": critJSON, "contacts": contactsJSON} {
			sealed, err := crypto.Seal(ek, plain, emergencyAD(p.UserID, out.AccessID, part))
			if err != nil {
				return err
			}
			if err := tx.Put(Cell{Entity: EntityEmergency, ID: out.AccessID, Field: part, Clear: sealed}); err != nil {
				return err
			}
		}
		return tx.Put(Cell{Entity: EntityEmergency, ID: out.AccessID, Field: "updated_at", Value: now})
	})
	if err != nil {
		return nil, Internal(err)
	}
	if err := a.wrapEmergencyKey(ctx, p.UserID, out.AccessID, ek); err != nil {
		return nil, Internal(err)
	}
	a.cfg.Log.Info("emergency access set up", "user_id", p.UserID, "access_id", out.AccessID, "created", out.Created)
	return out, nil
}

func (a *EmergencyService) wrapEmergencyKey(ctx context.Context, userID, accessID string, ek []byte) error {
	w, err := crypto.Wrap(a.store.InstallationKey(), ek, emergencyKeyPurpose(userID, accessID))
	if err != nil {
		return err
	}
	return a.store.PutEmergencyKey(ctx, userID, w, a.now())
}

func (a *core) emergencyPageURL(ctx context.Context, userID, token string) string {
	return a.userURL(ctx, userID, "/api/v1/emergency/"+token)
}

// UnlockEmergency makes a user's emergency access usable on this device:
// when the configuration arrived by sync and this device has no wrap of
// the emergency key yet, it wraps the key (from its copy sealed under the
// user's data key) under this device's installation key. Called whenever
// the user acts here with a token; harmless when there is nothing to do.
func (a *EmergencyService) UnlockEmergency(ctx context.Context, p *Principal) error {
	var accessID string
	var ek []byte
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityEmergency)
		if err != nil || len(ids) == 0 {
			return err
		}
		accessID = ids[0]
		k, ok, err := tx.Get(EntityEmergency, accessID, "key")
		if err != nil || !ok {
			return err
		}
		ek = k.Value
		return nil
	})
	if err != nil {
		return Internal(err)
	}
	if ek == nil {
		return nil
	}
	w, err := a.store.EmergencyKey(ctx, p.UserID)
	if err == nil {
		if _, err := crypto.Unwrap(a.store.InstallationKey(), w, emergencyKeyPurpose(p.UserID, accessID)); err == nil {
			return nil
		}
	} else if !errors.Is(err, ErrNotFound) {
		return Internal(err)
	}
	if err := a.wrapEmergencyKey(ctx, p.UserID, accessID, ek); err != nil {
		return Internal(err)
	}
	return nil
}

// DeleteEmergency turns the principal's emergency access off: the
// configuration is deleted (on every device, by sync) and this device's
// wrap of the key dropped. The log stays. deleted is false when there was
// nothing to delete.
func (a *EmergencyService) DeleteEmergency(ctx context.Context, p *Principal) (deleted bool, err error) {
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityEmergency)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Delete(EntityEmergency, id); err != nil {
				return err
			}
			deleted = true
		}
		return nil
	})
	if err != nil {
		return false, Internal(err)
	}
	if err := a.store.DeleteEmergencyKey(ctx, p.UserID); err != nil {
		return false, Internal(err)
	}
	return deleted, nil
}

// EmergencyURL returns the principal's emergency page address (what the
// emergency QR code carries).
func (a *EmergencyService) EmergencyURL(ctx context.Context, p *Principal) (string, error) {
	return a.tokenURL(ctx, p, EntityEmergency, "", "/api/v1/emergency/", errNoEmergency)
}

// EmergencyPageExists checks an emergency page token (the page's form is
// shown only for a known one).
func (a *EmergencyService) EmergencyPageExists(ctx context.Context, token string) error {
	if token == "" {
		return errEmergencyPage
	}
	_, err := a.capabilityByToken(ctx, CapEmergency, token)
	if errors.Is(err, ErrNotFound) {
		return errEmergencyPage
	}
	if err != nil {
		return Internal(err)
	}
	return nil
}

// emergencyID returns the user's emergency access id, "" when none.
func (a *EmergencyService) emergencyID(ctx context.Context, userID string) (string, error) {
	var id string
	err := a.store.View(ctx, userID, nil, func(tx Tx) error {
		ids, err := tx.IDs(EntityEmergency)
		if len(ids) > 0 {
			id = ids[0]
		}
		return err
	})
	return id, err
}

// emergencyKey unwraps the user's emergency key with this device's
// installation key; ErrNotFound when this device holds no wrap of it.
func (a *EmergencyService) emergencyKey(ctx context.Context, userID, accessID string) ([]byte, error) {
	w, err := a.store.EmergencyKey(ctx, userID)
	if err != nil {
		return nil, err
	}
	ek, err := crypto.Unwrap(a.store.InstallationKey(), w, emergencyKeyPurpose(userID, accessID))
	if err != nil {
		// A wrap of another (older) configuration's key: none usable here.
		return nil, ErrNotFound
	}
	return ek, nil
}

// EmergencyStore is the device-local part of a Store for emergency
// access: this device's wrap of each user's emergency key, the users'
// tamper-evident access logs, and the registry of verified responders.
// None of it is synced.
type EmergencyStore interface {
	PutEmergencyKey(ctx context.Context, userID string, wrapped []byte, at time.Time) error
	// EmergencyKey returns the wrap, or ErrNotFound.
	EmergencyKey(ctx context.Context, userID string) ([]byte, error)
	DeleteEmergencyKey(ctx context.Context, userID string) error

	// AppendEmergencyLog runs fn with the user's last entry (nil when the
	// log is empty) in a write transaction and appends what fn returns
	// (nothing when nil): entries are appended one at a time, in order.
	AppendEmergencyLog(ctx context.Context, userID string, fn func(last *EmergencyLogRecord) (*EmergencyLogRecord, error)) error
	// EmergencyLog lists a user's entries by sequence number.
	EmergencyLog(ctx context.Context, userID string) ([]*EmergencyLogRecord, error)

	// PutResponder adds or replaces a responder (by MAC).
	PutResponder(ctx context.Context, r *ResponderRecord) error
	// Responder finds one by MAC, or ErrNotFound.
	Responder(ctx context.Context, mac []byte) (*ResponderRecord, error)
	ResponderList(ctx context.Context) ([]*ResponderRecord, error)
	// DeleteResponder reports whether there was one to delete.
	DeleteResponder(ctx context.Context, mac []byte) (bool, error)
	ResponderOrgStore // organizations trusted to issue badges (app/responder_badges.go)
}
