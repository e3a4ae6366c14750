package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// Devices and pairing: a user's profile lives on each of their devices and
// syncs between them (the sync service does the networking; this file is
// the domain: pairing codes, the signed device list, the use cases; what
// sync may reach of the domain is in replica.go, the interfaces between
// them in sync.go).

// Entity kinds of the device list (synced like every cell).
const (
	// EntityDevice: one per paired device, id = device id; fields
	// peer_id (clear), name (sealed), added_at (clear, RFC 3339).
	EntityDevice = "device"
	// EntityDeviceList: one per profile, id = profile id; field signed
	// (clear): the device list signed by the profile's signing key.
	EntityDeviceList = "device_list"
)

// PairCodeTTL is how long a pairing code can be used.
const PairCodeTTL = 10 * time.Minute

// PairCodePrefix starts the text form of a pairing code.
const PairCodePrefix = "spp-pair:"

// deviceListContext separates device-list signatures from every other use
// of the profile's signing key.
const deviceListContext = "spp-device-list-v1\x00"

var (
	errSyncOff        = E(KindConflict, "sync_off", "sync is not running on this device!")
	errPairMissing    = E(KindInvalid, "missing_parameter", "code,password must exist!")
	errCodeMalformed  = E(KindInvalid, "invalid_code", "pairing code is malformed!")
	ErrCodeExpired    = E(KindGone, "code_expired", "pairing code has expired!")
	ErrPairingFailed  = E(KindForbidden, "pairing_failed", "pairing code is wrong!")
	ErrPeerUnreached  = E(KindUnprocessable, "peer_unreachable", "the pairing device could not be reached!")
	errWrongPassword  = E(KindUnauthorized, "invalid_credentials", "password is wrong!")
	errAlreadyPaired  = E(KindConflict, "already_paired", "this device already holds the profile!")
	errDeviceNotFound = E(KindNotFound, "device_not_found", "device does not exist!")
	errOwnDevice      = E(KindConflict, "own_device", "this device cannot remove itself!")
	ErrJoinIncomplete = E(KindUnprocessable, "pairing_incomplete", "pairing did not finish, try again!")
	errDeviceName     = E(KindInvalid, "invalid_name", "name must be at most 64 characters!")
	errDeviceRemoved  = E(KindConflict, "device_removed", "this device was removed from the profile!")
)

// PairCode is what a pairing QR code carries: how to reach the device
// that holds the profile, and a one-time secret that never crosses the
// network (both sides prove they know it).
type PairCode struct {
	V       int      `json:"v"`
	PeerID  string   `json:"p"` // the host's libp2p peer id
	Addrs   []string `json:"a"` // its multiaddrs
	Offer   string   `json:"o"` // names the offer on the host
	Secret  []byte   `json:"s"` // 256-bit one-time secret
	Expires int64    `json:"e"` // Unix seconds
}

// String is the text form: "spp-pair:" and base64url of the JSON.
func (c *PairCode) String() string {
	b, _ := json.Marshal(c)
	return PairCodePrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParsePairCode reads a pairing code's text form.
func ParsePairCode(s string) (*PairCode, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, PairCodePrefix)
	if !ok || len(rest) > 8192 {
		return nil, errCodeMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, errCodeMalformed
	}
	var c PairCode
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || c.PeerID == "" || c.Offer == "" ||
		len(c.Secret) != crypto.KeySize || c.Expires <= 0 || len(c.Addrs) > 64 {
		return nil, errCodeMalformed
	}
	return &c, nil
}

// Now is the app's clock (UTC).
func (a *App) Now() time.Time { return a.now() }

// DeviceID is this device's id.
func (a *App) DeviceID() string { return a.store.DeviceID() }

// Device is one of a user's paired devices.
type Device struct {
	ID        string
	PeerID    string
	Name      string
	AddedAt   time.Time
	LastSync  time.Time // zero: never (always zero for this device)
	Current   bool      // the device answering
	Connected bool
}

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

