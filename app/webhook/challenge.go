package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/secure-personal-profile/spp/app"
)

// Challenge posts a third party's challenge to its callback (it makes
// Sender an app.Challenger): the client of the deliveries, so no
// redirects and, unless allowPrivate, public addresses only, checked when
// dialling. At most limit bytes of the answer are read. Errors never name
// the URL.
func (s *Sender) Challenge(ctx context.Context, url string, body []byte, limit int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, ErrBadURL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "secure-personal-profile-challenge/1")
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, challengeError(ctx, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return 0, nil, challengeError(ctx, err)
	}
	if int64(len(answer)) > limit {
		return res.StatusCode, nil, app.ErrAnswerTooLarge
	}
	return res.StatusCode, answer, nil
}

// challengeError is what went wrong, as app.Challenger says it.
func challengeError(ctx context.Context, err error) error {
	if errors.Is(err, ErrAddressNotAllowed) {
		return app.ErrAddressRefused
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return context.DeadlineExceeded
	}
	return errors.New("webhook: could not connect")
}
