package httpapi

import (
	"net/http"

	"github.com/secure-personal-profile/spp/app"
)

// registerServices registers the services a user deals with: a webhook
// registered, what each can see reviewed, and everything it was given
// revoked (use case 8).
func (s *Server) registerServices() {
	s.route(api+"/profile/revoke-access", Doc{
		Summary: "Revoke everything a service was given: its shares answer 410 from now on, its role ends, its webhook gets access.revoked. " +
			"With verification_token, that one share of the service only (its other shares and its role stay).",
		Auth: true, Params: []string{"service_id!", "verification_token"}, Errors: []int{400, 401},
	}, MaxBody, answer(s.revokeAccess, http.MethodDelete, http.MethodPost))
	s.route(api+"/profile/access", Doc{
		Summary: "Each service the user deals with: what it can see now and since when, its shares, its role.",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.access, http.MethodGet))
	s.route(api+"/profile/services", Doc{
		Summary: "Register a service's webhook; returns its webhook_secret once (a new one on each call). Events are signed " +
			"with X-Profile-Signature: sha256=<hex HMAC-SHA256(body, secret)>.",
		Auth: true, Params: []string{"service_id!", "webhook_url!", "name"}, Success: http.StatusCreated,
		Errors: []int{400, 401},
	}, MaxBody, answer(s.registerService, http.MethodPost))
}

func (s *Server) revokeAccess(c *call) (int, RevokeResponse, error) {
	var (
		n   int
		err error
	)
	if vt := c.p.String("verification_token"); vt != "" {
		n, err = s.app.RevokeServiceShare(c.ctx(), c.who, c.p.String("service_id"), vt)
	} else {
		n, err = s.app.RevokeAccess(c.ctx(), c.who, c.p.String("service_id"))
	}
	if err != nil {
		return 0, RevokeResponse{}, err
	}
	return http.StatusOK, RevokeResponse{Revoked: n}, nil
}

func (s *Server) access(c *call) (int, AccessResponse, error) {
	list, err := s.app.Access(c.ctx(), c.who)
	if err != nil {
		return 0, AccessResponse{}, err
	}
	if list == nil {
		list = []app.ServiceAccess{}
	}
	return http.StatusOK, AccessResponse{Services: list}, nil
}

func (s *Server) registerService(c *call) (int, ServiceResponse, error) {
	secret, err := s.app.RegisterService(c.ctx(), c.who, c.p.String("service_id"), c.p.String("name"), c.p.String("webhook_url"))
	if err != nil {
		return 0, ServiceResponse{}, err
	}
	return http.StatusCreated, ServiceResponse{ServiceID: c.p.String("service_id"), WebhookSecret: secret}, nil
}
