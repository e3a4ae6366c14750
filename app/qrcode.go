package app

import (
	"context"
)

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
