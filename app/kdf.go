package app

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// kdfSlots bounds the Argon2id derivations running at once on this device
// (each holds its memory cost, 64 MiB by default): a burst of logins,
// registrations or joins queues instead of exhausting memory.
var kdfSlots = make(chan struct{}, max(runtime.NumCPU(), 2))

// The queue bound of the derivations strangers ask for (deriveKeyBounded:
// logins, registrations and the grant's secret over the API, a health
// link's passcode): one waits for a slot at most kdfMaxWait, and is
// refused at once while kdfMaxWaiters wait already. Refused, it is 429
// with Retry-After (kdfBusy), never a queue without end. The device's
// owner (the app's own window) and signed-in users wait (deriveKey).
var (
	kdfMaxWait    = newAtomic(int64(2 * time.Second))
	kdfMaxWaiters = newAtomic(int64(4 * cap(kdfSlots)))
	kdfWaiters    atomic.Int64
)

func newAtomic(v int64) *atomic.Int64 {
	n := new(atomic.Int64)
	n.Store(v)
	return n
}

// Parameters another device may ask this one to spend on a derivation
// (a pairing bundle's): at most this much, whatever crypto would allow.
const (
	maxForeignKDFMemory = 256 * 1024 // KiB
	maxForeignKDFTime   = 10
)

// kdfCounter is the context key of an *atomic.Int64 that counts the
// derivations made under that context: tests show with it that two paths
// (a known and an unknown e-mail) do the same work, without timing them.
type kdfCounter struct{}

// kdfBusy is the answer of a derivation refused by the queue bound.
func kdfBusy() *Error {
	e := E(KindRateLimited, "busy", "the server is busy, try again later!")
	e.RetryAfter = max(time.Duration(kdfMaxWait.Load()), time.Second)
	return e
}

// deriveKey is crypto.DeriveKey through kdfSlots; it waits for a slot as
// long as ctx lasts. For the device's owner and signed-in users.
func deriveKey(ctx context.Context, password []byte, p crypto.KDFParams) ([]byte, error) {
	return derive(ctx, password, p, false)
}

// deriveKeyBounded is deriveKey under the queue bound, for what anyone
// may ask: over it, it returns kdfBusy (an *Error: pass it on, see
// kdfFailure).
func deriveKeyBounded(ctx context.Context, password []byte, p crypto.KDFParams) ([]byte, error) {
	return derive(ctx, password, p, true)
}

func derive(ctx context.Context, password []byte, p crypto.KDFParams, bounded bool) ([]byte, error) {
	if err := takeKDFSlot(ctx, bounded); err != nil {
		return nil, err
	}
	defer func() {
		<-kdfSlots
		if len(kdfSlots) == 0 {
			// The last derivation at work is done: its memory (64 MiB at
			// the default cost, in a heap of a few) goes back now, not
			// when the heap has grown GOGC times over it (main.go); off
			// the request's path (a collection and the pages' release,
			// 6-8 ms).
			go debug.FreeOSMemory()
		}
	}()
	if n, ok := ctx.Value(kdfCounter{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	return crypto.DeriveKey(password, p)
}

// KDFPeakMemory is what the Argon2id derivations running at once may hold
// at the default cost, in bytes: main.go's memory limit leaves room for it.
func KDFPeakMemory() int64 { return int64(cap(kdfSlots)) * int64(crypto.DefaultKDF.Memory) << 10 }

func takeKDFSlot(ctx context.Context, bounded bool) error {
	select {
	case kdfSlots <- struct{}{}:
		return nil
	default:
	}
	if !bounded {
		select {
		case kdfSlots <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if kdfWaiters.Add(1) > kdfMaxWaiters.Load() {
		kdfWaiters.Add(-1)
		return kdfBusy()
	}
	defer kdfWaiters.Add(-1)
	t := time.NewTimer(time.Duration(kdfMaxWait.Load()))
	defer t.Stop()
	select {
	case kdfSlots <- struct{}{}:
		return nil
	case <-t.C:
		return kdfBusy()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kdfFailure is the error to return for a derivation's err: the queue
// bound's refusal as it is, anything else internal.
func kdfFailure(err error) error {
	if e := (*Error)(nil); errors.As(err, &e) && e.Kind == KindRateLimited {
		return e
	}
	return Internal(err)
}

// isBusy reports whether err is the queue bound's refusal.
func isBusy(err error) bool {
	e := (*Error)(nil)
	return errors.As(err, &e) && e.Kind == KindRateLimited && e.Code == "busy"
}

// foreignKDF reports whether parameters received from another device are
// within what this one will spend.
func foreignKDF(p crypto.KDFParams) bool {
	return p.Memory <= maxForeignKDFMemory && p.Time <= maxForeignKDFTime
}
