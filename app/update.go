package app

import (
	"context"
	"sync/atomic"
)

// The write path every use case takes: one transaction over the user's
// cells (the store logs each change as an operation and, before it
// commits, re-derives the capability views the change shows:
// capabilities.go), then the outbox is woken for anything it queued.

// update runs fn over the user's data in one transaction and, once it has
// committed, wakes the outbox if fn queued a message.
func (a *core) update(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error {
	return a.updateWith(a.store.Update, ctx, userID, dek, fn)
}

// updateRetryable is update for an fn that may run more than once
// (Store.UpdateRetryable): it assigns its results, adds to nothing.
func (a *core) updateRetryable(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error {
	return a.updateWith(a.store.UpdateRetryable, ctx, userID, dek, fn)
}

func (a *core) updateWith(via func(context.Context, string, []byte, func(Tx) error) error, ctx context.Context, userID string, dek []byte, fn func(Tx) error) error {
	var queued atomic.Bool
	if err := via(ctx, userID, dek, func(tx Tx) error {
		queued.Store(false) // a run undone does not count
		return fn(queueWatch{tx, &queued})
	}); err != nil {
		return err
	}
	if queued.Load() {
		a.kickOutbox()
	}
	return nil
}

// queueWatch is a transaction that notes whether a message was queued.
type queueWatch struct {
	Tx
	queued *atomic.Bool
}

func (w queueWatch) Enqueue(m *Message) error {
	w.queued.Store(true)
	return w.Tx.Enqueue(m)
}
