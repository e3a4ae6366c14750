package app

import (
	"context"
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
// syncs between them. The sync service does the networking; this file is
// the domain's use cases (pairing codes, join, the device screen, removal).
// The signed device list is in devicelist.go, what sync may reach of the
// domain in replica.go, the interfaces between them in sync.go.

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
	// ErrJoinOtherVersion: the host refused this version of the sync
	// protocol, so the first sync cannot run (docs/sync.md, versions 3 and 4).
	ErrJoinOtherVersion = E(KindUnprocessable, "pairing_other_version", "the other device runs another version of the app: update both, then pair again!")
	errDeviceName       = E(KindInvalid, "invalid_name", "name must be at most 64 characters!")
	errDeviceRemoved    = E(KindConflict, "device_removed", "this device was removed from the profile!")
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
func (a *DeviceService) Now() time.Time { return a.now() }

// DeviceID is this device's id.
func (a *DeviceService) DeviceID() string { return a.store.DeviceID() }

// Device is one of a user's paired devices.
type Device struct {
	ID        string
	PeerID    string
	Name      string
	AddedAt   time.Time
	LastSync  time.Time // zero: never (always zero for this device)
	Current   bool      // the device answering
	Connected bool
	// OtherVersion: it runs another version of the sync protocol, so the
	// two do not sync until both run the same (PeerStatus).
	OtherVersion bool
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
func (a *DeviceService) PairCode(ctx context.Context, p *Principal, name string) (string, time.Time, error) {
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

// Join pairs this device with the device that showed code: it fetches
// the profile, checks the password, syncs, and signs the user in here.
func (a *DeviceService) Join(ctx context.Context, code, password, name string) (*Auth, error) {
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
		k, err := crypto.Unwrap(pwKey, b.WrappedDEK, purposePassword+b.UserID)
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
		if err := a.accountKeys(acct, dek, nil, k); err != nil {
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
func (a *DeviceService) Devices(ctx context.Context, p *Principal) ([]Device, error) {
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
			d.Connected, d.OtherVersion = st.Connected, st.OtherVersion
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
func (a *DeviceService) RemoveDevice(ctx context.Context, p *Principal, deviceID string) error {
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
		return AsError(err)
	}
	if err := a.store.DeletePeer(ctx, p.UserID, deviceID); err != nil {
		return Internal(err)
	}
	a.syncHooks.Fire(p.UserID) // the sync service cuts it off now
	a.cfg.Log.Info("device removed", "user_id", p.UserID, "device", deviceID)
	return nil
}

func (a *DeviceService) afterEmergencyChange(ctx context.Context, userID, profileID string, dek []byte) {
	if err := a.app.UnlockEmergency(ctx, &Principal{UserID: userID, ProfileID: profileID, DEK: dek}); err != nil {
		a.cfg.Log.Warn("emergency access not yet usable on this device", "user_id", userID, "err", AsError(err).Err)
	}
}
