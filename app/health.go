package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Health records and the links that share them with a doctor (use case 10).
//
//	health_record/{record_id}: type, data (JSON, exactly as sent),
//	    created_at, updated_at — all sealed
//	health_link/{link_id}: token_hash (clear); token, doctor_email,
//	    records (the chosen ids and types), created_at, expires_at,
//	    passcode (Argon2id parameters and hash), revoked_at — sealed;
//	    locked_at (clear: written by the device that locked it)
//	link_opening/{id}: sealed (clear: sealed to the user's inbox key, as
//	    the doctor's request has no data key) — JSON of link_id, at,
//	    client, user_agent, outcome and record_ids (what it showed); every
//	    opening of a link and every wrong passcode. Older openings have a
//	    "record" cell sealed under the data key.
//
// The link's token reads the link's view (capabilities.go): the chosen
// records, re-derived whenever one changes, sealed under a key from the
// token and, with a passcode, the passcode's hash.
const (
	EntityHealthRecord = "health_record"
	EntityHealthLink   = "health_link"
	EntityLinkOpening  = "link_opening"
)

// Limits of health records and links.
const (
	maxRecordData      = 256 << 10
	DefaultLinkTTL     = 7 * 24 * time.Hour
	MaxLinkTTL         = 365 * 24 * time.Hour
	LinkPasscodeTries  = 10 // wrong passcodes after which a link dies
	minPasscode        = 6
	maxPasscode        = 256
	maxLinkSelectors   = 100
	linkOpeningsListed = 200 // per link, newest first
)

// Link opening outcomes, as logged.
const (
	LinkOpened        = "opened"
	LinkWrongPasscode = "wrong_passcode"
	LinkLockedNow     = "locked"
)

var (
	errRecordMissing   = E(KindInvalid, "missing_parameter", "record_type,record_data must exist!")
	errRecordType      = E(KindInvalid, "invalid_record_type", "record_type must match [a-z][a-z0-9_]{0,63}!")
	errRecordTooLarge  = E(KindTooLarge, "record_too_large", "record_data is too large!")
	errRecordNotFound  = E(KindNotFound, "unknown_record", "record_id does not exist!")
	errLinkMissing     = E(KindInvalid, "missing_parameter", "doctor_email,health_records_info must exist!")
	errDoctorEmail     = E(KindInvalid, "invalid_email", "doctor_email format error!")
	errExpiration      = E(KindInvalid, "invalid_expiration", "expiration_date must be a future date!")
	errLinkRecords     = E(KindInvalid, "invalid_records", "health_records_info must name health records or record types!")
	errPasscodeFormat  = E(KindInvalid, "invalid_passcode", fmt.Sprintf("passcode must be %d to %d characters!", minPasscode, maxPasscode))
	errLinkUnknown     = E(KindNotFound, "unknown_link", "access_link does not exist!")
	errLinkExpired     = E(KindGone, "link_expired", "access_link has expired!")
	errLinkRevoked     = E(KindGone, "link_revoked", "access_link has been revoked!")
	errLinkLocked      = E(KindGone, "link_locked", "access_link has been locked after too many wrong passcodes!")
	errPasscodeMissing = E(KindUnauthorized, "passcode_required", "passcode must exist!")
	errPasscodeWrong   = E(KindForbidden, "wrong_passcode", "passcode is wrong!")
)

// HealthRecord is one health record.
type HealthRecord struct {
	ID        string          `json:"record_id"`
	Type      string          `json:"record_type"`
	Data      json.RawMessage `json:"record_data"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func readRecord(tx Tx, id string) (*HealthRecord, bool, error) {
	c, err := tx.Entity(EntityHealthRecord, id)
	if err != nil || len(c) == 0 {
		return nil, false, err
	}
	r := &HealthRecord{ID: id, Type: string(c["type"].Value), Data: json.RawMessage(c["data"].Value)}
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, string(c["created_at"].Value))
	r.UpdatedAt, _ = time.Parse(time.RFC3339Nano, string(c["updated_at"].Value))
	if len(r.Data) == 0 {
		r.Data = json.RawMessage("null")
	}
	return r, true, nil
}

func sortRecords(rs []*HealthRecord) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].CreatedAt.Equal(rs[j].CreatedAt) {
			return rs[i].CreatedAt.Before(rs[j].CreatedAt)
		}
		return rs[i].ID < rs[j].ID
	})
}

// PutHealthRecord adds a health record, or, with recordID, replaces the
// type and data of an existing one. created is true for a new record.
func (a *HealthService) PutHealthRecord(ctx context.Context, p *Principal, recordID, recordType string, data json.RawMessage) (rec *HealthRecord, created bool, err error) {
	recordType = strings.ToLower(strings.TrimSpace(recordType))
	if recordType == "" || len(data) == 0 || string(data) == "null" || string(data) == `""` {
		return nil, false, errRecordMissing
	}
	if !ValidFieldName(recordType) {
		return nil, false, errRecordType
	}
	if len(data) > maxRecordData {
		return nil, false, errRecordTooLarge
	}
	if err := checkDepth("record_data", data); err != nil {
		return nil, false, err
	}
	now := a.now()
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		rec = &HealthRecord{ID: recordID, Type: recordType, Data: data, CreatedAt: now, UpdatedAt: now}
		if recordID == "" {
			rec.ID, created = NewID(), true
		} else {
			old, ok, err := readRecord(tx, recordID)
			if err != nil {
				return err
			}
			if !ok {
				return errRecordNotFound
			}
			rec.CreatedAt = old.CreatedAt
		}
		cells := []Cell{
			{Field: "type", Value: []byte(rec.Type)},
			{Field: "data", Value: rec.Data},
			{Field: "updated_at", Value: []byte(now.Format(time.RFC3339Nano))},
		}
		if created {
			cells = append(cells, Cell{Field: "created_at", Value: []byte(now.Format(time.RFC3339Nano))})
		}
		for _, c := range cells {
			c.Entity, c.ID = EntityHealthRecord, rec.ID
			if err := tx.Put(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, AsError(err)
	}
	return rec, created, nil
}

// HealthRecords lists the principal's health records, oldest first; with
// recordType, only records of that type.
func (a *HealthService) HealthRecords(ctx context.Context, p *Principal, recordType string) ([]*HealthRecord, error) {
	recordType = strings.ToLower(strings.TrimSpace(recordType))
	out := []*HealthRecord{}
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		return eachEntity(tx, EntityHealthRecord, readRecord, func(r *HealthRecord) error {
			if recordType == "" || r.Type == recordType {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, Internal(err)
	}
	sortRecords(out)
	return out, nil
}

// DeleteHealthRecord deletes a record; links that named it show it no more.
func (a *HealthService) DeleteHealthRecord(ctx context.Context, p *Principal, recordID string) error {
	if recordID == "" {
		return E(KindInvalid, "missing_parameter", "record_id must exist!")
	}
	err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		if _, ok, err := readRecord(tx, recordID); err != nil {
			return err
		} else if !ok {
			return errRecordNotFound
		}
		return tx.Delete(EntityHealthRecord, recordID)
	})
	if err != nil {
		return AsError(err)
	}
	return nil
}
