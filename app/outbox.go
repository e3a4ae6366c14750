package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Message is one outbox entry: something this device must deliver (a
// webhook event, an e-mail), kept until it is delivered.
type Message struct {
	ID          string
	UserID      string
	Kind        string // a Sender's kind: "webhook", "email"
	Payload     []byte // the sender's own encoding; sealed at rest
	Attempts    int
	NextAt      time.Time
	CreatedAt   time.Time
	DeliveredAt time.Time // zero while pending
	FailedAt    time.Time // set when delivery failed for good: never tried again
	LastError   string
}

// Sender delivers the messages of one kind. An error leaves the message in
// the outbox for another attempt after a backoff; a Permanent one fails
// it for good.
type Sender interface {
	Kind() string
	Send(ctx context.Context, m *Message) error
}

// Permanent marks a delivery error that no retry can mend (an address
// the sender refuses, a URL that is not one): the message is failed for
// good, shown so to the user, and never attempted again.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports whether err is (or wraps) a Permanent one.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Outbox backoff: attempt n waits min(base·2ⁿ, cap), with ±20 % jitter.
const (
	outboxBackoffBase = 2 * time.Second
	outboxBackoffCap  = time.Hour
	outboxBatch       = 32
)

// OutboxStore is the part of a Store that keeps the outbox.
type OutboxStore interface {
	DueMessages(ctx context.Context, now time.Time, limit int) ([]*Message, error)
	MarkDelivered(ctx context.Context, id string, at time.Time) error
	MarkFailed(ctx context.Context, id string, attempts int, next time.Time, lastError string) error
	// MarkFailedForGood records a last attempt: the message is never due
	// again.
	MarkFailedForGood(ctx context.Context, id string, attempts int, at time.Time, lastError string) error
	Messages(ctx context.Context, userID string) ([]*Message, error)
	// RetryKind makes the waiting messages of a kind due at once.
	RetryKind(ctx context.Context, kind string, at time.Time) error
}

// Outbox delivers queued messages through their senders until ctx ends.
type Outbox struct {
	app     *core
	smu     sync.RWMutex // guards senders (a device setting may change one)
	senders map[string]Sender
	kick    chan struct{}
	mu      sync.Mutex
}

// sender is the sender of a kind now, if any.
func (o *Outbox) sender(kind string) (Sender, bool) {
	o.smu.RLock()
	defer o.smu.RUnlock()
	s, ok := o.senders[kind]
	return s, ok
}

// setSender replaces the sender of a kind (nil: none, messages wait).
func (o *Outbox) setSender(kind string, s Sender) {
	o.smu.Lock()
	defer o.smu.Unlock()
	if s == nil {
		delete(o.senders, kind)
		return
	}
	o.senders[kind] = s
}

// NewMessage returns a message to queue with Tx.Enqueue.
func (a *core) NewMessage(userID, kind string, payload []byte) *Message {
	now := a.now()
	return &Message{ID: NewID(), UserID: userID, Kind: kind, Payload: payload, NextAt: now, CreatedAt: now}
}

// StartOutbox starts delivering queued messages with the given senders; it
// returns at once, and delivery stops when ctx ends. Kinds without a sender
// wait in the outbox (the user sees them there).
func (a *core) StartOutbox(ctx context.Context, senders ...Sender) *Outbox {
	o := &Outbox{app: a, senders: map[string]Sender{}, kick: make(chan struct{}, 1)}
	for _, s := range senders {
		o.senders[s.Kind()] = s
	}
	a.outbox.Store(o)
	go o.loop(ctx)
	return o
}

// Kick asks the outbox to look for due messages now (after an enqueue).
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// kickOutbox wakes the running outbox, if any.
func (a *core) kickOutbox() {
	if o := a.outbox.Load(); o != nil {
		o.Kick()
	}
}

func (o *Outbox) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.kick:
		}
		o.Flush(ctx)
		t.Reset(time.Second)
	}
}

// Flush attempts every due message once, now.
func (o *Outbox) Flush(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.app
	for {
		due, err := a.outboxStore().DueMessages(ctx, a.now(), outboxBatch)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				a.cfg.Log.Error("outbox: reading due messages", "err", err)
			}
			return
		}
		sent := 0
		for _, m := range due {
			s, ok := o.sender(m.Kind)
			if !ok {
				// Nobody can deliver it on this run: look again later.
				a.outboxStore().MarkFailed(ctx, m.ID, m.Attempts, a.now().Add(time.Minute), "no "+m.Kind+" delivery configured")
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := s.Send(sctx, m)
			cancel()
			if err == nil {
				if err := a.outboxStore().MarkDelivered(ctx, m.ID, a.now()); err != nil {
					a.cfg.Log.Error("outbox: marking delivered", "id", m.ID, "err", err)
				}
				sent++
				continue
			}
			m.Attempts++
			if IsPermanent(err) {
				a.cfg.Log.Warn("outbox: delivery failed for good", "id", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
				if err := a.outboxStore().MarkFailedForGood(ctx, m.ID, m.Attempts, a.now(), err.Error()); err != nil {
					a.cfg.Log.Error("outbox: marking failed", "id", m.ID, "err", err)
				}
				continue
			}
			next := a.now().Add(backoff(m.Attempts))
			a.cfg.Log.Warn("outbox: delivery failed", "id", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
			if err := a.outboxStore().MarkFailed(ctx, m.ID, m.Attempts, next, err.Error()); err != nil {
				a.cfg.Log.Error("outbox: marking failed", "id", m.ID, "err", err)
			}
		}
		if len(due) < outboxBatch || sent == 0 {
			return
		}
	}
}

func backoff(attempts int) time.Duration {
	d := outboxBackoffCap
	if attempts < 20 {
		d = min(outboxBackoffBase<<(attempts-1), outboxBackoffCap)
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// Outbox lists the principal's messages, newest first: what was sent and
// what still waits (and why).
func (a *core) Outbox(ctx context.Context, p *Principal) ([]*Message, error) {
	ms, err := a.outboxStore().Messages(ctx, p.UserID)
	if err != nil {
		return nil, Internal(err)
	}
	return ms, nil
}

func (a *core) outboxStore() OutboxStore { return a.store }

// Enqueue queues a message of a kind for the principal, on its own.
func (a *core) Enqueue(ctx context.Context, p *Principal, kind string, payload []byte) error {
	m := a.NewMessage(p.UserID, kind, payload)
	if err := a.update(ctx, p.UserID, p.DEK, func(tx Tx) error { return tx.Enqueue(m) }); err != nil {
		return Internal(err)
	}
	return nil
}
