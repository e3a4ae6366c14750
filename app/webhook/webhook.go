// Package webhook delivers webhook events from the outbox: an HTTP POST of
// the event's JSON body with the X-Profile-Signature header computed when
// the event was queued. A 2xx answer is a delivery; anything else (or no
// answer) leaves the event in the outbox for a retry with backoff.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// Sender posts webhook events. It implements app.Sender for kind
// app.KindWebhook.
type Sender struct {
	client *http.Client
}

// New returns a Sender over client (nil: a client of its own with a 20 s
// timeout). Redirects are not followed: a service answers its own URL.
func New(client *http.Client) *Sender {
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Sender{client: &c}
}

// Kind is app.KindWebhook.
func (s *Sender) Kind() string { return app.KindWebhook }

// Send posts one event. Errors name what failed (status or network
// error kind) but never the URL or the body.
func (s *Sender) Send(ctx context.Context, m *app.Message) error {
	var d app.WebhookDelivery
	if err := json.Unmarshal(m.Payload, &d); err != nil {
		return fmt.Errorf("webhook: undecodable outbox message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return errors.New("webhook: bad URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "secure-personal-profile-webhook/1")
	req.Header.Set("X-Profile-Signature", d.Signature)
	req.Header.Set("X-Profile-Event", d.Event)
	req.Header.Set("X-Profile-Delivery", m.ID)
	res, err := s.client.Do(req)
	if err != nil {
		// Say what kind of failure, not where: the URL and the address
		// are the user's business, not the log's.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return errors.New("webhook: no answer in time")
		}
		return errors.New("webhook: could not connect")
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook: service answered %d", res.StatusCode)
	}
	return nil
}
