package app

import (
	"context"
	"time"
)

// Device sync, as the domain sees it. Two interfaces cross the boundary
// between the domain and the sync service (sync/, package p2psync):
//
//   - [Syncer]: what the domain asks of the sync service (this device's
//     address, pairing offers, a join, live status);
//   - [Replica]: what the sync service asks of the domain, and all it
//     may reach: the operation log, the device list with the domain's
//     checks, peer records. [App.Replica] implements it over the store
//     (replica.go); the sync service never holds the store.
//
// [SyncStore] is the store's part, used by the domain alone.

// Op is one entry of the operation log: a change of one cell made on one
// device. Value is sealed under the user's data key (bound to the cell's
// place), so an Op can travel and be stored anywhere without revealing the
// profile.
type Op struct {
	Device  string // the device that made the change
	Counter int64  // that device's counter: (Device, Counter) names the op
	HLC     uint64 // hybrid logical clock time of the change
	UserID  string
	Entity  string
	ID      string
	Field   string
	Value   []byte // sealed value (nil for a clear value alone or a tombstone)
	Clear   []byte // non-secret value stored as is (beside Value in a share's token_hash)
	Deleted bool   // a tombstone
	// Compacted: only the operation's identity (Device, Counter, HLC)
	// remains; it was superseded (or was an acknowledged tombstone) where
	// it comes from, and carries no entity, value or tombstone. A receiver
	// stores the identity (so its vector counts it) and merges nothing.
	Compacted bool
}

// CompactResult says what a compaction of the operation log did.
type CompactResult struct {
	Superseded int // operations whose values were dropped
	Tombstones int // tombstones dropped (acknowledged by every listed device)
}

// Rejected is an operation that ApplyOps refused, and why.
type Rejected struct {
	Device  string
	Counter int64
	Entity  string
	Reason  string // never holds a value
}

// ApplyResult says what ApplyOps did.
type ApplyResult struct {
	Applied   int        // new operations stored (and merged into the cells)
	Duplicate int        // operations already held
	Rejected  []Rejected // operations refused: they changed nothing
	// Stripped: operations stored (and counted in Applied) whose cell
	// went without a part of them: a share's token hash another account
	// here holds (store.ApplyOps).
	Stripped []Rejected
}

// PeerRecord is what this device remembers of another device of a user:
// how to reach it and when they last exchanged operations.
type PeerRecord struct {
	UserID   string
	DeviceID string
	PeerID   string
	Addrs    []string
	LastSync time.Time // zero: never
}

// SyncStore is what replication needs from storage: the operation log,
// and the device-local records that let a device sync in the background.
// None of it replicates. Only the domain uses it (replica.go): the sync
// service reaches storage through [Replica], never through SyncStore.
type SyncStore interface {
	// DeviceID is this device's id: the operations written here carry it.
	DeviceID() string
	// OpsVector returns, for each device, the highest counter of the user's
	// operations held here.
	OpsVector(ctx context.Context, userID string) (map[string]int64, error)
	// OpsSince returns up to limit of the user's operations that a device
	// holding have (a vector as OpsVector gives) lacks, in counter order
	// per device.
	OpsSince(ctx context.Context, userID string, have map[string]int64, limit int) ([]Op, error)
	// ApplyOps stores remote operations idempotently and merges them into
	// the cells (last writer wins by HLC time, then device id). An
	// operation of another user, or whose sealed value does not open under
	// dek at its place, is rejected and changes nothing.
	ApplyOps(ctx context.Context, userID string, dek []byte, ops []Op) (ApplyResult, error)
	// OnCommit calls fn (outside any transaction) after every committed
	// change of a user's cells, local or applied; the returned func
	// removes it.
	OnCommit(fn func(userID string)) (remove func())

	// Compact drops the values of superseded operations of the user, and
	// the tombstones every device of listed (the device list's ids) has
	// reported holding (none when listed is nil), then checkpoints the WAL
	// (docs/sync.md "Compaction").
	Compact(ctx context.Context, userID string, listed []string) (CompactResult, error)
	// PutPeerVector records the vector another device reported holding.
	PutPeerVector(ctx context.Context, userID, deviceID string, vector map[string]int64) error

	// The device-list replay guard (device-local): the newest verified
	// list seen here, and the devices seen removed.
	SeenDeviceList(ctx context.Context, userID string) (signed []byte, version uint64, err error)
	// SawDeviceList records a verified list if it is newer than the one
	// seen, and every device it drops or names as removed.
	SawDeviceList(ctx context.Context, l *DeviceList, signed []byte) (uint64, error)
	RemovedDevices(ctx context.Context, userID string) ([]ListedDevice, error)

	// LocalSecret returns this device's secret of the given name (created
	// by gen on first use), kept sealed under the installation key.
	LocalSecret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)

	// Sync accounts: the users synced in the background, each with the data
	// key wrapped under the installation key.
	PutSyncAccount(ctx context.Context, userID string, wrappedDEK []byte) error
	SyncAccount(ctx context.Context, userID string) ([]byte, error)
	DeleteSyncAccount(ctx context.Context, userID string) error
	SyncAccounts(ctx context.Context) ([]string, error)

	// Peers: the user's other devices as this device remembers them.
	PutPeer(ctx context.Context, p PeerRecord) error
	SetLastSync(ctx context.Context, userID, deviceID string, at time.Time) error
	Peers(ctx context.Context, userID string) ([]PeerRecord, error)
	DeletePeer(ctx context.Context, userID, deviceID string) error

	// ForgetUser removes every trace of a user's synced data from this
	// device (cells, operations, sync records), without logging operations:
	// how a failed join cleans up what it fetched.
	ForgetUser(ctx context.Context, userID string) error
}

