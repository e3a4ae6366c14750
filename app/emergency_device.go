package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/secure-personal-profile/spp/crypto"
)

// Break the glass on the device itself (issue 14 §4): a responder holding
// the locked phone opens the emergency information from its lock screen,
// as a phone's Medical ID. No one is signed in, so the person is named by
// the account on this device: EmergencyProfiles lists the accounts whose
// emergency access this device can open (their names read from the
// emergency view with this device's wrap of the emergency key, not the
// data key), and GrantOnDevice runs the same grant as the API and the
// page (same criteria, responder proof, limits and hash-chained log, via
// "device", client ClientThisDevice; the trusted contacts are told).

// ClientThisDevice is the client a grant on the lock screen logs.
const ClientThisDevice = "this device"

var errDeviceProfile = E(KindNotFound, "no_emergency_access", "no one on this device has set up emergency access with that profile!")

// DeviceEmergencyProfile is one person whose emergency information this
// device can show on its lock screen.
type DeviceEmergencyProfile struct {
	UserID string // what GrantOnDevice takes
	Name   string // the profile's name as the emergency view holds it; "" when none
	// Conditions are the person's conditions: the responder confirms
	// which applies (GrantRequest.Condition) before a grant.
	Conditions []string
}

// DeviceGrant is what the lock screen shows a granted responder: the
// grant, the person's name, and how many trusted contacts are told by
// e-mail and by text message (queued in the outbox, delivered when this
// device can: see App.Delivers).
type DeviceGrant struct {
	*EmergencyGrant
	UserID        string // whose information (what GrantNotices takes)
	Name          string
	Emails, Texts int
}

// EmergencyProfiles lists the accounts of this device whose emergency
// access this device can open (set up, and the emergency key wrapped for
// this device: the person signed in here once since), by name.
func (a *EmergencyService) EmergencyProfiles(ctx context.Context) ([]DeviceEmergencyProfile, error) {
	accts, err := a.store.Accounts(ctx)
	if err != nil {
		return nil, Internal(err)
	}
	out := []DeviceEmergencyProfile{}
	for _, acct := range accts {
		accessID, err := a.emergencyID(ctx, acct.UserID)
		if err != nil {
			return nil, Internal(err)
		}
		if accessID == "" {
			continue
		}
		ek, err := a.emergencyKey(ctx, acct.UserID, accessID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, Internal(err)
		}
		v, err := a.emergencyViewOf(ctx, acct.UserID, ek)
		if err != nil {
			return nil, Internal(err)
		}
		conds, err := a.conditionsOf(ctx, &grantTarget{userID: acct.UserID, accessID: accessID})
		if err != nil {
			return nil, err
		}
		out = append(out, DeviceEmergencyProfile{UserID: acct.UserID, Name: v.Name, Conditions: conds})
	}
	slices.SortFunc(out, func(x, y DeviceEmergencyProfile) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.UserID, y.UserID))
	})
	return out, nil
}

// GrantOnDevice is a responder's request on this device's lock screen for
// the emergency information of userID (one of EmergencyProfiles): the
// grant of GrantEmergency, whatever req names otherwise.
func (a *EmergencyService) GrantOnDevice(ctx context.Context, userID string, req GrantRequest) (*DeviceGrant, error) {
	profiles, err := a.EmergencyProfiles(ctx)
	if err != nil {
		return nil, err
	}
	if userID == "" || !slices.ContainsFunc(profiles, func(p DeviceEmergencyProfile) bool { return p.UserID == userID }) {
		return nil, errDeviceProfile
	}
	req.onDevice, req.Email, req.PageToken, req.Client = userID, "", "", ClientThisDevice
	g, err := a.GrantEmergency(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &DeviceGrant{EmergencyGrant: g, UserID: userID}
	// The name and the contacts told, opened with the emergency key as the
	// grant did.
	t := &grantTarget{userID: userID}
	if t.accessID, err = a.emergencyID(ctx, userID); err != nil {
		return nil, Internal(err)
	}
	cfg, err := a.grantConfig(ctx, t)
	if err != nil {
		return nil, Internal(err)
	}
	view, err := a.emergencyViewOf(ctx, userID, cfg.ek)
	if err != nil {
		return nil, Internal(err)
	}
	out.Name = view.Name
	contactsJSON, err := crypto.Open(cfg.ek, cfg.contacts, emergencyAD(userID, t.accessID, "contacts"))
	if err != nil {
		return nil, Internal(err)
	}
	var contacts []string
	if err := json.Unmarshal(contactsJSON, &contacts); err != nil {
		return nil, Internal(err)
	}
	for _, c := range contacts {
		if ValidEmail(c) {
			out.Emails++
		} else {
			out.Texts++
		}
	}
	return out, nil
}

// GrantNotices is what became of a device grant's notices to the trusted
// contacts (waiting, delivered, failed), read from this device's outbox
// with no one signed in: the lock screen's responder sees whether they
// left. Only the entries of the grant's own messages, never a body.
func (a *EmergencyService) GrantNotices(ctx context.Context, g *DeviceGrant) ([]OutboxEntry, error) {
	ms, err := a.outboxStore().Messages(ctx, g.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	ids := map[string]bool{}
	for _, n := range g.Notices {
		ids[n.MessageID] = true
	}
	var keep []*Message
	for _, m := range ms {
		if ids[m.ID] {
			keep = append(keep, m)
		}
	}
	return outboxEntries(keep), nil
}
