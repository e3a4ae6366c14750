package app

import (
	"context"
	"strings"
)

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

// QR code kinds a user can ask for (GET /profile/qr).
const (
	QRShare     = "share"
	QREmergency = "emergency"
	QRLink      = "link"
	QRPair      = "pair" // a device pairing code, not a URL
)

var errQRKind = E(KindInvalid, "invalid_kind", "kind must be one of share, emergency, link!")

// QRURL returns the text that the QR code of a kind carries for the
// principal: a share's code (its credential, verifiable offline), the
// emergency page, a health link. id
// names the share or link (the emergency page needs none).
func (a *App) QRURL(ctx context.Context, p *Principal, kind, id string) (string, error) {
	switch kind {
	case QRShare:
		// The signed credential itself: verifiable offline (sharecode.go).
		return a.ShareCode(ctx, p, id)
	case QREmergency:
		return a.EmergencyURL(ctx, p)
	case QRLink:
		return a.LinkURL(ctx, p, id)
	case QRPair:
		// A fresh one-time pairing code (devices.go); the QR carries its text.
		code, _, err := a.PairCode(ctx, p, "")
		return code, err
	default:
		return "", errQRKind
	}
}
