package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Kind classifies an Error; app/httpapi maps each Kind to one HTTP status.
type Kind int

// The kinds of error a use case can end in.
const (
	KindInternal      Kind = iota // 500: details go to the log only
	KindInvalid                   // 400: missing or malformed parameter
	KindUnauthorized              // 401: token or credentials missing, unknown, expired
	KindForbidden                 // 403: not allowed
	KindNotFound                  // 404
	KindConflict                  // 409
	KindGone                      // 410: expired or revoked
	KindTooLarge                  // 413
	KindUnsupported               // 415
	KindUnprocessable             // 422
	KindRateLimited               // 429
	KindStorageFull               // 507: no room to write; reads still work
)

// Error is the one error type use cases return to their callers. Message is
// what the client sees in "status" (legacy strings are byte-exact); Code is
// the stable snake_case identifier.
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	RetryAfter time.Duration // for KindRateLimited
	Err        error         // the cause, for the log; never shown to a client
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%s): %v", e.Message, e.Code, e.Err)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an *Error of the given kind, code and message.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Internal wraps an unexpected failure; its message is never the cause.
// A failure for lack of room (ErrStorageFull) is no internal error: it
// becomes KindStorageFull, so the client can tell, and wait.
func Internal(err error) *Error {
	if errors.Is(err, ErrStorageFull) {
		return &Error{Kind: KindStorageFull, Code: "storage_full", Message: "storage is full!", Err: err}
	}
	return &Error{Kind: KindInternal, Code: "internal", Message: "internal error", Err: err}
}

// AsError returns err as an *Error, wrapping anything else as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == KindInternal && errors.Is(e.Err, ErrStorageFull) {
			return Internal(e.Err)
		}
		return e
	}
	return Internal(err)
}

// ErrNotFound is returned by a Store when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrStorageFull is returned (wrapped) by a Store when a write finds no
// room: the disk is full, or the database reached its size limit. Nothing
// was written; the same write succeeds once there is room again.
var ErrStorageFull = errors.New("storage is full")

// ErrExists is returned by a Store when a unique record already exists.
var ErrExists = errors.New("already exists")

// ErrAmbiguous is returned by a Store when a lookup that should name one
// record matches several (a handle held by more than one account).
var ErrAmbiguous = errors.New("ambiguous")

// Errors shared by several use cases, with their legacy messages.
var (
	ErrTokenMissing = E(KindUnauthorized, "token_missing", "token must exist!")
	ErrTokenExpired = E(KindUnauthorized, "token_expired", "token has expired!")
)

// errTaken refuses data from outside (an import, a join, a sync
// operation) that would place a token or id another account owns.
var errTaken = E(KindConflict, "taken", "the data holds a token or id another profile owns!")

// ValidUUID reports whether s is a well-formed UUID in its canonical
// form: ids that come from outside (a container, a join) must be.
func ValidUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
