package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// EntityService is a third party the user deals with: registered with a
// webhook (POST /profile/services), given a role (privilege-rings), or
// created by a share to it; id = nameID("service", service_id); fields:
// "service_id", "name", "webhook_url", "secret" (the webhook's HMAC key),
// "role" (ring level or custom ring id; empty for none), "role_since",
// "created_at", "revoked_at" (clear; empty while not revoked).
const EntityService = "service"

// EntityServiceShares indexed a service's shares in the synced cells; id =
// the service entity's id; one field per share, named by the share id
// (clear). Shares made since are found through their capability records
// instead (each device derives them, Owner: the service: service.shares),
// a share being one operation fewer; the index is still read for the
// shares it holds.
const EntityServiceShares = "service_shares"

// KindWebhook is the outbox kind of webhook events (app/webhook sends them).
const KindWebhook = "webhook"

// Webhook events.
const (
	EventProfileUpdated = "profile.updated"
	EventAccessRevoked  = "access.revoked"
)

// WebhookDelivery is the outbox payload of a webhook event: the exact body
// to POST and its signature, computed when the event was queued (with the
// user's data key open), so delivery needs no secret.
type WebhookDelivery struct {
	URL       string `json:"url"`
	Event     string `json:"event"`
	Body      string `json:"body"`
	Signature string `json:"signature"` // "sha256=<hex HMAC-SHA256(body, secret)>"
}

// WebhookSignature is the X-Profile-Signature value of a body under a
// webhook secret: "sha256=" and the hex HMAC-SHA256 of the body, keyed
// with the secret's UTF-8 bytes.
func WebhookSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

var (
	errServiceMissing    = E(KindInvalid, "missing_parameter", "service_id must exist!")
	errServiceRegMissing = E(KindInvalid, "missing_parameter", "service_id,webhook_url must exist!")
	errServiceID         = E(KindInvalid, "invalid_service_id", "service_id must be at most 256 printable characters!")
	errWebhookURL        = E(KindInvalid, "invalid_webhook_url", "webhook_url must be an http or https URL!")
	errServiceName       = E(KindInvalid, "invalid_name", "name must be at most 256 characters!")
)

func validServiceID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// service is a service entity as read.
type service struct {
	ID         string
	ServiceID  string
	Name       string
	WebhookURL string
	Secret     string
	Role       string
	RoleSince  time.Time
	CreatedAt  time.Time
	RevokedAt  time.Time
}

func readService(tx Tx, id string) (*service, bool, error) {
	c, err := tx.Entity(EntityService, id)
	if err != nil || len(c) == 0 {
		return nil, false, err
	}
	return &service{
		ID:         id,
		ServiceID:  string(c["service_id"].Value),
		Name:       string(c["name"].Value),
		WebhookURL: string(c["webhook_url"].Value),
		Secret:     string(c["secret"].Value),
		Role:       string(c["role"].Value),
		RoleSince:  parseTimeText(c["role_since"].Clear),
		CreatedAt:  parseTimeText(c["created_at"].Clear),
		RevokedAt:  parseTimeText(c["revoked_at"].Clear),
	}, true, nil
}

// shares reads the service's shares: those its capability records name
// (Owner), those of the older synced index, and those the transaction (or
// its group) has changed whose records are not derived yet. Until this
// device's records are of this version (an upgrade: viewsVersion), every
// share is read instead.
func (s *service) shares(tx Tx) ([]*share, error) {
	index, err := tx.Entity(EntityServiceShares, s.ID)
	if err != nil {
		return nil, err
	}
	caps, err := tx.CapabilitiesOwnedBy(CapShare, s.ID)
	if err != nil {
		return nil, err
	}
	// Share ids, and whether they are known to be the service's (else
	// whose they are is read).
	ids := make(map[string]bool, len(index)+len(caps))
	for id := range index {
		ids[id] = true
	}
	for _, c := range caps {
		ids[c.ID] = true
	}
	others := tx.Pending()
	if v, err := tx.ViewsVersion(); err != nil {
		return nil, err
	} else if v < viewsVersion {
		all, err := tx.IDs(EntityShare)
		if err != nil {
			return nil, err
		}
		for _, id := range all {
			others = append(others, CellRef{Entity: EntityShare, ID: id})
		}
	}
	for _, c := range others {
		if c.Entity == EntityShare && !ids[c.ID] {
			ids[c.ID] = false
		}
	}
	out := make([]*share, 0, len(ids))
	for id, known := range ids {
		sh, ok, err := readShare(tx, id)
		if err != nil {
			return nil, err
		}
		if ok && (known || sh.Service == s.ID) {
			out = append(out, sh)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IssuedAt.Before(out[j].IssuedAt) })
	return out, nil
}

