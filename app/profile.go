package app

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// Entity kinds stored in the synced cells.
const (
	EntityProfile = "profile" // one per user: keys and secrets given at registration
	EntityField   = "field"   // one per profile field, id = fieldID(name); cells name, value, ring (sealed)
)

// Ring levels, from least to most protected.
const (
	RingPublic      = "public"
	RingSemiPrivate = "semi-private"
	RingPrivate     = "private"
	RingRestricted  = "restricted"
)

// fieldNameRE is the shape of a profile field name (after lower-casing).
var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ValidFieldName reports whether name is a valid profile field name.
func ValidFieldName(name string) bool { return fieldNameRE.MatchString(name) }

// DefaultRing is where a field sits until the user moves it.
func DefaultRing(field string) string {
	switch field {
	case "name", "handle":
		return RingPublic
	case "email":
		return RingSemiPrivate
	case "home_address", "address", "phone", "date_of_birth", "dob":
		return RingPrivate
	case "credentials", "credential", "health_records", "health_record":
		// Default placement of API.md: credentials and health records
		// leave only through the emergency set, a health link or an export.
		return RingRestricted
	default:
		return RingPrivate
	}
}

// fieldID is the id of a profile field's entity: a keyed hash of its name
// (nameID), so that what a user keeps (hiv_status) is not said in clear
// by the database, the operation log or sync; the name itself is sealed in
// the entity's "name" cell.
func fieldID(tx Tx, name string) string { return txNameID(tx, "field", name) }

// putFieldCell writes one cell of a field, and its sealed name.
func putFieldCell(tx Tx, name, cell string, value []byte) error {
	id := fieldID(tx, name)
	if c, ok, err := tx.Get(EntityField, id, "name"); err != nil {
		return err
	} else if !ok || string(c.Value) != name {
		if err := tx.Put(Cell{Entity: EntityField, ID: id, Field: "name", Value: []byte(name)}); err != nil {
			return err
		}
	}
	return tx.Put(Cell{Entity: EntityField, ID: id, Field: cell, Value: value})
}

// fieldNames lists the names of the profile's fields, sorted.
func fieldNames(tx Tx) ([]string, error) {
	ids, err := tx.IDs(EntityField)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		c, ok, err := tx.Get(EntityField, id, "name")
		if err != nil {
			return nil, err
		}
		if ok {
			names = append(names, string(c.Value))
		}
	}
	sort.Strings(names)
	return names, nil
}

// migrateFieldIDs moves every field that an older version keyed by its
// name to its keyed-hash id.
func migrateFieldIDs(tx Tx) error {
	ids, err := tx.IDs(EntityField)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := normaliseFieldID(tx, id); err != nil {
			return err
		}
	}
	return nil
}

// normaliseFieldID returns the keyed-hash id of a field entity that was
// just written: a field written under its name (by an older version, or
// a device that has not upgraded) is moved to its keyed-hash id first.
func normaliseFieldID(tx Tx, id string) (string, error) {
	cells, err := tx.Entity(EntityField, id) // small: read whole, kept for the views that follow
	if err != nil {
		return id, err
	}
	if _, ok := cells["name"]; ok || !ValidFieldName(id) {
		return id, nil
	}
	if len(cells) == 0 {
		return fieldID(tx, id), nil
	}
	for f, c := range cells {
		if err := putFieldCell(tx, id, f, c.Value); err != nil {
			return "", err
		}
	}
	return fieldID(tx, id), tx.Delete(EntityField, id)
}

// putField writes a profile field's value (as JSON) and its ring.
func putField(tx Tx, name string, value any, ring string) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	if err := putFieldCell(tx, name, "value", b); err != nil {
		return err
	}
	return putFieldCell(tx, name, "ring", []byte(ring))
}

// Field is one profile field as the user sees it.
type Field struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
	Ring  string          `json:"ring"`
}

// fieldValue reads a field's current value (JSON) and ring.
func fieldValue(tx Tx, name string) (Field, bool, error) {
	cells, err := tx.Entity(EntityField, fieldID(tx, name))
	if err != nil || len(cells) == 0 {
		return Field{}, false, err
	}
	return fieldOf(name, cells), true, nil
}

// fieldOf is the field of that name whose cells these are.
func fieldOf(name string, cells map[string]Cell) Field {
	f := Field{Name: name, Value: json.RawMessage("null"), Ring: DefaultRing(name)}
	if c, ok := cells["value"]; ok {
		f.Value = c.Value
	}
	if c, ok := cells["ring"]; ok {
		f.Ring = string(c.Value)
	}
	return f
}

// Fields lists the principal's profile fields with their rings, by name.
func (a *ProfileService) Fields(ctx context.Context, p *Principal) ([]Field, error) {
	var out []Field
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) (err error) {
		out, err = allFields(tx)
		return err
	})
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// allFields reads every profile field with its value and ring, by name
// (one read of every field's cells).
func allFields(tx Tx) ([]Field, error) {
	all, err := tx.Entities(EntityField)
	if err != nil {
		return nil, err
	}
	out := make([]Field, 0, len(all))
	for _, cells := range all {
		c, ok := cells["name"]
		if !ok {
			continue // a field of an older version, keyed by its name: normaliseFieldID moves it
		}
		out = append(out, fieldOf(string(c.Value), cells))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Text returns a field's value as display text: a JSON string
// unquoted, anything else as JSON, "" when unset.
func (f Field) Text() string {
	var s string
	if json.Unmarshal(f.Value, &s) == nil {
		return s
	}
	if string(f.Value) == "null" {
		return ""
	}
	return string(f.Value)
}

// HasAccounts reports whether any profile exists on this device.
func (a *ProfileService) HasAccounts(ctx context.Context) (bool, error) {
	accts, err := a.store.Accounts(ctx)
	if err != nil {
		return false, Internal(err)
	}
	return len(accts) > 0, nil
}

// RemoveField removes a profile field: its value is cleared as by
// UpdateInfo (services that could see it are told) and the field itself,
// ring placement included, is deleted.
func (a *ProfileService) RemoveField(ctx context.Context, p *Principal, name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	if !ValidFieldName(name) {
		return errUpdatedName
	}
	if _, err := a.UpdateInfo(ctx, p, json.RawMessage(`{"`+name+`":null}`)); err != nil {
		return err
	}
	if err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error { return tx.Delete(EntityField, fieldID(tx, name)) }); err != nil {
		return Internal(err)
	}
	return nil
}
