package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"
)

// MaxFieldValue caps one profile field's value (its JSON text).
const MaxFieldValue = 64 << 10

var (
	errUpdatedMissing  = E(KindInvalid, "missing_parameter", "updated_fields must exist!")
	errUpdatedNotObj   = E(KindInvalid, "invalid_updated_fields", "updated_fields must be a JSON object!")
	errUpdatedName     = E(KindInvalid, "invalid_field_name", "updated_fields has an invalid field name!")
	errUpdatedTwice    = E(KindInvalid, "invalid_field_name", "updated_fields names a field twice!")
	errUpdatedTooLarge = E(KindInvalid, "value_too_large", "updated_fields value is too large!")
	errUpdatedDOB      = E(KindInvalid, "invalid_date_of_birth", "date_of_birth must be a date (YYYY-MM-DD)!")
)

// UpdateResult is what update-info did.
type UpdateResult struct {
	Updated  []string // field names, sorted
	Notified int      // services sent a profile.updated event
}

// UpdateInfo sets profile fields from a JSON object (field → new value;
// null deletes the value and keeps the field's ring). Nothing holds a copy
// of a value, so every reader (shares, /verify, the public page, …) sees
// the new value on its next read. Each service that can see a changed
// field and has a webhook gets a signed profile.updated event with the new
// values it may see, queued in the same transaction.
func (a *ProfileService) UpdateInfo(ctx context.Context, p *Principal, raw json.RawMessage) (*UpdateResult, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errUpdatedMissing
	}
	if JSONDepth(raw, MaxJSONDepth+1) > MaxJSONDepth+1 {
		return nil, TooDeep("updated_fields") // a value in it is too deep
	}
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return nil, errUpdatedNotObj
	}
	updates := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		name := strings.ToLower(strings.TrimSpace(k))
		if !ValidFieldName(name) {
			return nil, errUpdatedName
		}
		if _, dup := updates[name]; dup {
			return nil, errUpdatedTwice
		}
		if len(v) > MaxFieldValue {
			return nil, errUpdatedTooLarge
		}
		if err := checkDepth(name, v); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, errUpdatedNotObj
		}
		if buf.Len() > MaxFieldValue {
			return nil, errUpdatedTooLarge
		}
		if name == "date_of_birth" && buf.String() != "null" {
			var s string
			if json.Unmarshal(buf.Bytes(), &s) != nil {
				return nil, errUpdatedDOB
			}
			if _, err := time.Parse(DateLayout, s); err != nil {
				return nil, errUpdatedDOB
			}
		}
		updates[name] = buf.Bytes()
	}
	names := sortedKeys(updates)
	res := &UpdateResult{Updated: names}
	// Retryable: a run sets res.Notified afresh; its events are queued in
	// the transaction.
	err := a.updateRetryable(ctx, p.UserID, p.DEK, func(tx Tx) error {
		for _, n := range names {
			if err := setFieldValue(tx, n, updates[n]); err != nil {
				return err
			}
		}
		n, err := a.notifyUpdated(tx, p.UserID, updates)
		res.Notified = n
		return err
	})
	if err != nil {
		return nil, AsError(err)
	}
	return res, nil
}

// setFieldValue writes (or, for null, deletes) a field's value. A new
// field is placed in its default ring; an existing one keeps its ring,
// also when its value is deleted.
func setFieldValue(tx Tx, name string, value json.RawMessage) error {
	id := fieldID(tx, name)
	// The whole (small) entity in one read: putFieldCell reads its name.
	cells, err := tx.Entity(EntityField, id)
	if err != nil {
		return err
	}
	ring, hadRing := cells["ring"]
	if string(value) == "null" {
		if err := tx.Delete(EntityField, id); err != nil {
			return err
		}
		if hadRing {
			return putFieldCell(tx, name, "ring", ring.Value)
		}
		return nil
	}
	if err := putFieldCell(tx, name, "value", value); err != nil {
		return err
	}
	if !hadRing {
		return putFieldCell(tx, name, "ring", []byte(DefaultRing(name)))
	}
	return nil
}

// notifyUpdated queues a profile.updated event for each service with a
// webhook that can see one of the changed fields (or a claim derived from
// a changed date of birth), with the values it may see. It runs after the
// writes, in the same transaction, so placements are the new ones. It
// reads only what it needs: the services, the rings of the changed
// fields, and the shares of the services with a webhook.
func (a *ProfileService) notifyUpdated(tx Tx, userID string, updates map[string]json.RawMessage) (int, error) {
	ids, err := tx.IDs(EntityService)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var hooked []*service
	for _, id := range ids {
		s, ok, err := readService(tx, id)
		if err != nil {
			return 0, err
		}
		if ok && s.WebhookURL != "" && s.RevokedAt.IsZero() {
			hooked = append(hooked, s)
		}
	}
	if len(hooked) == 0 {
		return 0, nil
	}
	levels := make(map[string]string, len(updates))
	level := func(name string) (string, error) {
		if l, ok := levels[name]; ok {
			return l, nil
		}
		r, err := fieldRing(tx, name)
		if err != nil {
			return "", err
		}
		l, err := ringLevel(tx, r)
		levels[name] = l
		return l, err
	}
	now := a.now()
	_, dobChanged := updates["date_of_birth"]
	n := 0
	for _, s := range hooked {
		role := "" // no role: only what it was given
		if s.Role != "" {
			if role, err = ringLevel(tx, s.Role); err != nil {
				return 0, err
			}
			role = roleCap(role)
		}
		shares, err := s.shares(tx)
		if err != nil {
			return 0, err
		}
		shared := map[string]bool{}
		for _, sh := range shares {
			if sh.active(now) {
				shared[sh.Field] = true
			}
		}
		changed := map[string]json.RawMessage{}
		for f, val := range updates {
			l, err := level(f)
			if err != nil {
				return 0, err
			}
			if l != RingRestricted && (seesByRole(l, role) || shared[f]) {
				changed[f] = val
			}
		}
		if dobChanged {
			for f := range shared {
				if !derivedClaim(f) {
					continue
				}
				val, err := claimValue(tx, f, now)
				switch {
				case err == nil:
				case AsError(err).Kind == KindInternal:
					return 0, err
				case AsError(err).Kind == KindForbidden:
					continue // restricted: not theirs to see
				default:
					val = json.RawMessage("null") // no date of birth any more
				}
				changed[f] = val
			}
		}
		if len(changed) == 0 {
			continue
		}
		if err := a.app.enqueueEvent(tx, userID, s, EventProfileUpdated, map[string]any{"updated": changed, "fields": sortedKeys(changed)}); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
