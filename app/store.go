package app

import (
	"context"
	"time"
)

// Account is a user's device-local sign-in record: how to find the user
// without any key (keyed hashes under the installation key) and the data key
// wrapped under the password-derived key. Nothing in it is readable without
// the password or the installation key.
type Account struct {
	UserID     string
	ProfileID  string
	EmailMAC   []byte // KeyedHash(installation key, normalised e-mail)
	HandleMAC  []byte // nil when the user has no handle
	KDF        string // crypto.KDFParams.String(): parameters and salt
	WrappedDEK []byte // data key wrapped under the password-derived key
	// Key login (optional): the Ed25519 public key sealed under the
	// installation key, and the data key wrapped under the installation key.
	LoginKey      []byte
	KeyWrappedDEK []byte
	CreatedAt     time.Time
}

// Session is a device-local token record: the token's hash and the data key
// wrapped under a key derived from the token itself.
type Session struct {
	TokenHash  []byte
	UserID     string
	ProfileID  string // the account's, read with the session
	WrappedDEK []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Cell is one synced value: a field of an entity. Sealed values are
// encrypted by the store under the user's data key, bound to (user, entity,
// id, field); Clear values are stored and indexed as they are and must be
// non-secret (hashes of tokens, wrapped keys, timestamps).
type Cell struct {
	Entity, ID, Field string
	Value             []byte // plaintext of a sealed value (nil when Clear is used)
	Clear             []byte // a non-secret value, stored in clear and indexed
}

// Tx reads and writes one user's synced profile data inside a transaction.
// Every Put and Delete is written to the operation log in the same
// transaction.
type Tx interface {
	// Get returns a field's value (sealed values opened) and whether it exists.
	Get(entity, id, field string) (Cell, bool, error)
	// Entity returns every live field of an entity, keyed by field name.
	Entity(entity, id string) (map[string]Cell, error)
	// IDs lists the ids of an entity kind that have at least one live field.
	IDs(entity string) ([]string, error)
	// Kinds lists the entity kinds that have at least one live field: how
	// export walks every entity of the user, whatever features exist.
	Kinds() ([]string, error)
	// Put writes a field (Value sealed, or Clear as is).
	Put(c Cell) error
	// Delete tombstones every field of an entity.
	Delete(entity, id string) error
	// Enqueue adds a message to this device's outbox, in the same
	// transaction as the change it reports (device-local, never synced).
	Enqueue(m *Message) error
}

// Store is what the use cases need from storage. store.DB implements it.
type Store interface {
	// InstallationKey is this device's own random key (never synced).
	InstallationKey() []byte

	CreateAccount(ctx context.Context, a *Account, dek []byte, fill func(Tx) error) error
	AccountByEmail(ctx context.Context, emailMAC []byte) (*Account, error)
	// AccountByHandle tells none (ErrNotFound), one, or several
	// (ErrAmbiguous) accounts holding a handle: handles repeat.
	AccountByHandle(ctx context.Context, handleMAC []byte) (*Account, error)
	// AccountByProfile finds the account of a profile id (ErrNotFound).
	AccountByProfile(ctx context.Context, profileID string) (*Account, error)
	Account(ctx context.Context, userID string) (*Account, error)
	Accounts(ctx context.Context) ([]*Account, error)

	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, tokenHash []byte) (*Session, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error

	// PutChallenge stores a key-login challenge's hash; TakeChallenge removes
	// it and returns its user and expiry (ErrNotFound when unknown or used).
	PutChallenge(ctx context.Context, hash []byte, userID string, expires time.Time) error
	TakeChallenge(ctx context.Context, hash []byte) (userID string, expires time.Time, err error)

	// Rate limiting: failures are kept per key (a keyed hash, never the
	// e-mail itself) and counted over a window.
	AddFailure(ctx context.Context, key []byte, at time.Time) error
	Failures(ctx context.Context, key []byte, since time.Time) (n int, oldest time.Time, err error)
	ClearFailures(ctx context.Context, key []byte) error
	// ReserveAttempt records an attempt under key at `at` unless limit
	// are already recorded since `since`, in one statement (so parallel
	// attempts cannot all pass); when refused it returns the oldest.
	ReserveAttempt(ctx context.Context, key []byte, at, since time.Time, limit int) (ok bool, oldest time.Time, err error)

	// Update and View run fn over a user's profile data with the user's data
	// key; Update commits fn's writes (and their operations) atomically.
	// Writes are serialised over one connection: inside Update's fn, use
	// only the Tx, never another Store method that writes (it would wait
	// for the connection fn holds, for ever).
	Update(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error
	View(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error
	// FindClear finds the entities of a kind whose field holds a clear
	// value, across all users: the way an unauthenticated request (a
	// verification token, a link) finds what it names.
	FindClear(ctx context.Context, entity, field string, clear []byte) (userID, id string, err error)

	OutboxStore
	RequestStore   // third parties' requests (requests.go)
	SyncStore      // operation log replication, device-local sync records (app/sync.go)
	EmergencyStore // emergency keys, access logs, responders (app/emergency.go)
}