func (a *App) guard(ctx context.Context, userID string) (*listGuard, error) {
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
func (a *App) resign(tx Tx, userID string, g *listGuard) (*DeviceList, []byte, error) {
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
func (a *App) putDevice(tx Tx, deviceID, peerID, name string) error {
	if err := tx.Put(Cell{Entity: EntityDevice, ID: deviceID, Field: "peer_id", Clear: []byte(peerID)}); err != nil {
		return err
	}
	if err := tx.Put(Cell{Entity: EntityDevice, ID: deviceID, Field: "name", Value: []byte(name)}); err != nil {
		return err
	}
	return tx.Put(Cell{Entity: EntityDevice, ID: deviceID, Field: "added_at", Clear: []byte(a.now().Format(time.RFC3339))})
}

// DefaultDeviceName names a device that was given no name.
func DefaultDeviceName() string {
	if h, err := os.Hostname(); err == nil && h != "" && utf8.RuneCountInString(h) <= 64 {
		return h
	}
	return "device"
}

func checkDeviceName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return DefaultDeviceName(), nil
	}
	if utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return "", errDeviceName
	}
	return name, nil
}

// PairCode makes a one-time pairing code for the principal's profile,
// valid PairCodeTTL, and lists this device (named name) if it is not yet.
func (a *App) PairCode(ctx context.Context, p *Principal, name string) (string, time.Time, error) {
	s := a.sync()
	if s == nil {
		return "", time.Time{}, errSyncOff
	}
	name, err := checkDeviceName(name)
	if err != nil {
		return "", time.Time{}, err
	}
	self, peerID := a.store.DeviceID(), s.PeerID()
	g, err := a.guard(ctx, p.UserID)
	if err != nil {
		return "", time.Time{}, Internal(err)
	}
	for _, r := range g.removed {
		if r.DeviceID == self {
			return "", time.Time{}, errDeviceRemoved
		}
	}
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		if _, l, _, _, _, err := g.inForce(tx, p.UserID); err != nil {
			return err
		} else if l != nil && len(l.Devices) > 0 && !l.Has(self, peerID) {
			// Listed devices exist and this is not one of them: it was
			// removed, and does not get to bring devices back in.
			return errDeviceRemoved
		}
		c, ok, err := tx.Get(EntityDevice, self, "peer_id")
		if err != nil {
			return err
		}
		if !ok || string(c.Clear) != peerID {
			if err := a.putDevice(tx, self, peerID, name); err != nil {
				return err
			}
		}
		_, _, err = a.resign(tx, p.UserID, g)
		return err
	})
	if errors.Is(err, errDeviceRemoved) {
		return "", time.Time{}, errDeviceRemoved
	}
	if err != nil {
		return "", time.Time{}, Internal(err)
	}
	if err := a.keepSyncKey(ctx, p.UserID, p.DEK); err != nil {
		return "", time.Time{}, Internal(err)
	}
	secret, err := crypto.NewKey()
	if err != nil {
		return "", time.Time{}, Internal(err)
	}
	offer, err := crypto.NewToken()
	if err != nil {
		return "", time.Time{}, Internal(err)
	}
	expires := a.now().Add(PairCodeTTL).Truncate(time.Second)
	s.Offer(PairOffer{ID: offer, UserID: p.UserID, Secret: secret, Expires: expires})
	code := &PairCode{V: 1, PeerID: peerID, Addrs: s.Addrs(), Offer: offer, Secret: secret, Expires: expires.Unix()}
	return code.String(), expires, nil
}

