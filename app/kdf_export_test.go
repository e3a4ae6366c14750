package app

import (
	"context"
	"sync/atomic"
)

// CountKDF returns a context under which every Argon2id derivation the
// app makes is counted in the returned counter.
func CountKDF(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, kdfCounter{}, n), n
}
