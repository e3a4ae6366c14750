package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/secure-personal-profile/spp/crypto"
)

// EntityPublic is the user's public profile (one per user); id = the
// profile id; fields: "info" (sealed JSON: public_info as given), "visible"
// (clear "true"/"false"), "token" (sealed: the link's token, so calling
// again keeps the link), "token_hash" and "token_dek" (clear: the
// capability pattern of docs/data-model.md).
const EntityPublic = "public"

// PublicPath is the API path of a public profile link.
func PublicPath(token string) string { return "/api/v1/public/" + token }

var (
	errPublicMissing    = E(KindInvalid, "missing_parameter", "public_info,visibility must exist!")
	errVisibility       = E(KindInvalid, "invalid_visibility", "visibility must be true or false!")
	errPublicTooLarge   = E(KindInvalid, "value_too_large", "public_info is too large!")
	errPublicNotVisible = E(KindNotFound, "unknown_public_profile", "public profile does not exist!")
)

// ParseVisibility reads a visibility parameter: true/false, 1/0, yes/no,
// on/off (any case).
func ParseVisibility(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, errVisibility
}

// SetPublic sets the public profile's text and visibility and returns the
// link to it (the same link on every call). info is JSON (an object or a
// string); visibility is as sent ("" when missing).
func (a *App) SetPublic(ctx context.Context, p *Principal, info json.RawMessage, visibility string) (string, error) {
	info = bytes.TrimSpace(info)
	if len(info) == 0 || string(info) == "null" || visibility == "" {
		return "", errPublicMissing
	}
	visible, err := ParseVisibility(visibility)
	if err != nil {
		return "", err
	}
	if len(info) > MaxFieldValue {
		return "", errPublicTooLarge
	}
	var token string
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		c, ok, err := tx.Get(EntityPublic, p.ProfileID, "token")
		if err != nil {
			return err
		}
		if ok {
			token = string(c.Value)
		} else {
			if token, err = crypto.NewToken(); err != nil {
				return err
			}
			wrapped, err := crypto.Wrap(crypto.TokenKey(token), p.DEK, "dek/public/"+p.ProfileID)
			if err != nil {
				return err
			}
			for _, c := range []Cell{
				{Entity: EntityPublic, ID: p.ProfileID, Field: "token", Value: []byte(token)},
				{Entity: EntityPublic, ID: p.ProfileID, Field: "token_hash", Clear: crypto.HashToken(token)},
				{Entity: EntityPublic, ID: p.ProfileID, Field: "token_dek", Clear: wrapped},
			} {
				if err := tx.Put(c); err != nil {
					return err
				}
			}
		}
		if err := tx.Put(Cell{Entity: EntityPublic, ID: p.ProfileID, Field: "info", Value: info}); err != nil {
			return err
		}
		return tx.Put(Cell{Entity: EntityPublic, ID: p.ProfileID, Field: "visible", Clear: []byte(map[bool]string{true: "true", false: "false"}[visible])})
	})
	if err != nil {
		return "", Internal(err)
	}
	return a.URL(PublicPath(token)), nil
}

// PublicProfile is what the public page shows.
type PublicProfile struct {
	Info   json.RawMessage            // public_info as given
	Fields map[string]json.RawMessage // the public ring's fields, live
}

// Public answers a public profile link (no session): public_info and the
// current values of the fields in the public ring, while visibility is
// true; 404 otherwise.
func (a *App) Public(ctx context.Context, token string) (*PublicProfile, error) {
	if token == "" || len(token) > 256 {
		return nil, errPublicNotVisible
	}
	c, hash, err := a.openCapability(ctx, EntityPublic, "dek/public/", token)
	if errors.Is(err, ErrNotFound) {
		return nil, errPublicNotVisible
	}
	if err != nil {
		return nil, Internal(err)
	}
	var out *PublicProfile
	err = a.store.View(ctx, c.UserID, c.DEK, func(tx Tx) error {
		e, err := tx.Entity(EntityPublic, c.ID)
		if err != nil {
			return err
		}
		if !crypto.Equal(e["token_hash"].Clear, hash) {
			a.caches.caps.drop(hash)
			return errPublicNotVisible
		}
		if string(e["visible"].Clear) != "true" {
			return errPublicNotVisible
		}
		out = &PublicProfile{Info: e["info"].Value, Fields: map[string]json.RawMessage{}}
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
				out.Fields[f.Name] = f.Value
			}
		}
		return nil
	})
	if err != nil {
		return nil, AsError(err)
	}
	return out, nil
}
