package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// Health links: a doctor's time-limited link to chosen records, its
// passcode and its opening log (use case 10; the records are health.go's).

// LinkSelector names what a link shares: one record (by id) or every
// record of a type, resolved whenever the link is opened.
type LinkSelector struct {
	RecordID string `json:"record_id,omitempty"`
	Type     string `json:"record_type,omitempty"`
}

// LinkRequest is what share-create-link receives.
type LinkRequest struct {
	Records     json.RawMessage // ids or types: array, comma-separated string, or one
	DoctorEmail string
	Expiration  string // ISO 8601 date or date-time; "" for the default
	Passcode    string // "" for none
	// Page makes a link to the old server-rendered page (works without
	// JavaScript) instead of a SMART Health Link; its view holds the
	// records themselves, sealed under the token.
	Page bool
}

// HealthLink is a created link.
type HealthLink struct {
	ID        string
	URL       string // the access link
	SHLink    string // "shlink:/…" ("" for a page link)
	ExpiresAt time.Time
	EmailID   string // the outbox message of the doctor's e-mail
}

// ParseExpiration reads an expiration_date: an ISO 8601 date (the link
// lives through that day, UTC) or date-time (without an offset: UTC). ok
// is false when it is unparsable or not in the future.
func ParseExpiration(s string, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(DateLayout, s); err == nil {
		t = t.Add(24 * time.Hour)
		return t, t.After(now)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return t, t.After(now)
		}
	}
	return time.Time{}, false
}

func (a *core) linkURL(ctx context.Context, userID, token string) string {
	return a.userURL(ctx, userID, linkPath+token)
}

const linkPath = "/api/v1/health-link/"

type passcodeHash struct {
	KDF  string `json:"kdf"`
	Hash []byte `json:"hash"`
}

// CreateLink creates a time-limited link to chosen health records and
// queues an e-mail with it to the doctor.
func (a *HealthService) CreateLink(ctx context.Context, p *Principal, req LinkRequest) (*HealthLink, error) {
	req.DoctorEmail = strings.TrimSpace(req.DoctorEmail)
	items, ok := listParam(req.Records)
	if req.DoctorEmail == "" || (ok && len(items) == 0) {
		return nil, errLinkMissing
	}
	if !ValidEmail(req.DoctorEmail) {
		return nil, errDoctorEmail
	}
	now := a.now()
	expires := now.Add(DefaultLinkTTL)
	if strings.TrimSpace(req.Expiration) != "" {
		t, ok := ParseExpiration(req.Expiration, now)
		if !ok {
			return nil, errExpiration
		}
		expires = t
	}
	if expires.After(now.Add(MaxLinkTTL)) {
		expires = now.Add(MaxLinkTTL)
	}
	if !ok || len(items) > maxLinkSelectors {
		return nil, errLinkRecords
	}
	var pc *passcodeHash
	if req.Passcode != "" {
		if n := utf8.RuneCountInString(req.Passcode); n < minPasscode || n > maxPasscode {
			return nil, errPasscodeFormat
		}
		kdf, err := crypto.NewKDFParams(a.cfg.KDF)
		if err != nil {
			return nil, Internal(err)
		}
		h, err := deriveKey(ctx, []byte(req.Passcode), kdf)
		if err != nil {
			return nil, Internal(err)
		}
		pc = &passcodeHash{KDF: kdf.String(), Hash: h}
	}
	token, err := crypto.NewToken()
	if err != nil {
		return nil, Internal(err)
	}
	ls := &linkState{token: token, expiresAt: expires, passcode: pc}
	if !req.Page {
		if ls.shlKey, err = newSHLKey(); err != nil {
			return nil, Internal(err)
		}
	}
	link := &HealthLink{ID: NewID(), ExpiresAt: expires}
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		var sel []LinkSelector
		seen := map[LinkSelector]bool{}
		for _, it := range items {
			var s LinkSelector
			if _, found, err := readRecord(tx, it); err != nil {
				return err
			} else if found {
				s.RecordID = it
			} else if t := strings.ToLower(it); ValidFieldName(t) {
				s.Type = t
			} else {
				return errLinkRecords
			}
			if !seen[s] {
				seen[s] = true
				sel = append(sel, s)
			}
		}
		selJSON, err := json.Marshal(sel)
		if err != nil {
			return err
		}
		cells := []Cell{
			{Field: "token_hash", Clear: crypto.TokenIndex(token)},
			{Field: "token", Value: []byte(token)},
			{Field: "doctor_email", Value: []byte(req.DoctorEmail)},
			{Field: "records", Value: selJSON},
			{Field: "created_at", Value: []byte(now.Format(time.RFC3339Nano))},
			{Field: "expires_at", Value: []byte(expires.Format(time.RFC3339Nano))},
		}
		if pc != nil {
			b, err := json.Marshal(pc)
			if err != nil {
				return err
			}
			cells = append(cells, Cell{Field: "passcode", Value: b})
		}
		name := ""
		if f, ok, err := fieldValue(tx, "name"); err != nil {
			return err
		} else if ok {
			name = f.Text()
		}
		if ls.shlKey != nil {
			ls.label = shlLabel(name)
			cells = append(cells, Cell{Field: "shl_key", Value: ls.shlKey}, Cell{Field: "shl_label", Value: []byte(ls.label)})
		}
		for _, c := range cells {
			c.Entity, c.ID = EntityHealthLink, link.ID
			if err := tx.Put(c); err != nil {
				return err
			}
		}
		link.URL, link.SHLink = a.accessLink(ctx, p.UserID, ls)
		// The e-mail's message id, kept with the link: the owner sees
		// whether it went out (HealthLinkInfo.EmailID).
		if link.EmailID, err = a.enqueueEmailID(tx, p.UserID, linkEmail(req.DoctorEmail, name, link, pc != nil)); err != nil {
			return err
		}
		return tx.Put(Cell{Entity: EntityHealthLink, ID: link.ID, Field: "email_id", Value: []byte(link.EmailID)})
	})
	if err != nil {
		return nil, AsError(err)
	}
	a.cfg.Log.Info("health link created", "user_id", p.UserID, "link_id", link.ID)
	return link, nil
}

