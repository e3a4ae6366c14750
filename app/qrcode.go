package app

import (
	"context"
	"strings"
)

// URL returns the public URL of an API path ("/api/v1/verify/…").
func (a *App) URL(path string) string {
	return strings.TrimRight(a.cfg.PublicURL, "/") + path
}

// QR code kinds a user can ask for (GET /profile/qr).
const (
	QRShare     = "share"
	QREmergency = "emergency"
	QRLink      = "link"
)

var errQRKind = E(KindInvalid, "invalid_kind", "kind must be one of share, emergency, link!")

// QRURL returns the URL that the QR code of a kind carries for the
// principal: a share's verify URL, the emergency page, a health link. id
// names the share or link (the emergency page needs none).
func (a *App) QRURL(ctx context.Context, p *Principal, kind, id string) (string, error) {
	switch kind {
	default:
		return "", errQRKind
	}
}
