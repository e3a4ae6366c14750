package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// The domain's side of device sync: [Replica] over the store. The sync
// service holds nothing else of this package: every read and write it
// causes passes here, so the device list is verified (with the replay
// guard, devices.go) before a peer is admitted, remote operations are
// applied by the store with the capability views re-derived in the same
// transaction, and peer records are written by the domain alone.

// Replica returns this device's [Replica]: what the sync service is
// started with.
func (a *DeviceService) Replica() Replica { return replica{a.app} }

type replica struct{ a *App }

var _ Replica = replica{}

func (r replica) DeviceID() string { return r.a.store.DeviceID() }
func (r replica) Now() time.Time   { return r.a.now() }

func (r replica) Identity(ctx context.Context, gen func() ([]byte, error)) ([]byte, error) {
	return r.a.store.LocalSecret(ctx, "p2p-identity", gen)
}

// Sync accounts: the users synced in the background here, each with the
// data key wrapped under the installation key (docs/security.md weighs
// this).

// keepSyncKey lets the sync service open the user's data on this device
// in the background.
func (a *DeviceService) keepSyncKey(ctx context.Context, userID string, dek []byte) error {
	w, err := crypto.Wrap(a.store.InstallationKey(), dek, purposeSync+userID)
	if err != nil {
		return err
	}
	if err := a.store.PutSyncAccount(ctx, userID, w); err != nil {
		return err
	}
	a.syncHooks.Fire(userID)
	return nil
}

func (r replica) SyncUsers(ctx context.Context) ([]string, error) { return r.a.store.SyncAccounts(ctx) }

func (r replica) SyncDEK(ctx context.Context, userID string) ([]byte, error) {
	w, err := r.a.store.SyncAccount(ctx, userID)
	if err != nil {
		return nil, err
	}
	return crypto.Unwrap(r.a.store.InstallationKey(), w, purposeSync+userID)
}

func (r replica) StopSync(ctx context.Context, userID string) error {
	if err := r.a.store.DeleteSyncAccount(ctx, userID); err != nil {
		return err
	}
	r.a.syncHooks.Fire(userID)
	return nil
}

// The device list.

func (r replica) DeviceList(ctx context.Context, userID string, dek []byte) (*DeviceList, []byte, error) {
	return r.a.DeviceList(ctx, userID, dek)
}

// Reasons a peer is not admitted (logged by the sync service).
var (
	errListUnreadable = errors.New("device list unreadable")
	errListForged     = errors.New("device list not signed by the profile")
	errNoList         = errors.New("no device list")
	errPeerNotListed  = errors.New("peer not in the device list")
	errSelfNotListed  = errors.New("this device is not in the device list")
)

func (r replica) Admit(ctx context.Context, userID string, dek []byte, self string, peer ListedDevice, presented []byte) (uint64, error) {
	mine, _, err := r.a.DeviceList(ctx, userID, dek)
	if err != nil {
		return 0, errListUnreadable
	}
	chosen := mine
	if len(presented) > 0 {
		theirs, err := r.a.verifyDeviceList(ctx, userID, dek, presented)
		switch {
		case errors.Is(err, errStaleDeviceList):
			// Older than the list seen here, or naming a removed device:
			// a lagging device's, or a replay. It decides nothing.
		case err != nil:
			return 0, errListForged
		case chosen == nil || theirs.Version > chosen.Version:
			chosen = theirs
		}
	}
	switch {
	case chosen == nil:
		return 0, errNoList
	case !chosen.Has(peer.DeviceID, peer.PeerID):
		return 0, errPeerNotListed
	case !chosen.Has(r.a.store.DeviceID(), self):
		return 0, errSelfNotListed
	}
	return chosen.Version, nil
}