func linkEmail(to, name string, l *HealthLink, passcode bool) Email {
	who := "A patient"
	if name != "" {
		who = name
	}
	pc := ""
	if passcode {
		pc = "\nThe page asks for a passcode, which the patient gives you separately.\nAfter 10 wrong passcodes the link stops working.\n"
	}
	return Email{
		To:      to,
		Subject: who + " shared health records with you",
		Text: fmt.Sprintf(`%s shared health records with you through Secure Personal Profile.

Open them here (the link works until %s):

%s
%s
Every opening is logged and shown to the patient, who can revoke the link
at any time. Do not forward this message.
`, who, l.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), l.URL, pc),
	}
}

// linkState is a link as its owner reads it, with the data key.
type linkState struct {
	id          string
	selectors   []LinkSelector
	expiresAt   time.Time
	revoked     bool
	locked      bool
	passcode    *passcodeHash
	failures    int
	doctorEmail string
	emailID     string // the doctor's e-mail in the outbox ("" for links made before it was kept)
	createdAt   time.Time
	revokedAt   time.Time
	lockedAt    time.Time
	token       string
	shlKey      []byte // a SMART Health Link's key (nil for a page link)
	label       string // a SMART Health Link's label
}

func readLink(tx Tx, id string) (*linkState, bool, error) {
	c, err := tx.Entity(EntityHealthLink, id)
	if err != nil || len(c) == 0 {
		return nil, false, err
	}
	for _, f := range []string{"records", "expires_at", "token"} {
		if _, ok := c[f]; !ok {
			// Not complete yet (its cells may arrive by sync in more
			// than one batch).
			return nil, false, nil
		}
	}
	l := &linkState{id: id, doctorEmail: string(c["doctor_email"].Value), token: string(c["token"].Value), emailID: string(c["email_id"].Value)}
	if err := json.Unmarshal(c["records"].Value, &l.selectors); err != nil {
		return nil, false, fmt.Errorf("link %s: records: %w", id, err)
	}
	l.createdAt, _ = time.Parse(time.RFC3339Nano, string(c["created_at"].Value))
	if l.expiresAt, err = time.Parse(time.RFC3339Nano, string(c["expires_at"].Value)); err != nil {
		return nil, false, fmt.Errorf("link %s: expires_at: %w", id, err)
	}
	if v, ok := c["revoked_at"]; ok {
		l.revoked = true
		l.revokedAt, _ = time.Parse(time.RFC3339Nano, string(v.Value))
	}
	if v, ok := c["locked_at"]; ok {
		l.locked = true
		l.lockedAt, _ = time.Parse(time.RFC3339Nano, string(v.Value)+string(v.Clear))
	}
	if v, ok := c["passcode"]; ok {
		l.passcode = &passcodeHash{}
		if err := json.Unmarshal(v.Value, l.passcode); err != nil {
			return nil, false, fmt.Errorf("link %s: passcode: %w", id, err)
		}
	}
	if v, ok := c["failures"]; ok {
		l.failures, _ = strconv.Atoi(string(v.Value))
	}
	if v, ok := c["shl_key"]; ok && len(v.Value) == 32 {
		l.shlKey, l.label = v.Value, string(c["shl_label"].Value)
	}
	return l, true, nil
}