func loadServices(tx Tx) ([]*service, error) {
	ids, err := tx.IDs(EntityService)
	if err != nil {
		return nil, err
	}
	out := make([]*service, 0, len(ids))
	for _, id := range ids {
		s, ok, err := readService(tx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// ensureService returns the user's service entity for serviceID, creating
// it when new. A revoked service is active again: the user is granting it
// something anew.
func (a *ShareService) ensureService(tx Tx, serviceID string, now time.Time) (*service, error) {
	id := txNameID(tx, "service", serviceID)
	s := &service{ID: id, ServiceID: serviceID, CreatedAt: now}
	cur, ok, err := readService(tx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := tx.Put(Cell{Entity: EntityService, ID: id, Field: "service_id", Value: []byte(serviceID)}); err != nil {
			return nil, err
		}
		return s, tx.Put(Cell{Entity: EntityService, ID: id, Field: "created_at", Clear: timeText(now)})
	}
	s = cur
	if !s.RevokedAt.IsZero() {
		s.RevokedAt = time.Time{}
		if err := tx.Put(Cell{Entity: EntityService, ID: id, Field: "revoked_at", Clear: []byte{}}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *service) setRole(tx Tx, role string, now time.Time) error {
	s.Role, s.RoleSince = role, now
	if err := tx.Put(Cell{Entity: EntityService, ID: s.ID, Field: "role", Value: []byte(role)}); err != nil {
		return err
	}
	return tx.Put(Cell{Entity: EntityService, ID: s.ID, Field: "role_since", Clear: timeText(now)})
}

// roleLevel is the level up to which a service sees fields through its
// role: its role's level, capped by roleCap; "" with no role, for a
// service sees only what it was given (API.md's ring rules: public fields
// are for the public page while it is visible, not for every service).
func (s *service) roleLevel(rs rings) string {
	if s.Role == "" {
		return ""
	}
	return roleCap(rs.level(s.Role))
}

// seesByRole reports whether a field at level is seen through a role up
// to max ("": no role, nothing).
func seesByRole(level, max string) bool { return max != "" && atOrBelow(level, max) }

// roleCap keeps a role below restricted: restricted fields leave the
// profile only through the emergency set, a health link or the user's own
// export, never to a service by its role.
func roleCap(level string) string {
	if level == RingRestricted {
		return RingPrivate
	}
	return level
}

// RegisterService registers (or updates) a service's webhook and returns
// a new webhook secret, shown this once. Calling again replaces the URL and
// the name and issues a new secret.
func (a *ShareService) RegisterService(ctx context.Context, p *Principal, serviceID, name, webhookURL string) (string, error) {
	if serviceID == "" || webhookURL == "" {
		return "", errServiceRegMissing
	}
	if !validServiceID(serviceID) {
		return "", errServiceID
	}
	if len(name) > 256 {
		return "", errServiceName
	}
	u, err := url.Parse(webhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(webhookURL) > 2048 {
		return "", errWebhookURL
	}
	secret, err := crypto.NewToken()
	if err != nil {
		return "", Internal(err)
	}
	secret = "whsec_" + secret
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		s, err := a.ensureService(tx, serviceID, a.now())
		if err != nil {
			return err
		}
		for f, v := range map[string]string{"name": name, "webhook_url": webhookURL, "secret": secret} {
			if err := tx.Put(Cell{Entity: EntityService, ID: s.ID, Field: f, Value: []byte(v)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", AsError(err)
	}
	return secret, nil
}

// Sight is one thing a service can see now, and since when: a field
// through its role, or a claim through a share.
type Sight struct {
	Field string    `json:"field"`
	Via   string    `json:"via"` // "share" or "role"
	Since time.Time `json:"since"`
}

// ShareView is a share as the user reviews it.
type ShareView struct {
	ShareID   string    `json:"share_id"`
	InfoField string    `json:"info_field"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	State     string    `json:"state"` // active, expired, revoked
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// ServiceAccess is what one service can see now (GET /profile/access).
type ServiceAccess struct {
	ServiceID string      `json:"service_id"`
	Name      string      `json:"name,omitempty"`
	Role      string      `json:"role,omitempty"`
	Webhook   bool        `json:"webhook"`
	Since     time.Time   `json:"since"`
	RevokedAt time.Time   `json:"revoked_at,omitzero"`
	Sees      []Sight     `json:"sees"`
	Shares    []ShareView `json:"shares"`
}

// Access lists every service the user deals with and what each can see
// now, so the user can review before revoking.
func (a *ShareService) Access(ctx context.Context, p *Principal) ([]ServiceAccess, error) {
	var out []ServiceAccess
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		v, err := a.loadView(tx, nil)
		if err != nil {
			return err
		}
		now := a.now()
		for _, s := range v.services {
			sa := ServiceAccess{
				ServiceID: s.ServiceID, Name: s.Name, Role: v.rings.display(s.Role), Webhook: s.WebhookURL != "",
				Since: s.CreatedAt, RevokedAt: s.RevokedAt, Sees: []Sight{}, Shares: []ShareView{},
			}
			for _, sh := range v.shares[s.ID] {
				sa.Shares = append(sa.Shares, sh.view(now))
			}
			sights := v.sights(s, now)
			for _, f := range sortedKeys(sights) {
				sa.Sees = append(sa.Sees, sights[f])
			}
			out = append(out, sa)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ServiceID < out[j].ServiceID })
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

// view is everything needed to work out what each audience sees: rings,
// field placements, services and their shares, read once.
type view struct {
	rings    rings
	fields   map[string]string // field name → level
	services []*service
	shares   map[string][]*share // service entity id → shares
}

func (a *ShareService) loadView(tx Tx, keep func(*service) bool) (*view, error) {
	v := &view{fields: map[string]string{}, shares: map[string][]*share{}}
	var err error
	if v.rings, err = loadRings(tx); err != nil {
		return nil, err
	}
	names, err := fieldNames(tx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		r, err := fieldRing(tx, n)
		if err != nil {
			return nil, err
		}
		v.fields[n] = v.rings.level(r)
	}
	all, err := loadServices(tx)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if keep != nil && !keep(s) {
			continue
		}
		v.services = append(v.services, s)
		if v.shares[s.ID], err = s.shares(tx); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// levelOf is a claim's level: a field's placement, or the default of a
// name that is not a field (yet).
func (v *view) levelOf(name string) string {
	if l, ok := v.fields[name]; ok {
		return l
	}
	return v.rings.level(DefaultRing(name))
}

// sights is what a service sees now: nothing once revoked; else every
// field at or below its role's level, and each claim of an active share
// whose field is not restricted.
func (v *view) sights(s *service, now time.Time) map[string]Sight {
	out := map[string]Sight{}
	if !s.RevokedAt.IsZero() {
		return out
	}
	max := s.roleLevel(v.rings)
	since := s.RoleSince
	if since.IsZero() {
		since = s.CreatedAt
	}
	for f, l := range v.fields {
		if seesByRole(l, max) {
			out[f] = Sight{Field: f, Via: "role", Since: since}
		}
	}
	for _, sh := range v.shares[s.ID] {
		if !sh.active(now) || v.levelOf(sh.Field) == RingRestricted {
			continue
		}
		if _, seen := out[sh.Field]; !seen {
			out[sh.Field] = Sight{Field: sh.Field, Via: "share", Since: sh.IssuedAt}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// webhookEvent is the body of every webhook POST.
type webhookEvent struct {
	ID         string    `json:"id"`
	Event      string    `json:"event"`
	ServiceID  string    `json:"service_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Data       any       `json:"data"`
}

// enqueueEvent queues a signed webhook event for a service, in tx.
func (a *ShareService) enqueueEvent(tx Tx, userID string, s *service, event string, data any) error {
	if s.WebhookURL == "" || s.Secret == "" {
		return nil
	}
	body, err := json.Marshal(webhookEvent{ID: NewID(), Event: event, ServiceID: s.ServiceID, OccurredAt: a.now(), Data: data})
	if err != nil {
		return err
	}
	payload, err := json.Marshal(WebhookDelivery{URL: s.WebhookURL, Event: event, Body: string(body), Signature: WebhookSignature(s.Secret, body)})
	if err != nil {
		return err
	}
	return tx.Enqueue(a.NewMessage(userID, KindWebhook, payload))
}

// RevokeAccess ends everything a service was given: each of its shares is
// revoked (its verification tokens answer 410 from now on), its role is
// taken away, and its webhook gets an access.revoked event. It returns how
// many grants (active shares, and the role) ended; 0 when there were none.
// Only the principal's own shares are touched, whoever else uses the same
// service_id.
func (a *ShareService) RevokeAccess(ctx context.Context, p *Principal, serviceID string) (int, error) {
	if serviceID == "" {
		return 0, errServiceMissing
	}
	n := 0
	err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		s, ok, err := readService(tx, nameID(p.DEK, "service", serviceID))
		if err != nil || !ok {
			return err
		}
		now := a.now()
		shares, err := s.shares(tx)
		if err != nil {
			return err
		}
		for _, sh := range shares {
			if !sh.RevokedAt.IsZero() {
				continue
			}
			if sh.active(now) {
				n++
			}
			if err := tx.Put(Cell{Entity: EntityShare, ID: sh.ID, Field: "revoked_at", Clear: timeText(now)}); err != nil {
				return err
			}
		}
		if s.Role != "" {
			n++
			if err := s.setRole(tx, "", now); err != nil {
				return err
			}
		}
		if !s.RevokedAt.IsZero() {
			return nil // revoked before: nothing more to tell
		}
		if err := tx.Put(Cell{Entity: EntityService, ID: s.ID, Field: "revoked_at", Clear: timeText(now)}); err != nil {
			return err
		}
		return a.enqueueEvent(tx, p.UserID, s, EventAccessRevoked, map[string]any{"revoked": n})
	})
	if err != nil {
		return 0, Internal(err)
	}
	return n, nil
}

// RevokeServiceShare ends one share of a service, named by its share id or
// its verification token: that share's tokens answer 410 from now on; the
// service's other shares and its role stay. It returns 1 when an active
// share ended, 0 when there was none (unknown, another service's, or
// revoked before). The webhook gets an access.revoked event naming the
// share's field.
func (a *ShareService) RevokeServiceShare(ctx context.Context, p *Principal, serviceID, shareOrToken string) (int, error) {
	if serviceID == "" {
		return 0, errServiceMissing
	}
	shareID, err := a.ownShareID(ctx, p, shareOrToken)
	if err != nil {
		return 0, err
	}
	n := 0
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		s, ok, err := readService(tx, nameID(p.DEK, "service", serviceID))
		if err != nil || !ok {
			return err
		}
		shares, err := s.shares(tx)
		if err != nil {
			return err
		}
		var sh *share
		for _, x := range shares {
			if x.ID == shareID {
				sh = x
			}
		}
		if sh == nil || !sh.RevokedAt.IsZero() {
			return nil
		}
		now := a.now()
		if sh.active(now) {
			n++
		}
		if err := tx.Put(Cell{Entity: EntityShare, ID: sh.ID, Field: "revoked_at", Clear: timeText(now)}); err != nil {
			return err
		}
		return a.enqueueEvent(tx, p.UserID, s, EventAccessRevoked, map[string]any{"revoked": n, "info_field": sh.Field})
	})
	if err != nil {
		return 0, Internal(err)
	}
	return n, nil
}
