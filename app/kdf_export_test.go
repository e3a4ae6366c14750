package app

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// CountKDF returns a context under which every Argon2id derivation the
// app makes is counted in the returned counter.
func CountKDF(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, kdfCounter{}, n), n
}

// HoldKDFSlots occupies every derivation slot (waiting for derivations
// in flight to end) until the returned function is first called.
func HoldKDFSlots() (release func()) {
	n := cap(kdfSlots)
	for i := 0; i < n; i++ {
		kdfSlots <- struct{}{}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for i := 0; i < n; i++ {
				<-kdfSlots
			}
		})
	}
}

// SetKDFQueue sets the queue bound (the longest wait, how many may wait)
// until the returned function restores it.
func SetKDFQueue(wait time.Duration, waiters int) (restore func()) {
	w := kdfMaxWait.Swap(int64(wait))
	n := kdfMaxWaiters.Swap(int64(waiters))
	return func() { kdfMaxWait.Store(w); kdfMaxWaiters.Store(n) }
}

// KDFWaiters is how many bounded derivations wait for a slot.
func KDFWaiters() int64 { return kdfWaiters.Load() }