// verifyDeviceList checks a list a peer presents: signed by this user's
// profile key, for this user, not older than the newest list seen here
// and naming no device seen removed (a replayed list is refused). A newer
// list is recorded as seen.
func (a *DeviceService) verifyDeviceList(ctx context.Context, userID string, dek, signed []byte) (*DeviceList, error) {
	g, err := a.guard(ctx, userID)
	if err != nil {
		return nil, err
	}
	var l *DeviceList
	err = a.store.View(ctx, userID, dek, func(tx Tx) error {
		profileID, priv, err := profileKey(tx)
		if err != nil {
			return err
		}
		l, err = OpenDeviceList(signed, priv.Public().(ed25519.PublicKey))
		if err != nil {
			return err
		}
		if l.UserID != userID || l.ProfileID != profileID {
			return errors.New("device list: another profile's")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if l.Version < g.version || l.namesAny(g.removed) {
		return nil, errStaleDeviceList
	}
	if l.Version > g.version {
		if _, err := a.store.SawDeviceList(ctx, l, signed); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// errStaleDeviceList: a device list older than one this device has seen,
// or naming a device seen removed (a replay).
var errStaleDeviceList = errors.New("device list: older than one seen here, or naming a removed device")

// reconcileDevices runs after remote operations were applied: when the
// signed list no longer names exactly the devices of the device cells (two
// devices changed it at once), it signs a fresh one. It returns the list in
// force.
//
// It also undoes a removed device's attempt to come back: a stored list
// older than the one in force is replaced by it, and device cells of a
// removed device are tombstoned again.
func (a *DeviceService) reconcileDevices(ctx context.Context, userID string, dek []byte) (*DeviceList, error) {
	g, err := a.guard(ctx, userID)
	if err != nil {
		return nil, err
	}
	var l *DeviceList
	var need bool
	err = a.store.View(ctx, userID, dek, func(tx Tx) error {
		cell, cur, _, profileID, _, err := g.inForce(tx, userID)
		if err != nil {
			return err
		}
		devices, err := listedDevices(tx)
		if err != nil {
			return err
		}
		l = cur
		need = cur == nil || cell == nil || cell.Version != cur.Version || !cur.sameDevices(&DeviceList{UserID: userID, ProfileID: profileID, Devices: devices, Removed: g.removed})
		return nil
	})
	if err != nil || !need {
		return l, err
	}
	var signed []byte
	err = a.update(ctx, userID, dek, func(tx Tx) error {
		var err error
		l, signed, err = a.resign(tx, userID, g)
		return err
	})
	if err == nil && l != nil {
		_, err = a.store.SawDeviceList(ctx, l, signed)
	}
	return l, err
}

// The operation log.

func (r replica) Vector(ctx context.Context, userID string) (map[string]int64, error) {
	return r.a.store.OpsVector(ctx, userID)
}

func (r replica) OpsSince(ctx context.Context, userID string, have map[string]int64, limit int) ([]Op, error) {
	return r.a.store.OpsSince(ctx, userID, have, limit)
}

// Apply: the store checks each operation (user, place, sizes, clock, own
// device) and runs the domain's deriver in the applying transaction.
func (r replica) Apply(ctx context.Context, userID string, dek []byte, ops []Op) (ApplyResult, error) {
	return r.a.store.ApplyOps(ctx, userID, dek, ops)
}

// AfterApply: the emergency key is wrapped for this device as soon as a
// configuration arrives (so a grant works here before the user signs in),
// and the device list is re-signed if two devices changed it at once.
func (r replica) AfterApply(ctx context.Context, userID string, dek []byte, kinds map[string]bool) {
	a := r.a
	if kinds[EntityEmergency] {
		acct, err := a.store.Account(ctx, userID)
		if err == nil {
			a.afterEmergencyChange(ctx, userID, acct.ProfileID, dek)
		}
	}
	if kinds[EntityDevice] || kinds[EntityDeviceList] {
		if _, err := a.reconcileDevices(ctx, userID, dek); err != nil && ctx.Err() == nil {
			a.cfg.Log.Warn("sync: reconciling the device list", "user_id", userID, "err", err)
		}
	}
}

func (r replica) Compact(ctx context.Context, l *DeviceList) (CompactResult, error) {
	ids := make([]string, 0, len(l.Devices))
	for _, d := range l.Devices {
		ids = append(ids, d.DeviceID)
	}
	return r.a.store.Compact(ctx, l.UserID, ids)
}

func (r replica) OnCommit(fn func(userID string)) (remove func()) { return r.a.store.OnCommit(fn) }

func (r replica) OnDevices(fn func(userID string)) (remove func()) { return r.a.syncHooks.Add(fn) }

// Peers.

func (r replica) Peers(ctx context.Context, userID string) ([]PeerRecord, error) {
	return r.a.store.Peers(ctx, userID)
}

func (r replica) Met(ctx context.Context, p PeerRecord, vector map[string]int64) error {
	// What the peer holds (its hello): the acknowledgement compaction
	// waits for before it drops a tombstone.
	err := r.a.store.PutPeerVector(ctx, p.UserID, p.DeviceID, vector)
	return errors.Join(err, r.a.store.PutPeer(ctx, p))
}

func (r replica) Heard(ctx context.Context, userID, deviceID string, vector map[string]int64, synced time.Time) error {
	if vector != nil {
		if err := r.a.store.PutPeerVector(ctx, userID, deviceID, vector); err != nil {
			return err
		}
	}
	if synced.IsZero() {
		return nil
	}
	return r.a.store.SetLastSync(ctx, userID, deviceID, synced)
}

// Pairing, the host's side.

func (r replica) PairBundle(ctx context.Context, userID string) (*PairBundle, error) {
	acct, err := r.a.store.Account(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &PairBundle{UserID: acct.UserID, ProfileID: acct.ProfileID, KDF: acct.KDF, WrappedDEK: acct.WrappedDEK, HostDeviceID: r.a.store.DeviceID()}, nil
}

func (r replica) AddDevice(ctx context.Context, userID string, d PeerRecord, name string, proves func(dek []byte) bool) ([]byte, error) {
	a := r.a
	dek, err := r.SyncDEK(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !proves(dek) {
		return nil, ErrPairingFailed
	}
	if name, err = checkDeviceName(name); err != nil {
		name = DefaultDeviceName()
	}
	g, err := a.guard(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, rm := range g.removed {
		if rm.DeviceID == d.DeviceID {
			// A removed device is never listed again: it must start
			// afresh (a new data directory, so a new device id).
			return nil, errDeviceRemoved
		}
	}
	var signed []byte
	var l *DeviceList
	err = a.update(ctx, userID, dek, func(tx Tx) error {
		if err := a.putDevice(tx, d.DeviceID, d.PeerID, name); err != nil {
			return err
		}
		l, signed, err = a.resign(tx, userID, g)
		return err
	})
	if err == nil {
		_, err = a.store.SawDeviceList(ctx, l, signed)
	}
	if err != nil {
		return nil, err
	}
	d.UserID = userID
	if err := a.store.PutPeer(ctx, d); err != nil {
		a.cfg.Log.Error("pairing: remembering the device", "err", err)
	}
	return signed, nil
}
