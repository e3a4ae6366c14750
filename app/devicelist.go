package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// The signed device list: which devices of a profile may sync it. Each
// paired device is a synced entity (EntityDevice); the list, signed by the
// profile's key, is one more (EntityDeviceList). Whoever changes the device
// cells re-signs the list in the same transaction (resign); a device-local
// memory of the newest list seen and the devices seen removed (listGuard)
// keeps a removed device from replaying its way back (docs/sync.md "The
// device list").

// deviceListContext separates device-list signatures from every other use
// of the profile's signing key.
const deviceListContext = "spp-device-list-v1\x00"

// ListedDevice is one entry of a device list.
type ListedDevice struct {
	DeviceID string `json:"device_id"`
	PeerID   string `json:"peer_id"`
}

// DeviceList is the set of a profile's paired devices, signed by the
// profile's key: a device accepts a sync stream only from a peer it lists.
type DeviceList struct {
	UserID    string         `json:"user_id"`
	ProfileID string         `json:"profile_id"`
	Version   uint64         `json:"version"` // grows with every change
	Devices   []ListedDevice `json:"devices"` // by device id
	// Removed are the devices ever removed from the profile (by device
	// id): a device that sees them here refuses them for good, and no
	// list naming one of them is in force for it.
	Removed []ListedDevice `json:"removed,omitempty"`
}

// namesAny reports whether the list holds one of ds.
func (l *DeviceList) namesAny(ds []ListedDevice) bool {
	for _, d := range ds {
		if l.Has(d.DeviceID, d.PeerID) {
			return true
		}
	}
	return false
}

// hasRemoved reports whether the list names d among its removed.
func (l *DeviceList) hasRemoved(d ListedDevice) bool {
	for _, r := range l.Removed {
		if r == d {
			return true
		}
	}
	return false
}

// Has reports whether the list holds the device with that peer.
func (l *DeviceList) Has(deviceID, peerID string) bool {
	for _, d := range l.Devices {
		if d.DeviceID == deviceID && d.PeerID == peerID {
			return true
		}
	}
	return false
}

// sameDevices reports whether two lists name the same devices.
func (l *DeviceList) sameDevices(o *DeviceList) bool {
	if l.UserID != o.UserID || l.ProfileID != o.ProfileID || len(l.Devices) != len(o.Devices) {
		return false
	}
	for i := range l.Devices {
		if l.Devices[i] != o.Devices[i] {
			return false
		}
	}
	for _, r := range o.Removed {
		if !l.hasRemoved(r) {
			return false
		}
	}
	return true
}

type signedList struct {
	List []byte `json:"list"`
	Sig  []byte `json:"sig"`
}

// SignDeviceList signs a list with the profile's key.
func SignDeviceList(l *DeviceList, priv ed25519.PrivateKey) ([]byte, error) {
	body, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(priv, append([]byte(deviceListContext), body...))
	return json.Marshal(signedList{List: body, Sig: sig})
}

// OpenDeviceList verifies a signed list against the profile's public key.
func OpenDeviceList(signed []byte, pub ed25519.PublicKey) (*DeviceList, error) {
	var s signedList
	if len(signed) > 1<<20 || json.Unmarshal(signed, &s) != nil {
		return nil, errors.New("device list: malformed")
	}
	if !crypto.Verify(pub, append([]byte(deviceListContext), s.List...), s.Sig) {
		return nil, errors.New("device list: bad signature")
	}
	var l DeviceList
	if err := json.Unmarshal(s.List, &l); err != nil {
		return nil, errors.New("device list: malformed")
	}
	return &l, nil
}

// profileKey finds the user's profile id and signing key.
func profileKey(tx Tx) (string, ed25519.PrivateKey, error) {
	ids, err := tx.IDs(EntityProfile)
	if err != nil {
		return "", nil, err
	}
	for _, id := range ids {
		c, ok, err := tx.Get(EntityProfile, id, "signing_key")
		if err != nil {
			return "", nil, err
		}
		if ok && len(c.Value) == ed25519.SeedSize {
			return id, ed25519.NewKeyFromSeed(c.Value), nil
		}
	}
	return "", nil, errNoProfile
}

// errNoProfile: the user's profile has not arrived on this device yet.
var errNoProfile = errors.New("profile has no signing key")

// listedDevices reads the device cells, by device id.
func listedDevices(tx Tx) ([]ListedDevice, error) {
	ids, err := tx.IDs(EntityDevice)
	if err != nil {
		return nil, err
	}
	var out []ListedDevice
	for _, id := range ids {
		c, ok, err := tx.Get(EntityDevice, id, "peer_id")
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ListedDevice{DeviceID: id, PeerID: string(c.Clear)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DeviceID < out[j].DeviceID })
	return out, nil
}

// storedList reads and verifies the stored signed list (nil when absent or
// not verifiable), with the profile id and key.
func storedList(tx Tx, userID string) (*DeviceList, []byte, string, ed25519.PrivateKey, error) {
	profileID, priv, err := profileKey(tx)
	if err != nil {
		return nil, nil, "", nil, err
	}
	c, ok, err := tx.Get(EntityDeviceList, profileID, "signed")
	if err != nil || !ok {
		return nil, nil, profileID, priv, err
	}
	l, err := OpenDeviceList(c.Clear, priv.Public().(ed25519.PublicKey))
	if err != nil || l.UserID != userID || l.ProfileID != profileID {
		return nil, nil, profileID, priv, nil
	}
	return l, c.Clear, profileID, priv, nil
}

