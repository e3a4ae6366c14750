package app

import "context"

// The write path every use case takes: one transaction over the user's
// cells (the store logs each change as an operation and, before it
// commits, re-derives the capability views the change shows:
// capabilities.go), then the outbox is woken for anything it queued.

// update runs fn over the user's data in one transaction and, once it has
// committed, wakes the outbox for anything fn queued.
func (a *core) update(ctx context.Context, userID string, dek []byte, fn func(Tx) error) error {
	if err := a.store.Update(ctx, userID, dek, fn); err != nil {
		return err
	}
	a.kickOutbox()
	return nil
}
