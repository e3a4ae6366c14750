package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/secure-personal-profile/spp/crypto"
)

// EmergencyConfig is the principal's emergency configuration as set up:
// what the settings screen shows to edit.
type EmergencyConfig struct {
	AccessID        string
	URL             string          // the emergency page a QR code opens
	InfoField       []string        // the profile fields a grant shows, in order
	EmergencyInfo   json.RawMessage // exactly as stored; null when none
	Responders      string          // RespondersVerified | RespondersAny
	Conditions      []string
	TrustedContacts []string
}

// EmergencyConfig reads the principal's emergency configuration (opened
// with the emergency key's copy sealed under the user's data key); 404
// no_emergency_access when none is set up.
func (a *EmergencyService) EmergencyConfig(ctx context.Context, p *Principal) (*EmergencyConfig, error) {
	var out *EmergencyConfig
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityEmergency)
		if err != nil || len(ids) == 0 {
			return err
		}
		id := ids[0]
		cells, err := tx.Entity(EntityEmergency, id)
		if err != nil {
			return err
		}
		ek := cells["key"].Value
		if len(ek) == 0 {
			return fmt.Errorf("emergency configuration %s lacks its key", id)
		}
		c := &EmergencyConfig{AccessID: id, URL: a.emergencyPageURL(ctx, p.UserID, string(cells["token"].Value))}
		open := func(part string, v any) error {
			b, err := crypto.Open(ek, cells[part].Clear, emergencyAD(p.UserID, id, part))
			if err != nil {
				return fmt.Errorf("opening emergency %s: %w", part, err)
			}
			return json.Unmarshal(b, v)
		}
		var info emergencyInfo
		var crit emergencyCriteria
		if err := open("info", &info); err != nil {
			return err
		}
		if err := open("criteria", &crit); err != nil {
			return err
		}
		if err := open("contacts", &c.TrustedContacts); err != nil {
			return err
		}
		c.InfoField, c.EmergencyInfo = info.InfoField, info.EmergencyInfo
		if len(c.EmergencyInfo) == 0 {
			c.EmergencyInfo = json.RawMessage("null")
		}
		c.Responders, c.Conditions = crit.Responders, crit.Conditions
		out = c
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	if out == nil {
		return nil, errNoEmergency
	}
	return out, nil
}
