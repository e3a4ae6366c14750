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
// again keeps the link) and "token_hash" (clear). The link reads the
// public view (capabilities.go), which exists only while visible.
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
func (a *ProfileService) SetPublic(ctx context.Context, p *Principal, info json.RawMessage, visibility string) (string, error) {
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
	if err := checkDepth("public_info", info); err != nil {
		return "", err
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
			for _, c := range []Cell{
				{Entity: EntityPublic, ID: p.ProfileID, Field: "token", Value: []byte(token)},
				{Entity: EntityPublic, ID: p.ProfileID, Field: "token_hash", Clear: crypto.TokenIndex(token)},
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
	return a.userURL(ctx, p.UserID, PublicPath(token)), nil
}

// PublicProfile is what the public page shows.
type PublicProfile struct {
	Info   json.RawMessage            // public_info as given
	Fields map[string]json.RawMessage // the public ring's fields, live
}

// Public answers a public profile link (no session): public_info and the
// current values of the fields in the public ring, from the link's view,
// while visibility is true; 404 otherwise.
func (a *ProfileService) Public(ctx context.Context, token string) (*PublicProfile, error) {
	c, err := a.capabilityByToken(ctx, CapPublic, token)
	if errors.Is(err, ErrNotFound) {
		return nil, errPublicNotVisible
	}
	if err != nil {
		return nil, Internal(err)
	}
	if c.State != CapActive || c.View == nil {
		return nil, errPublicNotVisible
	}
	v, err := openCached[publicView](a.core, c, token)
	if err != nil {
		return nil, errPublicNotVisible
	}
	return &PublicProfile{Info: v.Info, Fields: v.Fields}, nil
}
