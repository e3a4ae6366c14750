package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Capabilities: the tokens that act without the user's session (a share's
// verification token, the public link, a health link, the emergency page).
//
// A capability holds no copy of any data key. What it may show now is its
// view: a small JSON document sealed under a key only its token gives
// (viewKey; a health link with a passcode needs the passcode too; the
// emergency page's view is sealed under the emergency key, which a logged
// grant opens). Views live in the device-local capabilities table and are
// re-derived inside the write transaction of every change they show —
// update-info, a ring move, a record added, an operation arriving by sync
// — by deriveViews, which the store calls before it commits. So "update
// once, every reference current" holds on the next read, and:
//   - the database plus a token opens that token's view and nothing else;
//   - a revoked, expired or locked capability's view is deleted (the row
//     keeps only its state, so the API can still answer 410);
//   - a view never holds more than its holder may see through the API.
//
// What a capability writes (a link's opening log, an emergency grant's
// record) it seals to the user's inbox key (inboxKey), which the writer
// never holds the private half of.

// Capability kinds.
const (
	CapShare     = "share"
	CapPublic    = "public"
	CapLink      = "link"
	CapEmergency = "emergency"
)

// CapabilityKinds are the kinds of capability records.
var CapabilityKinds = [...]string{CapShare, CapPublic, CapLink, CapEmergency}

// CapabilityEntity is the entity kind a capability of this kind names:
// the record's token hash is that entity's "token_hash" cell.
func CapabilityEntity(kind string) string {
	switch kind {
	case CapShare:
		return EntityShare
	case CapPublic:
		return EntityPublic
	case CapLink:
		return EntityHealthLink
	case CapEmergency:
		return EntityEmergency
	}
	return ""
}

// Capability states.
const (
	CapActive  = "active"
	CapHidden  = "hidden" // not served: the public page while visibility is false, a share without its token hash here
	CapRevoked = "revoked"
	CapExpired = "expired"
	CapLocked  = "locked" // a link after too many wrong passcodes
)

// viewsVersion is the version of the views' format; a device whose views
// of a user are older re-derives them all (at the next write with the data
// key open: a sign-in, a background sync). 2: a share's record names its
// service (Owner), how the service finds shares made without an index cell.
const viewsVersion = 2

func viewAD(userID, kind, id string) []byte {
	return []byte("capability-view\x00" + userID + "\x00" + kind + "\x00" + id)
}

// viewKey is the key a capability's view is sealed under: derived from the
// token, and for a link with a passcode from the token and the passcode's
// Argon2id hash, so the database and the token alone do not open it.
func viewKey(token string, passcodeHash []byte) []byte {
	if passcodeHash == nil {
		return crypto.DeriveSubkey([]byte(token), purposeView)
	}
	return crypto.DeriveSubkey(append([]byte(token+"\x00"), passcodeHash...), purposeViewPasscode)
}

func sealView(key []byte, userID, kind, id string, v any) ([]byte, error) {
	var b []byte
	var err error
	if sv, ok := v.(*shareView); ok { // the busiest; by its exact type (appendJSON)
		b, err = sv.appendJSON(make([]byte, 0, 256))
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return nil, err
	}
	return crypto.Seal(key, b, viewAD(userID, kind, id))
}