// Syncer is what the domain needs of the sync service (p2psync.Service).
type Syncer interface {
	// PeerID and Addrs say how other devices reach this one.
	PeerID() string
	Addrs() []string
	// Offer accepts one pairing with the offer's secret until it expires.
	Offer(o PairOffer)
	// Join pairs this device with the host of code, as the new device,
	// in one call: the pairing protocol, then the first full sync with
	// the host. verify turns the host's bundle into the data key
	// (checking the password and that the account is new here); Join then
	// proves the key to the host, which lists this device, and syncs. It
	// returns the bundle, the data key and the signed list: all the
	// domain needs to create the account. When the first sync cannot be
	// finished it returns ErrJoinIncomplete, and what arrived stays for
	// the domain to forget.
	Join(ctx context.Context, code *PairCode, deviceName string, verify func(*PairBundle) ([]byte, error)) (*Joined, error)
	// Status reports, per device id, the live state of the user's devices.
	Status(userID string) map[string]PeerStatus
}

type syncerBox struct{ s Syncer }

// SetSyncer connects the running sync service (nil: none).
func (a *core) SetSyncer(s Syncer) { a.syncer.Store(&syncerBox{s}) }

func (a *core) sync() Syncer {
	if b := a.syncer.Load(); b != nil {
		return b.s
	}
	return nil
}

// PairOffer is a pairing code's secret half, held by the host's sync
// service until the code is used or expires.
type PairOffer struct {
	ID      string
	UserID  string
	Secret  []byte
	Expires time.Time
}

// PairBundle is what the host sends, sealed under a key derived from the
// secret, once both sides proved they know it: the account record a new
// device needs. The data key in it is wrapped under the password, so the
// code alone opens nothing.
type PairBundle struct {
	UserID       string
	ProfileID    string
	KDF          string
	WrappedDEK   []byte
	HostDeviceID string
}

// Joined is the outcome of a join on the new device: the pairing and the
// first sync both done.
type Joined struct {
	Bundle       *PairBundle // the host's account record
	DEK          []byte      // the data key, as verify returned it
	HostDeviceID string
	HostPeerID   string
	List         []byte // the signed device list, this device included
}

// PeerStatus is what the sync service knows of another device now.
type PeerStatus struct {
	Connected bool
	LastSync  time.Time
	// OtherVersion: the device refused this version of the sync protocol
	// when last dialled, and no session with it has run since.
	OtherVersion bool
}

