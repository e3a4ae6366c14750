package app

import (
	"context"
	"encoding/hex"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// EntityRing is a named ring (privilege-rings): a built-in ring the user
// has named (so it has a ring_id and can carry services) or a custom ring
// with a built-in level as its base; id = nameID("ring", lower-cased
// name), so two devices naming the same ring agree on its id; fields:
// "name", "level", "created_at" (clear).
const EntityRing = "ring"

// ringOrder ranks the built-in rings, least protected first.
var ringOrder = map[string]int{RingPublic: 0, RingSemiPrivate: 1, RingPrivate: 2, RingRestricted: 3}

// BuiltinRing reports whether name is one of the four built-in rings.
func BuiltinRing(name string) bool { _, ok := ringOrder[name]; return ok }

// normLevel reads an access level as clients write it ("Semi-Private",
// "semi_private", "semiprivate" are all semi-private). ok is false when it
// is none of the four.
func normLevel(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch strings.NewReplacer("_", "", "-", "", " ", "").Replace(s) {
	case "public":
		return RingPublic, true
	case "semiprivate":
		return RingSemiPrivate, true
	case "private":
		return RingPrivate, true
	case "restricted":
		return RingRestricted, true
	}
	return "", false
}

var (
	errAssignedMissing = E(KindInvalid, "missing_parameter", "assigned_data must exist!")
	errRingNameMissing = E(KindInvalid, "missing_parameter", "ring_name must exist!")
	errRingName        = E(KindInvalid, "invalid_ring_name", "ring_name must be 1 to 64 printable characters!")
	errAccessLevel     = E(KindInvalid, "invalid_access_level", "access_level must be one of public, semi-private, private, restricted!")
	errLevelMismatch   = E(KindInvalid, "access_level_mismatch", "a built-in ring's access_level is its own name!")
	errAssignedField   = E(KindInvalid, "invalid_field_name", "assigned_data has an invalid field name!")
	errAssignedService = E(KindInvalid, "invalid_service_id", "assigned_data has an invalid service_id!")
)

// nameID is the id of an entity named by the user (a ring, a service): a
// keyed hash of its kind and name under a key derived from the data key.
// Every device of the user derives the same id, so an entity created on two
// devices merges into one, and the name itself is not in the clear.
func nameID(dek []byte, kind, name string) string {
	return hex.EncodeToString(crypto.KeyedHash(crypto.DeriveSubkey(dek, purposeNameID), kind+"\x00"+name)[:16])
}

// txNameID is nameID under the transaction's data key, derived once per
// transaction: a view derivation names the same fields for every change.
func txNameID(tx Tx, kind, name string) string {
	key := "name-id\x00" + kind + "\x00" + name
	return tx.Memo(key, func() string { return nameID(tx.DEK(), kind, name) })
}

// rings are a user's custom rings: id → base level.
type rings map[string]ringInfo

type ringInfo struct {
	ID, Name, Level string
}

func loadRings(tx Tx) (rings, error) {
	all, err := tx.Entities(EntityRing)
	if err != nil {
		return nil, err
	}
	rs := make(rings, len(all))
	for id, c := range all {
		rs[id] = ringInfo{ID: id, Name: string(c["name"].Value), Level: string(c["level"].Value)}
	}
	return rs, nil
}

// level is the built-in level a field's ring cell (or a service's role)
// stands for. Anything unknown (a custom ring not synced yet, a damaged
// value) is restricted: when in doubt, nothing leaves.
func (rs rings) level(ring string) string {
	if BuiltinRing(ring) {
		return ring
	}
	if r, ok := rs[ring]; ok && BuiltinRing(r.Level) {
		return r.Level
	}
	return RingRestricted
}

// ringLevel is the level a ring cell stands for, reading only the one
// custom ring it may name (rings.level when every ring is loaded anyway).
func ringLevel(tx Tx, ring string) (string, error) {
	if BuiltinRing(ring) {
		return ring, nil
	}
	c, ok, err := tx.Get(EntityRing, ring, "level")
	if err != nil {
		return "", err
	}
	if l := string(c.Value); ok && BuiltinRing(l) {
		return l, nil
	}
	return RingRestricted, nil
}

// display is what the user calls a ring: a built-in name or a custom
// ring's name.
func (rs rings) display(ring string) string {
	if BuiltinRing(ring) || ring == "" {
		return ring
	}
	if r, ok := rs[ring]; ok {
		return r.Name
	}
	return ring
}

// atOrBelow reports whether level a is no more protected than b.
func atOrBelow(a, b string) bool { return ringOrder[a] <= ringOrder[b] }

// fieldRing is the ring cell of a field (its default when never placed).
func fieldRing(tx Tx, name string) (string, error) {
	c, ok, err := tx.Get(EntityField, fieldID(tx, name), "ring")
	if err != nil {
		return "", err
	}
	if !ok || len(c.Value) == 0 {
		return DefaultRing(name), nil
	}
	return string(c.Value), nil
}

// RingRequest is a privilege-rings call: fields and services moved into a
// ring named Name; Level is the base level of a custom ring.
type RingRequest struct {
	Name     string
	Level    string
	Fields   []string
	Services []string
}

// SetRing creates or updates a ring and moves fields and services into
// it. A built-in name (public, semi-private, private, restricted) places
// them at that level; any other name is a custom ring with a base level,
// which a new custom ring must be given. The ring keeps its id when called
// again. Moving a field takes effect on the next read by every audience.
func (a *ProfileService) SetRing(ctx context.Context, p *Principal, r RingRequest) (string, error) {
	if len(r.Fields) == 0 && len(r.Services) == 0 {
		return "", errAssignedMissing
	}
	name := strings.TrimSpace(r.Name)
	if name == "" {
		return "", errRingNameMissing
	}
	if utf8.RuneCountInString(name) > 64 || strings.IndexFunc(name, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		return "", errRingName
	}
	level := ""
	if r.Level != "" {
		l, ok := normLevel(r.Level)
		if !ok {
			return "", errAccessLevel
		}
		level = l
	}
	builtin, isBuiltin := normLevel(name)
	if isBuiltin {
		if level != "" && level != builtin {
			return "", errLevelMismatch
		}
		name, level = builtin, builtin
	}
	fields := make([]string, 0, len(r.Fields))
	for _, f := range r.Fields {
		f = strings.ToLower(strings.TrimSpace(f))
		if !ValidFieldName(f) {
			return "", errAssignedField
		}
		fields = append(fields, f)
	}
	for _, s := range r.Services {
		if !validServiceID(s) {
			return "", errAssignedService
		}
	}
	id := nameID(p.DEK, "ring", strings.ToLower(name))
	err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		existing, err := tx.Entity(EntityRing, id)
		if err != nil {
			return err
		}
		if level == "" {
			level = string(existing["level"].Value)
			if !BuiltinRing(level) {
				return errAccessLevel
			}
		}
		if len(existing) == 0 {
			if err := tx.Put(Cell{Entity: EntityRing, ID: id, Field: "created_at", Clear: timeText(a.now())}); err != nil {
				return err
			}
		}
		if string(existing["name"].Value) != name {
			if err := tx.Put(Cell{Entity: EntityRing, ID: id, Field: "name", Value: []byte(name)}); err != nil {
				return err
			}
		}
		if string(existing["level"].Value) != level {
			if err := tx.Put(Cell{Entity: EntityRing, ID: id, Field: "level", Value: []byte(level)}); err != nil {
				return err
			}
		}
		// A field or service in a built-in ring names the level itself;
		// in a custom ring, the ring's id (so changing the ring's level
		// moves them all).
		ref := id
		if isBuiltin {
			ref = level
		}
		for _, f := range fields {
			if err := putFieldCell(tx, f, "ring", []byte(ref)); err != nil {
				return err
			}
		}
		now := a.now()
		for _, s := range r.Services {
			svc, err := a.app.ensureService(tx, s, now)
			if err != nil {
				return err
			}
			if svc.Role == ref {
				continue // already there: keep "since when"
			}
			if err := svc.setRole(tx, ref, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", AsError(err)
	}
	return id, nil
}

// RingView is a ring as the user reviews it.
type RingView struct {
	RingID   string   `json:"ring_id,omitempty"`
	Name     string   `json:"ring_name"`
	Level    string   `json:"access_level"`
	Custom   bool     `json:"custom"`
	Fields   []string `json:"fields"`
	Services []string `json:"services"`
}

// Rings lists the four built-in rings and the user's custom rings, each
// with the fields and services in it.
func (a *ProfileService) Rings(ctx context.Context, p *Principal) ([]RingView, error) {
	var out []RingView
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		rs, err := loadRings(tx)
		if err != nil {
			return err
		}
		byRef := map[string]*RingView{}
		for _, l := range []string{RingPublic, RingSemiPrivate, RingPrivate, RingRestricted} {
			out = append(out, RingView{Name: l, Level: l, Fields: []string{}, Services: []string{}})
		}
		var custom []string
		for id, r := range rs {
			if BuiltinRing(r.Name) {
				continue
			}
			custom = append(custom, id)
		}
		sort.Slice(custom, func(i, j int) bool { return rs[custom[i]].Name < rs[custom[j]].Name })
		for _, id := range custom {
			out = append(out, RingView{RingID: id, Name: rs[id].Name, Level: rs.level(id), Custom: true, Fields: []string{}, Services: []string{}})
		}
		for i := range out {
			ref := out[i].Name
			if out[i].Custom {
				ref = out[i].RingID
			} else if r, ok := rs[nameID(p.DEK, "ring", out[i].Name)]; ok {
				out[i].RingID = r.ID
			}
			byRef[ref] = &out[i]
		}
		names, err := fieldNames(tx)
		if err != nil {
			return err
		}
		for _, n := range names {
			ring, err := fieldRing(tx, n)
			if err != nil {
				return err
			}
			if v := byRef[ring]; v != nil {
				v.Fields = append(v.Fields, n)
			} else {
				byRef[rs.level(ring)].Fields = append(byRef[rs.level(ring)].Fields, n)
			}
		}
		svcs, err := loadServices(tx)
		if err != nil {
			return err
		}
		for _, s := range svcs {
			if s.Role == "" || !s.RevokedAt.IsZero() {
				continue
			}
			if v := byRef[s.Role]; v != nil {
				v.Services = append(v.Services, s.ServiceID)
			}
		}
		for i := range out {
			sort.Strings(out[i].Services)
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// timeText is how times are kept in clear cells.
func timeText(t time.Time) []byte { return []byte(t.UTC().Format(time.RFC3339Nano)) }

// parseTimeText reads timeText; the zero time for empty or damaged text.
func parseTimeText(b []byte) time.Time {
	if len(b) == 0 {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