func openView(key []byte, c *Capability, v any) error {
	b, err := crypto.Open(key, c.View, viewAD(c.UserID, c.Kind, c.ID))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// openCached opens c's view with token's key, or returns the view a
// request opened before from the same cached record (caches.caps). The
// view returned is shared: read it, never change it.
func openCached[V any](a *core, c *Capability, token string) (*V, error) {
	if v, ok := a.caches.caps.opened(c).(*V); ok {
		return v, nil
	}
	v := new(V)
	if err := openView(viewKey(token, nil), c, v); err != nil {
		return nil, err
	}
	a.caches.caps.keepOpened(c, v)
	return v, nil
}

// capabilityByToken finds a capability of a kind by its token. Unknown
// tokens, and tokens of another kind, give ErrNotFound.
func (a *core) capabilityByToken(ctx context.Context, kind, token string) (*Capability, error) {
	if token == "" || len(token) > 256 {
		return nil, ErrNotFound
	}
	hash := crypto.TokenIndex(token)
	var c *Capability
	if cached, ok := a.caches.caps.get(hash); ok {
		c = &cached
	} else {
		gen := a.caches.caps.generation()
		var err error
		if c, err = a.store.CapabilityByHash(ctx, hash); err != nil {
			return nil, err
		}
		a.caches.caps.put(c, gen)
	}
	if c.Kind != kind {
		return nil, ErrNotFound
	}
	if c.View != nil && !c.ExpiresAt.IsZero() && !a.now().Before(c.ExpiresAt) {
		// Its time is up: the view goes now (the checkpointer would drop
		// it within a second anyway).
		c.State, c.View = CapExpired, nil
		if _, err := a.store.ExpireCapabilities(ctx, a.now()); err != nil {
			return nil, err
		}
		a.caches.caps.committed("") // the cached record is stale now

	}
	return c, nil
}

// The inbox: an X25519 key pair per user, derived from the data key (so
// every device of the user derives the same), whose public half is kept in
// clear. Whatever a capability writes for the user is sealed to it.
const (
	EntityInbox = "inbox" // id "key", field "public" (clear)
	inboxID     = "key"
)

func inboxSecret(dek []byte) string {
	return fmt.Sprintf("%x", crypto.DeriveSubkey(dek, purposeInbox))
}

// inboxSeal is a record to store sealed to its user's inbox, sealed ahead
// of the write (sealAhead) under the inbox key last seen: sealing is two
// X25519 operations (~100 µs), which in the write would hold the writer's
// turn, and every other write behind it, for that long each time.
type inboxSeal struct {
	record, key, sealed []byte
}

// sealAhead seals record to the user's inbox key as last seen here, if
// one was; sealedToInbox checks the key in the write.
func (a *core) sealAhead(userID string, record []byte) inboxSeal {
	s := inboxSeal{record: record}
	if k, ok := a.caches.inboxKeys.Load(userID); ok {
		s.key = k.([]byte)
		if sealed, err := crypto.SealToToken(s.key, record); err == nil {
			s.sealed = sealed
		}
	}
	return s
}

// sealedToInbox is s's record sealed to the user's inbox key as tx sees
// it (no data key needed): s's sealing when it was made under that key,
// else a sealing made now (and the key remembered for the next).
func (a *core) sealedToInbox(tx Tx, s inboxSeal) ([]byte, error) {
	c, ok, err := tx.Get(EntityInbox, inboxID, "public")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("the user has no inbox key yet")
	}
	if s.sealed != nil && bytes.Equal(c.Clear, s.key) {
		return s.sealed, nil
	}
	a.caches.inboxKeys.Store(tx.UserID(), bytes.Clone(c.Clear))
	return crypto.SealToToken(c.Clear, s.record)
}

// openInbox opens a record sealed to the user's inbox.
func openInbox(dek, sealed []byte) ([]byte, error) {
	return crypto.OpenWithToken(inboxSecret(dek), sealed)
}

// deriveViews is the store's Deriver: it re-derives, in the transaction,
// every view the changed cells show. Without the data key nothing sealed
// changed that a view shows (such writes only record states, which the
// capability rows already hold).
func (a *core) deriveViews(tx Tx, dek []byte, changed []CellRef) error {
	for _, c := range changed {
		if c.Entity == EntitySettings {
			// The public URL changed (here or by sync): read it again,
			// now and once the change has committed.
			a.caches.urls.changing(tx.UserID())
			break
		}
	}
	if dek == nil {
		return nil
	}
	v, err := tx.ViewsVersion()
	if err != nil {
		return err
	}
	if v < viewsVersion {
		if err := a.deriveAll(tx, dek); err != nil {
			return err
		}
		return tx.SetViewsVersion(viewsVersion)
	}
	var (
		shares          = map[string]bool{}
		deps            = map[string]bool{}
		allShares       bool
		public, links   bool
		emergency, keys bool
		// Public fields whose value alone changed: the public view takes
		// their new values without reading every field (public: all).
		publicValues = map[string]bool{}
	)
	nameField := fieldID(tx, "name")
	for _, c := range changed {
		switch c.Entity {
		case EntityShare:
			shares[c.ID] = true
		case EntityField:
			id, err := normaliseFieldID(tx, c.ID)
			if err != nil {
				return err
			}
			deps[id] = true
			if !emergency {
				emergency, err = emergencyShows(tx, id)
				if err != nil {
					return err
				}
			}
			links = links || id == nameField || id == fieldID(tx, "date_of_birth") // the Patient of a SMART Health Link
			// The public view shows the public ring: a value change
			// matters only for a field there; a ring move always.
			if !public {
				all, value, err := publicFieldChanged(tx, id, c.Field)
				if err != nil {
					return err
				}
				public = all
				if value {
					publicValues[id] = true
				}
			}
		case EntityRing:
			allShares, public = true, true
		case EntityCredential:
			deps[fieldID(tx, "date_of_birth")] = true
		case EntityPublic:
			public = true
		case EntityHealthRecord, EntityHealthLink:
			links = true
		case EntityEmergency:
			emergency = true
		case EntityProfile, EntityInbox:
			keys = true
		}
	}
	if keys {
		if err := a.deriveKeys(tx, dek); err != nil {
			return err
		}
	}
	if allShares {
		if err := a.deriveShares(tx, dek); err != nil {
			return err
		}
	} else {
		if len(deps) > 0 {
			names := make([]string, 0, len(deps))
			for d := range deps {
				names = append(names, d)
			}
			caps, err := tx.Capabilities(CapShare, names...)
			if err != nil {
				return err
			}
			for _, c := range caps {
				shares[c.ID] = true
			}
		}
		for id := range shares {
			if err := a.deriveShare(tx, dek, id); err != nil {
				return err
			}
		}
	}
	if public {
		if err := a.derivePublic(tx, dek); err != nil {
			return err
		}
	} else if len(publicValues) > 0 {
		if err := a.updatePublic(tx, dek, publicValues); err != nil {
			return err
		}
	}
	if links {
		if err := a.deriveLinks(tx, dek); err != nil {
			return err
		}
	}
	if emergency {
		if err := a.deriveEmergency(tx, dek); err != nil {
			return err
		}
	}
	return nil
}

