package app

import (
	"context"
	"errors"
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
	Value             []byte // plaintext of a sealed value (nil when only Clear is used)
	Clear             []byte // a non-secret value, stored in clear and indexed (a cell may have both: a share's token_hash)
	// Parsed is what the writer made Value of (a record's struct, as a
	// value: what json.Unmarshal of Value gives), kept with the cell by
	// the transaction that wrote it, so that a reader there (the
	// deriver) need not parse Value again; nil for a cell read from the
	// database. It is never stored.
	Parsed any
}

// Tx reads and writes one user's synced profile data inside a transaction.
// Every Put and Delete is written to the operation log in the same
// transaction.
type Tx interface {
	// UserID is the user whose data the transaction reads and writes.
	UserID() string
	// DEK is the data key the transaction was opened with (nil: none):
	// what names entities by keyed hash (fieldID).
	DEK() []byte
	// Memo returns f's result for key, computed once per transaction (and
	// for the writes of the same user and data key committed with it):
	// for what depends on the data key alone, never on cells, which the
	// transaction's writes change (txNameID).
	Memo(key string, f func() string) string
	// Get returns a field's value (sealed values opened) and whether it exists.
	Get(entity, id, field string) (Cell, bool, error)
	// Entity returns every live field of an entity, keyed by field name.
	// The map is the transaction's, shared with the next callers: read
	// it, never change it (a write gives the next callers a new one).
	Entity(entity, id string) (map[string]Cell, error)
	// IDs lists the ids of an entity kind that have at least one live field.
	IDs(entity string) ([]string, error)
	// Entities reads every live entity of a kind (its cells by field), by
	// id, at once: for kinds whose entities are small (not credentials,
	// which hold images). Each entity's map is the transaction's, as
	// Entity's: read it, never change it.
	Entities(entity string) (map[string]map[string]Cell, error)
	// Kinds lists the entity kinds that have at least one live field: how
	// export walks every entity of the user, whatever features exist.
	Kinds() ([]string, error)
	// Fresh tells the transaction that an entity has no cell yet, so that
	// it knows the entity whole from what is written to it, without
	// reading it: for an id the caller has just made at random (NewID:
	// 74 random bits, which no one can have used before).
	Fresh(entity, id string)
	// Put writes a field (Value sealed, or Clear as is).
	Put(c Cell) error
	// Delete tombstones every field of an entity.
	Delete(entity, id string) error
	// Enqueue adds a message to this device's outbox, in the same
	// transaction as the change it reports (device-local, never synced).
	Enqueue(m *Message) error

	// PutCapability writes (or replaces) one of the user's capability
	// records (device-local); ErrTaken unless its token hash is what it
	// names' live token_hash cell (written before, in the same
	// transaction). A record with no token hash claims none.
	PutCapability(c *Capability) error
	// DropCapability deletes the user's capability records of a kind for
	// id ("" : all of the kind): what it named is gone.
	DropCapability(kind, id string) error
	// Capabilities lists the user's capability records of a kind; with
	// deps, only those whose Dep is one of them.
	Capabilities(kind string, deps ...string) ([]*Capability, error)
	// CapabilitiesOwnedBy lists the user's capability records of a kind
	// whose Owner is owner.
	CapabilitiesOwnedBy(kind, owner string) ([]*Capability, error)
	// Pending lists the cells this transaction changed, and the writes
	// committed with it before it, whose views are not derived yet (the
	// store derives them all once, before the commit): what the records
	// above do not show yet.
	Pending() []CellRef
	// ViewsVersion is the version of the views this device derived for
	// the user (0: never); SetViewsVersion records it.
	ViewsVersion() (int, error)
	SetViewsVersion(v int) error
	// PutSigningKey keeps the user's signing key, wrapped under the
	// installation key, device-local.
	PutSigningKey(wrapped []byte) error
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
	// ReleaseAttempt gives back one attempt ReserveAttempt recorded under
	// key at `at` (a success that must not count, or an attempt that did
	// not run).
	ReleaseAttempt(ctx context.Context, key []byte, at time.Time) error

	// Update and View run fn over a user's profile data with the user's data
	// key; Update commits fn's writes (and their operations) atomically.
	// Writes are serialised over one connection: inside Update's fn, use
	// only the Tx, never another Store method that writes (it would wait
	// for the connection fn holds, for ever).
	Update(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error
	// UpdateRetryable is Update for an fn that may run more than once: the
	// store undoes its changes before it runs again, so it must keep
	// nothing outside the Tx that a second run would not set afresh (a
	// result it assigns, yes; a count it adds to, no). Beside other such
	// writes, it then runs without a savepoint of its own, a large part
	// of a small write's cost; when one of them fails, the others run
	// again, each in its savepoint.
	UpdateRetryable(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error
	View(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error

	OutboxStore
	CapabilityStore // capability records and views (capabilities.go)
	RequestStore    // third parties' requests (requests.go)
	SyncStore       // operation log replication, device-local sync records (app/sync.go)
	EmergencyStore  // emergency keys, access logs, responders (app/emergency.go)
}

// ErrTaken is returned by the store when a write would give a token hash
// or an id that another account (or another thing) of the installation
// owns: a crafted import, join or sync operation trying to shadow it.
var ErrTaken = errors.New("owned by another account")

// Capability is the device-local record of a capability: a token that
// acts without the user's session (a share's verification token, the
// public link, a health link, the emergency page). It holds no key: View
// is what the capability may show now, sealed under a key that only the
// token gives (capabilities.go), and nil once the capability is dead.
type Capability struct {
	TokenHash []byte // crypto.TokenIndex of the token: unique on the installation
	UserID    string
	Kind      string // CapShare, CapPublic, CapLink, CapEmergency
	ID        string // the entity it names
	Dep       string // the field a share shows; the emergency view's fields, space-separated (the view is re-derived when one changes)
	State     string // CapActive, CapHidden, CapRevoked, CapExpired, CapLocked
	ExpiresAt time.Time
	KDF       string // a link passcode's Argon2id parameters and salt ("" without)
	Failures  int    // wrong passcodes, on this device
	View      []byte
	Owner     string // what holds the thing: a share's service (its entity id); "" for none
}

// CellRef names one cell a transaction changed.
type CellRef struct{ Entity, ID, Field string }

// Deriver keeps derived, device-local state (capability views) current:
// the store calls it inside every write transaction that changed cells,
// local or applied by sync, before it commits, with the cells changed and
// the data key the transaction has (nil when it has none).
type Deriver func(tx Tx, dek []byte, changed []CellRef) error

// CapabilityStore is what capabilities need outside a user's transaction:
// finding one by its token's hash, counting a wrong passcode atomically,
// and ending those whose time is up.
type CapabilityStore interface {
	// SetDeriver installs the function every write transaction calls.
	SetDeriver(d Deriver)
	// CapabilityByHash finds a capability by its token's index,
	// crypto.TokenIndex (ErrNotFound when none).
	CapabilityByHash(ctx context.Context, tokenHash []byte) (*Capability, error)
	// CapabilitiesByID lists the capability records, of every account here,
	// that name a thing of this kind and id (none: an empty list): a
	// share's live status, whose URL names only the id.
	CapabilitiesByID(ctx context.Context, kind, id string) ([]*Capability, error)
	// CapabilityFailure counts a wrong passcode in one statement; at limit
	// the capability is locked and its view dropped.
	CapabilityFailure(ctx context.Context, tokenHash []byte, limit int) (failures int, locked bool, err error)
	// ExpireCapabilities drops the views of capabilities whose time is up.
	ExpireCapabilities(ctx context.Context, now time.Time) (int, error)
	// LocalValue and PutLocalValue keep device-local values (this
	// device's settings), sealed under the installation key; LocalValue
	// gives ErrNotFound for a name never put.
	LocalValue(ctx context.Context, name string) ([]byte, error)
	PutLocalValue(ctx context.Context, name string, value []byte) error
	// SigningKey returns a user's signing key wrapped under the
	// installation key (ErrNotFound when this device has none yet).
	SigningKey(ctx context.Context, userID string) ([]byte, error)
}

// eachEntity calls fn with every entity of a kind that read finds
// (read's ok false: skipped, such as one whose cells have not all
// arrived by sync yet).
func eachEntity[T any](tx Tx, entity string, read func(Tx, string) (T, bool, error), fn func(T) error) error {
	ids, err := tx.IDs(entity)
	if err != nil {
		return err
	}
	for _, id := range ids {
		v, ok, err := read(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
