package app

import (
	"context"
	"strings"
)

// Links: the base every link, QR code and e-mail of the user starts with
// (the profile's public URL, settings.go), this device's own base, and
// the links of capabilities shown again.

// URL returns the public URL of an API path ("/api/v1/verify/…").
func (a *core) URL(path string) string {
	return strings.TrimRight(a.cfg.PublicURL, "/") + path
}

// tokenURL is the link a capability's QR code carries: the token sealed
// in the "token" cell of entity/id (id "": the user's only one) under its
// path; none when there is no such capability.
func (a *core) tokenURL(ctx context.Context, p *Principal, entity, id, path string, none error) (string, error) {
	var token string
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		if id == "" {
			ids, err := tx.IDs(entity)
			if err != nil || len(ids) == 0 {
				return err
			}
			id = ids[0]
		}
		c, ok, err := tx.Get(entity, id, "token")
		if ok {
			token = string(c.Value)
		}
		return err
	})
	if err != nil {
		return "", Internal(err)
	}
	if token == "" {
		return "", none
	}
	return a.userURL(ctx, p.UserID, path+token), nil
}