// resolve reads the link's records now: each chosen record that still
// exists, then every record of each chosen type, without repeats.
func (l *linkState) resolve(tx Tx) ([]*HealthRecord, error) {
	var out []*HealthRecord
	seen := map[string]bool{}
	var byType map[string][]*HealthRecord
	for _, s := range l.selectors {
		if s.RecordID != "" {
			r, ok, err := readRecord(tx, s.RecordID)
			if err != nil {
				return nil, err
			}
			if ok && !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
			continue
		}
		if byType == nil {
			byType = map[string][]*HealthRecord{}
			ids, err := tx.IDs(EntityHealthRecord)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				r, ok, err := readRecord(tx, id)
				if err != nil {
					return nil, err
				}
				if ok {
					byType[r.Type] = append(byType[r.Type], r)
				}
			}
			for _, rs := range byType {
				sortRecords(rs)
			}
		}
		for _, r := range byType[s.Type] {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	if out == nil {
		out = []*HealthRecord{}
	}
	return out, nil
}

// LinkOpen is a request to open a link.
type LinkOpen struct {
	Token     string
	Passcode  string // "" when none was sent
	Client    string
	UserAgent string
	Recipient string // a SMART Health Link's manifest request names one
}

// LinkView is what an opened link shows.
type LinkView struct {
	LinkID    string
	Records   []*HealthRecord
	ExpiresAt time.Time
	Patient   string // the profile's name field, when set
}

// linkLocks serialise the passcode checks of one link on this device, so
// that concurrent guesses cannot pass the count of wrong tries.
var linkLocks [64]sync.Mutex

func linkLock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &linkLocks[h.Sum32()%uint32(len(linkLocks))]
}

// findLink finds a link's capability by its token.
func (a *HealthService) findLink(ctx context.Context, token string) (*Capability, error) {
	if len(token) > 128 {
		return nil, errLinkUnknown
	}
	c, err := a.capabilityByToken(ctx, CapLink, token)
	if errors.Is(err, ErrNotFound) {
		return nil, errLinkUnknown
	}
	if err != nil {
		return nil, Internal(err)
	}
	return c, nil
}

// LinkNeedsPasscode reports whether a live link asks for a passcode (how
// the doctor's page decides to show the passcode form); a dead or unknown
// link gives its error.
func (a *HealthService) LinkNeedsPasscode(ctx context.Context, token string) (bool, error) {
	c, err := a.findLink(ctx, token)
	if err != nil {
		return false, err
	}
	if err := linkAlive(c); err != nil {
		return false, err
	}
	return c.KDF != "", nil
}

func linkAlive(c *Capability) error {
	switch {
	case c.State == CapRevoked:
		return errLinkRevoked
	case c.State == CapLocked:
		return errLinkLocked
	case c.State == CapExpired || c.View == nil:
		return errLinkExpired
	}
	return nil
}