// Replica is this device's copy of the profiles it syncs, as the sync
// service (p2psync.Service) sees it: the one thing sync depends on, and
// its only way to the store. Every write sync causes goes through it, so
// the domain's rules hold for it as for a local change: a device list is
// verified and the replay guard consulted before it admits a peer;
// remote operations are applied with the capability views re-derived in
// the same transaction; peer records are the domain's to write. [App.Replica]
// returns the implementation (replica.go).
type Replica interface {
	// DeviceID is this device's id; Now the domain's clock.
	DeviceID() string
	Now() time.Time
	// Identity returns this device's libp2p private key (marshalled),
	// made by gen on first use and kept sealed under the installation
	// key, so the peer id survives restarts.
	Identity(ctx context.Context, gen func() ([]byte, error)) ([]byte, error)

	// SyncUsers lists the users this device syncs in the background;
	// SyncDEK opens one's data key (ErrNotFound when it is not synced
	// here); StopSync stops syncing one (this device was removed).
	SyncUsers(ctx context.Context) ([]string, error)
	SyncDEK(ctx context.Context, userID string) ([]byte, error)
	StopSync(ctx context.Context, userID string) error

	// DeviceList returns the user's device list in force and its signed
	// form (nil when there is none yet).
	DeviceList(ctx context.Context, userID string, dek []byte) (*DeviceList, []byte, error)
	// Admit decides whether peer may sync the user with this device
	// (self is this device's peer id): the newest valid list, this
	// device's or the signed one the peer presents, must name both. It
	// returns the version of the list that decided, or an error that says
	// why not (never a secret: it is logged).
	Admit(ctx context.Context, userID string, dek []byte, self string, peer ListedDevice, presented []byte) (uint64, error)

	// Vector returns, per device, the highest counter of the user's
	// operations held here; OpsSince up to limit of those a device
	// holding have lacks, in counter order per device.
	Vector(ctx context.Context, userID string) (map[string]int64, error)
	OpsSince(ctx context.Context, userID string, have map[string]int64, limit int) ([]Op, error)
	// Apply stores remote operations idempotently and merges them (last
	// writer wins); a forged or misplaced operation is rejected and
	// changes nothing.
	Apply(ctx context.Context, userID string, dek []byte, ops []Op) (ApplyResult, error)
	// AfterApply lets the domain react once remote operations touching
	// the given entity kinds were applied (the emergency key wrapped for
	// this device, the device list re-signed if two devices changed it
	// at once).
	AfterApply(ctx context.Context, userID string, dek []byte, kinds map[string]bool)
	// Compact drops superseded values of the user's operations, and the
	// tombstones every device of l has reported holding.
	Compact(ctx context.Context, l *DeviceList) (CompactResult, error)
	// OnCommit calls fn (outside any transaction) after every committed
	// change of a user's cells, local or applied; remove stops it.
	OnCommit(fn func(userID string)) (remove func())
	// OnDevices calls fn when a use case on this device changed which
	// devices sync a user: this device starts syncing the user (a pairing
	// code, a join) or stops, or a device was removed. (AddDevice, which
	// the sync service calls itself, and remote changes, which it applies
	// itself, do not call it.)
	OnDevices(fn func(userID string)) (remove func())

	// Peers are the user's other devices as this device remembers them.
	Peers(ctx context.Context, userID string) ([]PeerRecord, error)
	// Met records a session with another device of the user: how to
	// reach it, and the vector it reported in its hello.
	Met(ctx context.Context, p PeerRecord, vector map[string]int64) error
	// Heard records what a device reported since: its vector (nil: none)
	// and the time of the last exchange (zero: unchanged).
	Heard(ctx context.Context, userID, deviceID string, vector map[string]int64, synced time.Time) error

	// PairBundle is the account record the host sends a new device.
	PairBundle(ctx context.Context, userID string) (*PairBundle, error)
	// AddDevice lists a new device on the host and remembers how to reach
	// it, once proves accepts the user's data key (the joiner's
	// confirmation); otherwise it returns ErrPairingFailed. It returns
	// the re-signed list.
	AddDevice(ctx context.Context, userID string, d PeerRecord, name string, proves func(dek []byte) bool) ([]byte, error)
}
