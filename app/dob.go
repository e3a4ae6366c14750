package app

import (
	"encoding/json"
	"time"
)

// EntityCredential is a credential added from a photo (add-credential);
// fields: "type", "status" (pending | confirmed), "verification",
// "extracted" (JSON), "image", "date_of_birth" (YYYY-MM-DD, from the
// document), "document_number", "created_at", "confirmed_at".
const EntityCredential = "credential"

// Credential statuses.
const (
	CredentialPending   = "pending"
	CredentialConfirmed = "confirmed"
)

// DateLayout is how dates are kept and shown (ISO 8601 calendar date).
const DateLayout = "2006-01-02"

// DateOfBirth is the user's date of birth for age claims: from a confirmed
// credential that carries one (the newest confirmation wins), else from the
// profile's date_of_birth field. ok is false when neither exists.
func DateOfBirth(tx Tx) (dob time.Time, fromCredential bool, ok bool, err error) {
	ids, err := tx.IDs(EntityCredential)
	if err != nil {
		return time.Time{}, false, false, err
	}
	var newest string
	for _, id := range ids {
		// Field by field: the entity also holds the document's image.
		get := func(field string) (string, error) {
			c, _, err := tx.Get(EntityCredential, id, field)
			return string(c.Value), err
		}
		status, err := get("status")
		if err != nil {
			return time.Time{}, false, false, err
		}
		if status != CredentialConfirmed {
			continue
		}
		born, err := get("date_of_birth")
		if err != nil {
			return time.Time{}, false, false, err
		}
		d, perr := time.Parse(DateLayout, born)
		if perr != nil {
			continue
		}
		at, err := get("confirmed_at")
		if err != nil {
			return time.Time{}, false, false, err
		}
		if at >= newest {
			newest, dob, ok = at, d, true
		}
	}
	if ok {
		return dob, true, true, nil
	}
	f, found, err := fieldValue(tx, "date_of_birth")
	if err != nil || !found {
		return time.Time{}, false, false, err
	}
	var s string
	if json.Unmarshal(f.Value, &s) != nil {
		return time.Time{}, false, false, nil
	}
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, false, false, nil
	}
	return d, false, true, nil
}

// AgeOn is the age in whole years on a day.
func AgeOn(dob, day time.Time) int {
	y := day.Year() - dob.Year()
	if day.Month() < dob.Month() || (day.Month() == dob.Month() && day.Day() < dob.Day()) {
		y--
	}
	return y
}