// DeviceList returns the user's verified device list and its signed form
// (nil when there is none yet).
//
// The list in force is the newer of the stored one and the newest this
// device has seen (listGuard), never one naming a device seen removed;
// seeing a newer one records it.
func (a *App) DeviceList(ctx context.Context, userID string, dek []byte) (*DeviceList, []byte, error) {
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

// Join pairs this device with the device that showed code: it fetches
// the profile, checks the password, syncs, and signs the user in here.
func (a *App) Join(ctx context.Context, code, password, name string) (*Auth, error) {
	if code == "" || password == "" {
		return nil, errPairMissing
	}
	pc, err := ParsePairCode(code)
	if err != nil {
		return nil, err
	}
	if !a.now().Before(time.Unix(pc.Expires, 0)) {
		return nil, ErrCodeExpired
	}
	if name, err = checkDeviceName(name); err != nil {
		return nil, err
	}
	s := a.sync()
	if s == nil {
		return nil, errSyncOff
	}
	// One call: the pairing protocol, then the first full sync with the
	// host. verify is the domain's part of it.
	var fetched string // the user whose data may have arrived
	joined, err := s.Join(ctx, pc, name, func(b *PairBundle) ([]byte, error) {
		if !ValidUUID(b.UserID) || !ValidUUID(b.ProfileID) {
			// Ids from outside must be well-formed: never a name chosen
			// to sort before, or collide with, another account's.
			return nil, ErrPairingFailed
		}
		if _, err := a.store.Account(ctx, b.UserID); err == nil {
			return nil, errAlreadyPaired
		} else if !errors.Is(err, ErrNotFound) {
			return nil, Internal(err)
		}
		kdf, err := crypto.ParseKDFParams(b.KDF)
		if err != nil || !foreignKDF(kdf) {
			return nil, ErrPairingFailed
		}
		pwKey, err := deriveKey(ctx, []byte(password), kdf)
		if err != nil {
			return nil, ErrPairingFailed
		}
		k, err := crypto.Unwrap(pwKey, b.WrappedDEK, "dek/password/"+b.UserID)
		if err != nil {
			return nil, errWrongPassword
		}
		fetched = b.UserID
		return k, nil
	})
	forget := func() {
		if err := a.store.ForgetUser(context.WithoutCancel(ctx), fetched); err != nil {
			a.cfg.Log.Error("join: cleaning up", "err", err)
		}
	}
	if err != nil {
		if fetched != "" {
			// The password opened the record, then pairing or the first
			// sync broke off: what arrived goes.
			forget()
		}
		return nil, AsError(err)
	}
	fail := func(e *Error) (*Auth, error) {
		forget()
		return nil, e
	}
	bundle, dek := joined.Bundle, joined.DEK
	acct := &Account{UserID: bundle.UserID, ProfileID: bundle.ProfileID, KDF: bundle.KDF, WrappedDEK: bundle.WrappedDEK, CreatedAt: a.now()}
	var email, handle, loginKey string
	err = a.store.View(ctx, bundle.UserID, dek, func(tx Tx) error {
		for name, dst := range map[string]*string{"email": &email, "handle": &handle} {
			f, ok, err := fieldValue(tx, name)
			if err != nil {
				return err
			}
			if ok {
				*dst = f.Text()
			}
		}
		c, ok, err := tx.Get(EntityProfile, bundle.ProfileID, "public_private_key_pair")
		if ok {
			loginKey = string(c.Value)
		}
		return err
	})
	if err != nil {
		return fail(Internal(err))
	}
	if email == "" {
		return fail(ErrJoinIncomplete)
	}
	acct.EmailMAC = a.emailMAC(email)
	if handle != "" {
		acct.HandleMAC = a.handleMAC(handle)
	}
	if k, err := crypto.ParsePublicKey(loginKey); loginKey != "" && err == nil {
		// Key login works here too: the key and a data key copy under
		// this device's own installation key.
		if acct.LoginKey, err = crypto.Seal(a.store.InstallationKey(), k, []byte("login-key/"+acct.UserID)); err != nil {
			return fail(Internal(err))
		}
		if acct.KeyWrappedDEK, err = crypto.Wrap(a.store.InstallationKey(), dek, "dek/key-login/"+acct.UserID); err != nil {
			return fail(Internal(err))
		}
	}
	if err := a.store.CreateAccount(ctx, acct, dek, nil); errors.Is(err, ErrExists) {
		return fail(errEmailExists)
	} else if err != nil {
		return fail(Internal(err))
	}
	if err := a.keepSyncKey(ctx, acct.UserID, dek); err != nil {
		return nil, Internal(err)
	}
	a.afterEmergencyChange(ctx, acct.UserID, acct.ProfileID, dek)
	a.cfg.Log.Info("device joined a profile", "user_id", acct.UserID, "host_device", joined.HostDeviceID)
	return a.newSession(ctx, acct, dek)
}

// Devices lists the principal's paired devices, oldest first, with their
// last sync as this device knows it.
func (a *App) Devices(ctx context.Context, p *Principal) ([]Device, error) {
	var out []Device
	self := a.store.DeviceID()
	err := a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		ids, err := tx.IDs(EntityDevice)
		if err != nil {
			return err
		}
		for _, id := range ids {
			cells, err := tx.Entity(EntityDevice, id)
			if err != nil {
				return err
			}
			d := Device{ID: id, PeerID: string(cells["peer_id"].Clear), Name: string(cells["name"].Value), Current: id == self}
			d.AddedAt, _ = time.Parse(time.RFC3339, string(cells["added_at"].Clear))
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	peers, err := a.store.Peers(ctx, p.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	last := map[string]time.Time{}
	for _, pr := range peers {
		last[pr.DeviceID] = pr.LastSync
	}
	var live map[string]PeerStatus
	if s := a.sync(); s != nil {
		live = s.Status(p.UserID)
	}
	for i := range out {
		d := &out[i]
		d.LastSync = last[d.ID]
		if st, ok := live[d.ID]; ok {
			d.Connected = st.Connected
			if st.LastSync.After(d.LastSync) {
				d.LastSync = st.LastSync
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].AddedAt.Equal(out[j].AddedAt) {
			return out[i].AddedAt.Before(out[j].AddedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RemoveDevice unpairs a device: its cells are tombstoned and the list is
// re-signed without it; every device refuses it from then on.
func (a *App) RemoveDevice(ctx context.Context, p *Principal, deviceID string) error {
	if deviceID == "" {
		return E(KindInvalid, "missing_parameter", "device_id must exist!")
	}
	if deviceID == a.store.DeviceID() {
		return errOwnDevice
	}
	g, err := a.guard(ctx, p.UserID)
	if err != nil {
		return Internal(err)
	}
	var l *DeviceList
	var signed []byte
	err = a.update(ctx, p.UserID, p.DEK, func(tx Tx) error {
		cells, err := tx.Entity(EntityDevice, deviceID)
		if err != nil {
			return err
		}
		if len(cells) == 0 {
			return errDeviceNotFound
		}
		// Named among the removed in the new list, for good.
		g.removed = append(g.removed, ListedDevice{DeviceID: deviceID, PeerID: string(cells["peer_id"].Clear)})
		if err := tx.Delete(EntityDevice, deviceID); err != nil {
			return err
		}
		l, signed, err = a.resign(tx, p.UserID, g)
		return err
	})
	if err == nil {
		_, err = a.store.SawDeviceList(ctx, l, signed)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return Internal(err)
	}
	if err := a.store.DeletePeer(ctx, p.UserID, deviceID); err != nil {
		return Internal(err)
	}
	a.syncHooks.fire(p.UserID) // the sync service cuts it off now
	a.cfg.Log.Info("device removed", "user_id", p.UserID, "device", deviceID)
	return nil
}

func (a *App) afterEmergencyChange(ctx context.Context, userID, profileID string, dek []byte) {
	if err := a.UnlockEmergency(ctx, &Principal{UserID: userID, ProfileID: profileID, DEK: dek}); err != nil {
		a.cfg.Log.Warn("emergency access not yet usable on this device", "user_id", userID, "err", AsError(err).Err)
	}
}
