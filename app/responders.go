package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// Responder is an entry of this device's registry of verified emergency
// responders (the `responders` subcommand). Only a responder listed here
// gets emergency information while a user's criteria ask for verified
// responders (the default).
type Responder struct {
	ID           string    `json:"responder_id"`
	Name         string    `json:"name,omitempty"`
	Organization string    `json:"organization,omitempty"`
	AddedAt      time.Time `json:"added_at"`
}

// ResponderRecord is how a store keeps a responder: found by a keyed hash
// of the normalised id, its details sealed under the installation key.
// The registry is device-local (the administrator of this listener keeps
// it) and never synced.
type ResponderRecord struct {
	MAC       []byte
	Sealed    []byte
	CreatedAt time.Time
}

// Responder ids are matched case-insensitively, without surrounding space.
func normResponder(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

func (a *App) responderMAC(id string) []byte {
	return crypto.KeyedHash(a.store.InstallationKey(), "responder:"+normResponder(id))
}

func responderAD(mac []byte) []byte { return append([]byte("responder\x00"), mac...) }

var errResponderID = E(KindInvalid, "invalid_responder_id", "responder_id must be 1 to 128 printable characters!")

func validText(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// AddResponder adds a verified responder to this device's registry, or
// updates the name and organization of one already there.
func (a *App) AddResponder(ctx context.Context, r Responder) (*Responder, error) {
	r.ID = strings.TrimSpace(r.ID)
	if !validText(r.ID, 128) {
		return nil, errResponderID
	}
	if (r.Name != "" && !validText(r.Name, 256)) || (r.Organization != "" && !validText(r.Organization, 256)) {
		return nil, E(KindInvalid, "invalid_responder", "name and organization must be printable text of at most 256 bytes!")
	}
	mac := a.responderMAC(r.ID)
	r.AddedAt = a.now()
	if old, err := a.store.Responder(ctx, mac); err == nil {
		r.AddedAt = old.CreatedAt
	} else if !errors.Is(err, ErrNotFound) {
		return nil, Internal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, Internal(err)
	}
	sealed, err := crypto.Seal(a.store.InstallationKey(), b, responderAD(mac))
	if err != nil {
		return nil, Internal(err)
	}
	if err := a.store.PutResponder(ctx, &ResponderRecord{MAC: mac, Sealed: sealed, CreatedAt: r.AddedAt}); err != nil {
		return nil, Internal(err)
	}
	return &r, nil
}

func (a *App) openResponder(rec *ResponderRecord) (*Responder, error) {
	b, err := crypto.Open(a.store.InstallationKey(), rec.Sealed, responderAD(rec.MAC))
	if err != nil {
		return nil, fmt.Errorf("opening responder record: %w", err)
	}
	var r Responder
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding responder record: %w", err)
	}
	return &r, nil
}

// VerifiedResponder returns the registry's entry for a responder id, or
// nil when the id is not registered.
func (a *App) VerifiedResponder(ctx context.Context, id string) (*Responder, error) {
	if !validText(strings.TrimSpace(id), 128) {
		return nil, nil
	}
	rec, err := a.store.Responder(ctx, a.responderMAC(id))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, Internal(err)
	}
	r, err := a.openResponder(rec)
	if err != nil {
		return nil, Internal(err)
	}
	return r, nil
}

// Responders lists the registry, by id.
func (a *App) Responders(ctx context.Context) ([]*Responder, error) {
	recs, err := a.store.ResponderList(ctx)
	if err != nil {
		return nil, Internal(err)
	}
	out := make([]*Responder, 0, len(recs))
	for _, rec := range recs {
		r, err := a.openResponder(rec)
		if err != nil {
			return nil, Internal(err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return normResponder(out[i].ID) < normResponder(out[j].ID) })
	return out, nil
}

// RemoveResponder removes a responder from the registry; 404 when it is
// not there.
func (a *App) RemoveResponder(ctx context.Context, id string) error {
	if !validText(strings.TrimSpace(id), 128) {
		return errResponderID
	}
	ok, err := a.store.DeleteResponder(ctx, a.responderMAC(id))
	if err != nil {
		return Internal(err)
	}
	if !ok {
		return E(KindNotFound, "unknown_responder", "responder does not exist!")
	}
	return nil
}