// emergencyShows reports whether the emergency view shows the field (by
// its id): the view's capability names the fields it was derived from.
func emergencyShows(tx Tx, id string) (bool, error) {
	caps, err := tx.Capabilities(CapEmergency)
	if err != nil {
		return false, err
	}
	if len(caps) == 0 {
		// No view yet: derive it if emergency access is set up (its
		// cells may have come while this device had no key to derive).
		ids, err := tx.IDs(EntityEmergency)
		return len(ids) > 0, err
	}
	for _, c := range caps {
		if c.Dep == "" {
			return true, nil // derived by an older version: it does not say
		}
		if slices.Contains(strings.Fields(c.Dep), id) {
			return true, nil
		}
	}
	return false, nil
}

// publicFieldChanged tells what a change to a field's cell does to the
// public view: all, a ring move (or a field without a ring: be safe) that
// needs it derived from every field; value, a cell of a field in the
// public ring whose new value it takes (updatePublic).
func publicFieldChanged(tx Tx, id, cell string) (all, value bool, err error) {
	if cell == "ring" {
		return true, false, nil
	}
	cells, err := tx.Entity(EntityField, id) // small: read whole, kept for the views that follow
	if err != nil {
		return false, false, err
	}
	r, ok := cells["ring"]
	if !ok {
		return true, false, nil
	}
	level, err := ringLevel(tx, string(r.Value))
	return false, level == RingPublic, err
}

// updatePublic gives the visible public views the current values of the
// public fields named (by id), in place of reading every field; a view
// that does not open, or a field without its name, has the view derived
// in full (derivePublic).
func (a *core) updatePublic(tx Tx, dek []byte, fieldIDs map[string]bool) error {
	caps, err := tx.Capabilities(CapPublic)
	if err != nil {
		return err
	}
	userID := tx.UserID()
	for _, c := range caps {
		if c.State != CapActive || c.View == nil {
			continue // hidden: no view shows the fields
		}
		e, err := tx.Entity(EntityPublic, c.ID)
		if err != nil {
			return err
		}
		token := string(e["token"].Value)
		var v publicView
		if token == "" || openView(viewKey(token, nil), c, &v) != nil {
			return a.derivePublic(tx, dek)
		}
		if v.Fields == nil {
			v.Fields = map[string]json.RawMessage{}
		}
		for id := range fieldIDs {
			cells, err := tx.Entity(EntityField, id)
			if err != nil {
				return err
			}
			name, ok := cells["name"]
			if !ok {
				return a.derivePublic(tx, dek)
			}
			if f := fieldOf(string(name.Value), cells); string(f.Value) == "null" {
				delete(v.Fields, f.Name)
			} else {
				v.Fields[f.Name] = f.Value
			}
		}
		if c.View, err = sealView(viewKey(token, nil), userID, CapPublic, c.ID, &v); err != nil {
			return err
		}
		if err := tx.PutCapability(c); err != nil {
			return err
		}
	}
	return nil
}