// listGuard is this device's own memory of a user's device list
// (device-local, so the synced cells, which every member device can
// write, cannot undo it): the newest verified list seen here, and the
// devices seen removed. A list older than the one seen, or naming a
// removed device, is never in force here: a removed device cannot be
// re-admitted by replaying a list it held, or by writing its device cells
// back through a device that had not yet heard of its removal.
type listGuard struct {
	seen    []byte
	version uint64 // of seen
	removed []ListedDevice
}

func (a *DeviceService) guard(ctx context.Context, userID string) (*listGuard, error) {
	seen, version, err := a.store.SeenDeviceList(ctx, userID)
	if err != nil {
		return nil, err
	}
	removed, err := a.store.RemovedDevices(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &listGuard{seen: seen, version: version, removed: removed}, nil
}

// inForce is the list in force: the newer of the stored cell's and the
// one seen here, neither naming a removed device.
func (g *listGuard) inForce(tx Tx, userID string) (cell *DeviceList, l *DeviceList, signed []byte, profileID string, priv ed25519.PrivateKey, err error) {
	cell, signed, profileID, priv, err = storedList(tx, userID)
	if err != nil {
		return nil, nil, nil, "", nil, err
	}
	l = cell
	if l != nil && l.namesAny(g.removed) {
		l, signed = nil, nil
	}
	if g.seen != nil {
		seen, err := OpenDeviceList(g.seen, priv.Public().(ed25519.PublicKey))
		if err == nil && seen.UserID == userID && seen.ProfileID == profileID && !seen.namesAny(g.removed) && (l == nil || seen.Version > l.Version) {
			l, signed = seen, g.seen
		}
	}
	return cell, l, signed, profileID, priv, nil
}

// resign writes a fresh signed list from the device cells when the list in
// force does not name exactly those devices (removed devices left out, and
// named among the removed); it returns the list in force.
func (a *DeviceService) resign(tx Tx, userID string, g *listGuard) (*DeviceList, []byte, error) {
	cell, cur, signed, profileID, priv, err := g.inForce(tx, userID)
	if err != nil {
		return nil, nil, err
	}
	all, err := listedDevices(tx)
	if err != nil {
		return nil, nil, err
	}
	want := &DeviceList{UserID: userID, ProfileID: profileID}
	removed := map[ListedDevice]bool{}
	for _, r := range g.removed {
		removed[r] = true
	}
	if cur != nil {
		for _, r := range cur.Removed {
			removed[r] = true
		}
	}
	for _, d := range all {
		if removed[d] {
			// Device cells of a removed device written back: tombstone
			// them again (this write is newer).
			if err := tx.Delete(EntityDevice, d.DeviceID); err != nil {
				return nil, nil, err
			}
			continue
		}
		want.Devices = append(want.Devices, d)
	}
	if cur != nil {
		// A device of the list in force whose cells are gone was removed.
		for _, d := range cur.Devices {
			if !want.Has(d.DeviceID, d.PeerID) {
				removed[d] = true
			}
		}
	}
	for r := range removed {
		want.Removed = append(want.Removed, r)
	}
	sort.Slice(want.Removed, func(i, j int) bool {
		if want.Removed[i].DeviceID != want.Removed[j].DeviceID {
			return want.Removed[i].DeviceID < want.Removed[j].DeviceID
		}
		return want.Removed[i].PeerID < want.Removed[j].PeerID
	})
	if cur != nil && cur.sameDevices(want) {
		if cell == nil || cell.Version != cur.Version {
			// The cell holds an older list (or none): put back the one in
			// force.
			if err := tx.Put(Cell{Entity: EntityDeviceList, ID: profileID, Field: "signed", Clear: signed}); err != nil {
				return nil, nil, err
			}
		}
		return cur, signed, nil
	}
	want.Version = uint64(a.now().UnixMilli())
	for _, l := range []*DeviceList{cur, cell} {
		if l != nil && l.Version >= want.Version {
			want.Version = l.Version + 1
		}
	}
	if signed, err = SignDeviceList(want, priv); err != nil {
		return nil, nil, err
	}
	if err := tx.Put(Cell{Entity: EntityDeviceList, ID: profileID, Field: "signed", Clear: signed}); err != nil {
		return nil, nil, err
	}
	return want, signed, nil
}

// putDevice writes a device's cells.
func (a *DeviceService) putDevice(tx Tx, deviceID, peerID, name string) error {
	if err := tx.Put(Cell{Entity: EntityDevice, ID: deviceID, Field: "peer_id", Clear: []byte(peerID)}); err != nil {
		return err
	}
	if err := tx.Put(Cell{Entity: EntityDevice, ID: deviceID, Field: "name", Value: []byte(name)}); err != nil {
		return err
	}
	return tx.Put(Cell{Entity: EntityDevice, ID: deviceID, Field: "added_at", Clear: []byte(a.now().Format(time.RFC3339))})
}

// DeviceList returns the user's verified device list and its signed form
// (nil when there is none yet).
//
// The list in force is the newer of the stored one and the newest this
// device has seen (listGuard), never one naming a device seen removed;
// seeing a newer one records it.
func (a *DeviceService) DeviceList(ctx context.Context, userID string, dek []byte) (*DeviceList, []byte, error) {
	g, err := a.guard(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	var l *DeviceList
	var signed []byte
	err = a.store.View(ctx, userID, dek, func(tx Tx) error {
		var err error
		_, l, signed, _, _, err = g.inForce(tx, userID)
		if errors.Is(err, errNoProfile) {
			return nil
		}
		return err
	})
	if err != nil || l == nil || l.Version <= g.version {
		return l, signed, err
	}
	if _, err := a.store.SawDeviceList(ctx, l, signed); err != nil {
		return nil, nil, err
	}
	return l, signed, nil
}
