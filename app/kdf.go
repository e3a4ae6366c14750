package app

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/secure-personal-profile/spp/crypto"
)

// kdfSlots bounds the Argon2id derivations running at once on this device
// (each holds its memory cost, 64 MiB by default): a burst of logins,
// registrations or joins queues instead of exhausting memory.
var kdfSlots = make(chan struct{}, max(runtime.NumCPU(), 2))

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

// deriveKey is crypto.DeriveKey through kdfSlots; it gives up when ctx
// ends while waiting.
func deriveKey(ctx context.Context, password []byte, p crypto.KDFParams) ([]byte, error) {
	if n, ok := ctx.Value(kdfCounter{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	select {
	case kdfSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-kdfSlots }()
	return crypto.DeriveKey(password, p)
}

// foreignKDF reports whether parameters received from another device are
// within what this one will spend.
func foreignKDF(p crypto.KDFParams) bool {
	return p.Memory <= maxForeignKDFMemory && p.Time <= maxForeignKDFTime
}