// deriveAll derives every view of the user, and the keys capabilities use.
func (a *core) deriveAll(tx Tx, dek []byte) error {
	for _, f := range []func(Tx, []byte) error{
		func(tx Tx, _ []byte) error { return migrateFieldIDs(tx) },
		a.deriveKeys,
		a.deriveShares,
		a.derivePublic, a.deriveLinks, a.deriveEmergency,
	} {
		if err := f(tx, dek); err != nil {
			return err
		}
	}
	return nil
}

// deriveKeys keeps the user's inbox public key in the cells and the
// signing key wrapped under this device's installation key.
func (a *core) deriveKeys(tx Tx, dek []byte) error {
	pub := crypto.TokenBoxKey(inboxSecret(dek))
	if c, ok, err := tx.Get(EntityInbox, inboxID, "public"); err != nil {
		return err
	} else if !ok || !crypto.Equal(c.Clear, pub) {
		if err := tx.Put(Cell{Entity: EntityInbox, ID: inboxID, Field: "public", Clear: pub}); err != nil {
			return err
		}
	}
	ids, err := tx.IDs(EntityProfile)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, ok, err := tx.Get(EntityProfile, id, "signing_key")
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		userID := tx.UserID()
		w, err := crypto.Wrap(a.store.InstallationKey(), c.Value, purposeSigningKey+userID)
		if err != nil {
			return err
		}
		if err := tx.PutSigningKey(w); err != nil {
			return err
		}
		a.caches.issuers.drop(userID)
	}
	return nil
}

