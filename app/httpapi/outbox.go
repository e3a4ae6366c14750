package httpapi

import (
	"net/http"
)

func (s *Server) registerOutbox() {
	s.handle(api+"/profile/outbox", Doc{
		Summary: "The user's outbox, newest first: each e-mail, text message or webhook event with its status (waiting | delivered | failed: for good, never attempted again), attempts, last error and recipient; never the body.",
		Auth:    true, Returns: []string{"messages"}, Errors: []int{401},
	}, MaxBody, s.outbox, http.MethodGet)
}

func (s *Server) outbox(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	ms, err := s.app.OutboxEntries(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "messages": ms}, nil
}