// OpenLink opens a link: the chosen records, from its view. Expired,
// revoked and locked links answer 410; a link with a passcode needs it,
// and dies after LinkPasscodeTries wrong ones. Every opening and every
// wrong passcode is logged for the user, sealed to the user's inbox.
func (a *HealthService) OpenLink(ctx context.Context, req LinkOpen) (*LinkView, error) {
	c, err := a.findLink(ctx, req.Token)
	if err != nil {
		return nil, err
	}
	if err := linkAlive(c); err != nil {
		return nil, err
	}
	key := viewKey(req.Token, nil)
	if c.KDF != "" {
		if req.Passcode == "" {
			return nil, errPasscodeMissing
		}
		mu := linkLock(c.ID)
		mu.Lock()
		key, _, err = a.checkPasscode(ctx, c, req)
		mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	var v linkView
	if err := openView(key, c, &v); err != nil {
		return nil, Internal(fmt.Errorf("opening link view: %w", err))
	}
	if v.SHL {
		return nil, errLinkUnknown // a SMART Health Link: its manifest answers
	}
	ids := make([]string, len(v.Records))
	for i, r := range v.Records {
		ids[i] = r.ID
	}
	if err := a.logOpening(ctx, c, req, LinkOpened, ids); err != nil {
		return nil, Internal(err)
	}
	return &LinkView{LinkID: c.ID, Records: v.Records, ExpiresAt: v.ExpiresAt, Patient: v.Patient}, nil
}

// checkPasscode checks a passcode under the link's lock and returns the
// view's key: the passcode is right exactly when the view opens under the
// key it gives. A wrong one is counted (in one statement), logged and, at
// the limit, the link locked and its view dropped; remaining is the
// wrong passcodes left then (-1 when none was counted).
func (a *HealthService) checkPasscode(ctx context.Context, c *Capability, req LinkOpen) (key []byte, remaining int, err error) {
	// Re-read: another request may have counted a try meanwhile.
	cur, err := a.store.CapabilityByHash(ctx, c.TokenHash)
	if err != nil {
		return nil, -1, Internal(err)
	}
	if err := linkAlive(cur); err != nil {
		return nil, -1, err
	}
	kdf, err := crypto.ParseKDFParams(cur.KDF)
	if err != nil {
		return nil, -1, Internal(err)
	}
	h, err := deriveKey(ctx, []byte(req.Passcode), kdf)
	if err != nil {
		return nil, -1, Internal(err)
	}
	key = viewKey(req.Token, h)
	if _, err := crypto.Open(key, cur.View, viewAD(cur.UserID, cur.Kind, cur.ID)); err == nil {
		*c = *cur
		return key, -1, nil
	}
	n, locked, err := a.store.CapabilityFailure(ctx, c.TokenHash, LinkPasscodeTries)
	if err != nil {
		return nil, -1, Internal(err)
	}
	outcome := LinkWrongPasscode
	if locked {
		outcome = LinkLockedNow
	}
	if err := a.logOpening(ctx, c, req, outcome, nil); err != nil {
		return nil, -1, Internal(err)
	}
	if locked {
		a.cfg.Log.Warn("health link locked after wrong passcodes", "user_id", c.UserID, "link_id", c.ID)
		return nil, 0, errLinkLocked
	}
	return nil, max(0, LinkPasscodeTries-n), errPasscodeWrong
}

func (a *HealthService) logOpening(ctx context.Context, c *Capability, req LinkOpen, outcome string, records []string) error {
	ua := req.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	if !utf8.ValidString(ua) {
		ua = strings.ToValidUTF8(ua, "?")
	}
	if records == nil {
		records = []string{}
	}
	rec, err := json.Marshal(linkOpeningRecord{
		LinkID: c.ID,
		LinkOpening: LinkOpening{
			At: a.now(), Client: req.Client, UserAgent: ua, Outcome: outcome, Records: records, Recipient: req.Recipient,
		},
	})
	if err != nil {
		return err
	}
	// No data key: the record is sealed to the user's inbox, and the
	// lock (if this was it) recorded in clear for the user's devices.
	ahead := a.sealAhead(c.UserID, rec)
	return a.update(ctx, c.UserID, nil, func(tx Tx) error {
		sealed, err := a.sealedToInbox(tx, ahead)
		if err != nil {
			return err
		}
		if outcome == LinkLockedNow {
			if err := tx.Put(Cell{Entity: EntityHealthLink, ID: c.ID, Field: "locked_at", Clear: []byte(a.now().Format(time.RFC3339Nano))}); err != nil {
				return err
			}
		}
		return tx.Put(Cell{Entity: EntityLinkOpening, ID: NewID(), Field: "sealed", Clear: sealed})
	})
}

// linkOpeningRecord is the one sealed cell of a link_opening.
type linkOpeningRecord struct {
	LinkID string `json:"link_id"`
	LinkOpening
}

// LinkOpening is one logged opening (or wrong passcode) of a link.
type LinkOpening struct {
	ID        string    `json:"opening_id"`
	At        time.Time `json:"at"`
	Client    string    `json:"client"`
	UserAgent string    `json:"user_agent"`
	Outcome   string    `json:"outcome"`
	Records   []string  `json:"record_ids"`
	Recipient string    `json:"recipient,omitempty"` // who a SMART Health Link's manifest request said it is
}

// HealthLinkInfo is a link as its owner sees it.
type HealthLinkInfo struct {
	ID             string         `json:"link_id"`
	URL            string         `json:"access_link"`
	SHLink         string         `json:"shlink,omitempty"`
	DoctorEmail    string         `json:"doctor_email"`
	Records        []LinkSelector `json:"health_records_info"`
	State          string         `json:"state"` // active | expired | revoked | locked
	Passcode       bool           `json:"passcode"`
	WrongPasscodes int            `json:"wrong_passcodes"`
	CreatedAt      time.Time      `json:"created_at"`
	ExpiresAt      time.Time      `json:"expires_at"`
	RevokedAt      time.Time      `json:"revoked_at,omitzero"`
	LockedAt       time.Time      `json:"locked_at,omitzero"`
	Openings       []LinkOpening  `json:"openings"` // newest first
	// EmailID is the outbox message of the doctor's e-mail (see
	// OutboxEntries); "" for links made before it was kept.
	EmailID string `json:"-"`
}

// HealthLinks lists the principal's links, newest first, each with who
// opened it, when, and what it showed.
func (a *HealthService) HealthLinks(ctx context.Context, p *Principal) ([]*HealthLinkInfo, error) {
	out := []*HealthLinkInfo{}
	byID := map[string]*HealthLinkInfo{}
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		err := eachEntity(tx, EntityHealthLink, readLink, func(l *linkState) error {
			info := &HealthLinkInfo{
				ID: l.id, DoctorEmail: l.doctorEmail, Records: l.selectors, EmailID: l.emailID,
				State: "active", Passcode: l.passcode != nil, WrongPasscodes: l.failures,
				CreatedAt: l.createdAt, ExpiresAt: l.expiresAt, RevokedAt: l.revokedAt, LockedAt: l.lockedAt,
				Openings: []LinkOpening{},
			}
			info.URL, info.SHLink = a.accessLink(ctx, p.UserID, l)
			switch {
			case l.revoked:
				info.State = "revoked"
			case l.locked:
				info.State = "locked"
			case !a.now().Before(l.expiresAt):
				info.State = "expired"
			}
			out = append(out, info)
			byID[l.id] = info
			return nil
		})
		if err != nil {
			return err
		}
		// Wrong passcodes are counted on the device that answered them.
		caps, err := tx.Capabilities(CapLink)
		if err != nil {
			return err
		}
		for _, c := range caps {
			if info := byID[c.ID]; info != nil {
				info.WrongPasscodes = max(info.WrongPasscodes, c.Failures)
				if c.State == CapLocked {
					info.State = "locked"
				}
			}
		}
		oids, err := tx.IDs(EntityLinkOpening)
		if err != nil {
			return err
		}
		for _, id := range oids {
			cells, err := tx.Entity(EntityLinkOpening, id)
			if err != nil {
				return err
			}
			raw := cells["record"].Value
			if c, ok := cells["sealed"]; ok {
				if raw, err = openInbox(p.DEK, c.Clear); err != nil {
					continue // not for this profile's inbox: never shown
				}
			}
			var rec linkOpeningRecord
			if json.Unmarshal(raw, &rec) != nil {
				continue
			}
			info := byID[rec.LinkID]
			if info == nil {
				continue
			}
			rec.LinkOpening.ID = id
			if rec.Records == nil {
				rec.Records = []string{}
			}
			info.Openings = append(info.Openings, rec.LinkOpening)
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	for _, l := range out {
		sort.Slice(l.Openings, func(i, j int) bool {
			a, b := l.Openings[i], l.Openings[j]
			if !a.At.Equal(b.At) {
				return a.At.After(b.At)
			}
			return a.ID > b.ID // ids are UUIDv7: later is greater
		})
		if len(l.Openings) > linkOpeningsListed {
			l.Openings = l.Openings[:linkOpeningsListed]
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// RevokeLink revokes a link at once (idempotent); 404 for an unknown id.
func (a *HealthService) RevokeLink(ctx context.Context, p *Principal, linkID string) error {
	err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		l, ok, err := readLink(tx, linkID)
		if err != nil {
			return err
		}
		if !ok {
			return errLinkID
		}
		if l.revoked {
			return nil
		}
		return tx.Put(Cell{Entity: EntityHealthLink, ID: linkID, Field: "revoked_at", Value: []byte(a.now().Format(time.RFC3339Nano))})
	})
	if err != nil {
		return AsError(err)
	}
	return nil
}

var errLinkID = E(KindNotFound, "unknown_link", "link_id does not exist!")

// LinkURL returns the address of one of the principal's links (what its
// QR code carries).
func (a *HealthService) LinkURL(ctx context.Context, p *Principal, linkID string) (string, error) {
	if linkID == "" {
		return "", E(KindInvalid, "missing_parameter", "id must exist!")
	}
	var l *linkState
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) (err error) {
		l, _, err = readLink(tx, linkID)
		return err
	})
	if err != nil {
		return "", Internal(err)
	}
	if l == nil {
		return "", errLinkID
	}
	u, _ := a.accessLink(ctx, p.UserID, l)
	return u, nil
}
