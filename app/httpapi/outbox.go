package httpapi

import (
	"net/http"
)

func (s *Server) registerOutbox() {
	s.route(api+"/profile/outbox", Doc{
		Summary: "The user's outbox, newest first: each e-mail, text message or webhook event with its status (waiting | delivered | failed: for good, never attempted again), attempts, last error and recipient; never the body.",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.outbox, http.MethodGet))
}

func (s *Server) outbox(c *call) (int, OutboxResponse, error) {
	ms, err := s.app.OutboxEntries(c.ctx(), c.who)
	if err != nil {
		return 0, OutboxResponse{}, err
	}
	return http.StatusOK, OutboxResponse{Messages: ms}, nil
}
