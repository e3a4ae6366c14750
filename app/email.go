package app

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// KindEmail is the outbox kind of an e-mail; app/mail delivers it over
// SMTP. KindSMS is a text message to a phone number: no sender is built in,
// so such messages wait in the outbox, where the user sees them.
const (
	KindEmail = "email"
	KindSMS   = "sms"
)

// Email is the payload of an outbox message of kind "email": one plain-text
// message to one recipient. The sender adds From, Date and Message-ID.
type Email struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// SMS is the payload of an outbox message of kind "sms".
type SMS struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

// e164RE is an E.164 phone number: a plus, then 7 to 15 digits.
var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidPhone reports whether s is an E.164 phone number (+14155550100).
func ValidPhone(s string) bool { return e164RE.MatchString(s) }

// enqueueEmail queues an e-mail in the transaction tx writes.
func (a *core) enqueueEmail(tx Tx, userID string, e Email) error {
	_, err := a.enqueueEmailID(tx, userID, e)
	return err
}

// enqueueEmailID queues an e-mail as enqueueEmail, and returns its
// message id (what OutboxEntries lists it by: waiting, delivered, failed).
func (a *core) enqueueEmailID(tx Tx, userID string, e Email) (string, error) {
	e.Subject = oneLine(e.Subject)
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	m := a.NewMessage(userID, KindEmail, b)
	return m.ID, tx.Enqueue(m)
}

// enqueueSMS queues a text message in the transaction tx writes.
// It returns the message's id.
func (a *core) enqueueSMS(tx Tx, userID string, m SMS) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	msg := a.NewMessage(userID, KindSMS, b)
	return msg.ID, tx.Enqueue(msg)
}

// oneLine folds control characters (a header must stay one line) to spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// OutboxEntry is what the user sees of one outbox message: never its body.
type OutboxEntry struct {
	ID          string    `json:"message_id"`
	Kind        string    `json:"kind"`
	To          string    `json:"to,omitempty"` // the recipient of an e-mail or text message
	Status      string    `json:"status"`       // waiting | delivered | failed (for good: never tried again)
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	NextAt      time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	FailedAt    time.Time `json:"failed_at,omitzero"`
}

// OutboxEntries lists the principal's outbox, newest first: what waits,
// how often it was tried and why it failed, and what was delivered. The
// recipient of an e-mail or text message is shown; bodies never are.
func (a *core) OutboxEntries(ctx context.Context, p *Principal) ([]OutboxEntry, error) {
	ms, err := a.Outbox(ctx, p)
	if err != nil {
		return nil, err
	}
	return outboxEntries(ms), nil
}

// outboxEntries are messages as the user sees them.
func outboxEntries(ms []*Message) []OutboxEntry {
	out := make([]OutboxEntry, 0, len(ms))
	for _, m := range ms {
		e := OutboxEntry{ID: m.ID, Kind: m.Kind, Status: "waiting", Attempts: m.Attempts, LastError: m.LastError, CreatedAt: m.CreatedAt.UTC()}
		switch {
		case !m.DeliveredAt.IsZero():
			e.Status, e.DeliveredAt = "delivered", m.DeliveredAt.UTC()
		case !m.FailedAt.IsZero():
			e.Status, e.FailedAt = "failed", m.FailedAt.UTC()
		default:
			e.NextAt = m.NextAt.UTC()
		}
		switch m.Kind {
		case KindEmail, KindSMS:
			var to struct {
				To string `json:"to"`
			}
			if json.Unmarshal(m.Payload, &to) == nil {
				e.To = to.To
			}
		}
		out = append(out, e)
	}
	return out
}