// shareView is what a share's verification token may read.
type shareView struct {
	ServiceID string          `json:"service_id"`
	Field     string          `json:"info_field"`
	IssuedAt  time.Time       `json:"issued_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	Value     json.RawMessage `json:"value,omitempty"`
	// Until: a derived age claim's value holds until then (the next
	// birthday, or for a false age_over_NN the NN-th), after which
	// valueAt computes it: what polling the API would show, no more.
	Until time.Time `json:"until,omitzero"`
	Error string    `json:"error,omitempty"` // the code of the error a read gives now
}

// appendJSON appends the view as encoding/json writes it.
func (v *shareView) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	b = appendJSONField(b, "service_id", v.ServiceID)
	b = appendJSONField(b, "info_field", v.Field)
	b, err := appendJSONTime(b, "issued_at", v.IssuedAt)
	if err != nil {
		return nil, err
	}
	if b, err = appendJSONTime(b, "expires_at", v.ExpiresAt); err != nil {
		return nil, err
	}
	if len(v.Value) > 0 {
		if b, err = AppendJSONRaw(appendJSONKey(b, "value"), v.Value); err != nil {
			return nil, err
		}
	}
	if !v.Until.IsZero() {
		if b, err = appendJSONTime(b, "until", v.Until); err != nil {
			return nil, err
		}
	}
	if v.Error != "" {
		b = appendJSONField(b, "error", v.Error)
	}
	return append(b, '}'), nil
}

// valueAt is the claim's value at now.
func (v *shareView) valueAt(now time.Time) json.RawMessage {
	if v.Until.IsZero() || now.Before(v.Until) {
		return v.Value
	}
	if v.Field == "age" {
		var n int
		json.Unmarshal(v.Value, &n)
		dob := v.Until.AddDate(-(n + 1), 0, 0)
		return json.RawMessage(fmt.Sprint(AgeOn(dob, now)))
	}
	return json.RawMessage("true")
}

// shareDep is the field a claim is read from.
func shareDep(claim string) string {
	if derivedClaim(claim) {
		return "date_of_birth"
	}
	return claim
}

func (a *core) deriveShares(tx Tx, dek []byte) error {
	ids, err := tx.IDs(EntityShare)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.deriveShare(tx, dek, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *core) deriveShare(tx Tx, dek []byte, id string) error {
	sh, ok, err := readShare(tx, id)
	if err != nil {
		return err
	}
	if !ok {
		return tx.DropCapability(CapShare, id)
	}
	now := a.now()
	c := &Capability{TokenHash: sh.TokenHash, Kind: CapShare, ID: id, State: CapActive, ExpiresAt: sh.ExpiresAt, Owner: sh.Service}
	if len(sh.TokenHash) > 0 {
		c.Dep = fieldID(tx, shareDep(sh.Field))
	}
	switch {
	case !sh.RevokedAt.IsZero():
		c.State = CapRevoked
	case len(sh.TokenHash) == 0:
		// No token hash of its own here (a two-cell share's token_hash
		// cell has not arrived, or sync refused the hash: another account
		// here holds it, and a one-cell share's cell is then kept without
		// it): nothing to serve, but a record under no hash, so that its
		// service still finds it (service.shares) and a revocation
		// reaches it.
		c.State = CapHidden
	case !now.Before(sh.ExpiresAt):
		c.State = CapExpired
	default:
		v := &shareView{ServiceID: sh.ServiceID, Field: sh.Field, IssuedAt: sh.IssuedAt, ExpiresAt: sh.ExpiresAt}
		value, until, err := claimValueUntil(tx, sh.Field, now)
		var e *Error
		switch {
		case errors.As(err, &e):
			v.Error = e.Code
		case err != nil:
			return err
		default:
			v.Value, v.Until = value, until
		}
		if c.View, err = sealView(viewKey(sh.Token, nil), tx.UserID(), CapShare, id, v); err != nil {
			return err
		}
	}
	return tx.PutCapability(c)
}

// shareErrors maps a view's error code back to the API's error.
var shareErrors = map[string]*Error{
	errRestricted.Code: errRestricted,
	errNoDOB.Code:      errNoDOB,
}

// publicView is what the public link may read while visible.
type publicView struct {
	Info   json.RawMessage            `json:"info"`
	Fields map[string]json.RawMessage `json:"fields"`
}

func (a *core) derivePublic(tx Tx, dek []byte) error {
	ids, err := tx.IDs(EntityPublic)
	if err != nil {
		return err
	}
	userID := tx.UserID()
	for _, id := range ids {
		e, err := tx.Entity(EntityPublic, id)
		if err != nil {
			return err
		}
		hash, token := e["token_hash"].Clear, string(e["token"].Value)
		if len(hash) == 0 || token == "" {
			continue
		}
		c := &Capability{TokenHash: hash, Kind: CapPublic, ID: id, State: CapHidden}
		if string(e["visible"].Clear) == "true" {
			c.State = CapActive
			v := &publicView{Info: e["info"].Value, Fields: map[string]json.RawMessage{}}
			rs, err := loadRings(tx)
			if err != nil {
				return err
			}
			fields, err := allFields(tx)
			if err != nil {
				return err
			}
			for _, f := range fields {
				if string(f.Value) != "null" && rs.level(f.Ring) == RingPublic {
					v.Fields[f.Name] = f.Value
				}
			}
			if c.View, err = sealView(viewKey(token, nil), userID, CapPublic, id, v); err != nil {
				return err
			}
		}
		if err := tx.PutCapability(c); err != nil {
			return err
		}
	}
	return nil
}

// linkView is what a health link may read: the chosen records, now.
type linkView struct {
	Records   []*HealthRecord `json:"records"`
	Patient   string          `json:"patient,omitempty"`
	ExpiresAt time.Time       `json:"expires_at"`
	// A SMART Health Link's view holds no record: only its files,
	// encrypted under the SHL key (shl.go), and the ids it shows.
	SHL       bool      `json:"shl,omitempty"`
	Files     []shlFile `json:"files,omitempty"`
	RecordIDs []string  `json:"record_ids,omitempty"`
}

func (a *core) deriveLinks(tx Tx, dek []byte) error {
	ids, err := tx.IDs(EntityHealthLink)
	if err != nil {
		return err
	}
	userID := tx.UserID()
	patient := ""
	if f, ok, err := fieldValue(tx, "name"); err != nil {
		return err
	} else if ok {
		patient = f.Text()
	}
	now := a.now()
	for _, id := range ids {
		l, ok, err := readLink(tx, id)
		if err != nil {
			return err
		}
		if !ok || l.token == "" {
			if err := tx.DropCapability(CapLink, id); err != nil {
				return err
			}
			continue
		}
		hash := crypto.TokenIndex(l.token)
		if th, _, err := tx.Get(EntityHealthLink, id, "token_hash"); err != nil {
			return err
		} else if !bytes.Equal(th.Clear, hash) {
			// Not this token's link (cells written apart, or not by us):
			// the record is found by its token_hash cell.
			if err := tx.DropCapability(CapLink, id); err != nil {
				return err
			}
			continue
		}
		c := &Capability{TokenHash: hash, Kind: CapLink, ID: id, State: CapActive, ExpiresAt: l.expiresAt}
		var pcHash []byte
		if l.passcode != nil {
			c.KDF, pcHash = l.passcode.KDF, l.passcode.Hash
		}
		switch {
		case l.revoked:
			c.State = CapRevoked
		case l.locked:
			c.State = CapLocked
		case !now.Before(l.expiresAt):
			c.State = CapExpired
		default:
			recs, err := l.resolve(tx)
			if err != nil {
				return err
			}
			v := &linkView{Records: recs, Patient: patient, ExpiresAt: l.expiresAt}
			if l.shlKey != nil {
				if v, err = shlView(tx, l, recs, now); err != nil {
					return err
				}
			}
			if c.View, err = sealView(viewKey(l.token, pcHash), userID, CapLink, id, v); err != nil {
				return err
			}
		}
		if err := tx.PutCapability(c); err != nil {
			return err
		}
	}
	return nil
}

// emergencyView is what a logged grant opens besides the emergency
// information: the chosen fields' current values and the person's name.
type emergencyView struct {
	Fields []Field `json:"fields"`
	Name   string  `json:"name,omitempty"`
}

func (a *core) deriveEmergency(tx Tx, dek []byte) error {
	ids, err := tx.IDs(EntityEmergency)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return tx.DropCapability(CapEmergency, "")
	}
	userID := tx.UserID()
	id := ids[0]
	e, err := tx.Entity(EntityEmergency, id)
	if err != nil {
		return err
	}
	ek, hash := e["key"].Value, e["token_hash"].Clear
	if len(ek) == 0 || len(hash) == 0 || len(e["info"].Clear) == 0 {
		return nil
	}
	infoJSON, err := crypto.Open(ek, e["info"].Clear, emergencyAD(userID, id, "info"))
	if err != nil {
		return fmt.Errorf("opening emergency information: %w", err)
	}
	var info emergencyInfo
	if err := json.Unmarshal(infoJSON, &info); err != nil {
		return err
	}
	v := &emergencyView{Fields: []Field{}}
	for _, name := range info.InfoField {
		f, ok, err := fieldValue(tx, name)
		if err != nil {
			return err
		}
		if !ok {
			f = Field{Name: name, Value: json.RawMessage("null"), Ring: DefaultRing(name)}
		}
		v.Fields = append(v.Fields, f)
	}
	if f, ok, err := fieldValue(tx, "name"); err != nil {
		return err
	} else if ok {
		v.Name = f.Text()
	}
	shown := []string{fieldID(tx, "name")}
	for _, name := range info.InfoField {
		shown = append(shown, fieldID(tx, name))
	}
	c := &Capability{TokenHash: hash, Kind: CapEmergency, ID: id, State: CapActive, Dep: strings.Join(shown, " ")}
	if c.View, err = sealView(ek, userID, CapEmergency, id, v); err != nil {
		return err
	}
	return tx.PutCapability(c)
}

// emergencyViewOf opens the user's emergency view with the emergency key.
func (a *core) emergencyViewOf(ctx context.Context, userID string, ek []byte) (*emergencyView, error) {
	var caps []*Capability
	err := a.store.View(ctx, userID, nil, func(tx Tx) (err error) {
		caps, err = tx.Capabilities(CapEmergency)
		return err
	})
	if err != nil {
		return nil, err
	}
	v := &emergencyView{Fields: []Field{}}
	if len(caps) == 0 || caps[0].View == nil {
		return v, nil
	}
	if err := openView(ek, caps[0], v); err != nil {
		return nil, fmt.Errorf("opening the emergency view: %w", err)
	}
	return v, nil
}

// ensureViews derives the user's views if this device has not yet (a
// database from an older version, or a device that never wrote for the
// user with the data key open): at sign-in and when background sync
// starts.
func (a *core) ensureViews(ctx context.Context, userID string, dek []byte) error {
	var v int
	err := a.store.View(ctx, userID, nil, func(tx Tx) (err error) {
		v, err = tx.ViewsVersion()
		return err
	})
	if err != nil || v >= viewsVersion {
		return err
	}
	return a.store.Update(ctx, userID, dek, func(tx Tx) error {
		if err := a.deriveAll(tx, dek); err != nil {
			return err
		}
		return tx.SetViewsVersion(viewsVersion)
	})
}
