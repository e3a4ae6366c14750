package app

import (
	"context"
	"time"
)

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
	Value   []byte // sealed value (nil for a clear value or a tombstone)
	Clear   []byte // non-secret value stored as is
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

// SyncStore is what sync needs from storage: the operation log, and the
// device-local records that let a device sync in the background. None of
// it replicates.
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
