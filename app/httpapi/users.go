package httpapi

import (
	"net/http"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// ChallengeLimit is how many key-login challenges one address may ask for
// in a minute.
const ChallengeLimit = 30

// registerUsers registers accounts and sessions: register, login (by
// password or a signed challenge), logout.
func (s *Server) registerUsers() {
	s.route(api+"/users/register", Doc{
		Summary: "Create a user and profile; returns a token.",
		Params:  []string{"email!", "password!", "name", "handle", "biometrics", "public_private_key_pair", "public_key"},
		Success: 201, Errors: []int{400, 409, 429},
	}, MaxBody, answer(s.register, http.MethodPost))
	s.route(api+"/users/login", Doc{
		Summary: "Sign in with e-mail and password, or with a signed challenge (email, challenge, signature).",
		Params:  []string{"email!", "password", "challenge", "signature"},
		Errors:  []int{400, 401, 429},
	}, MaxBody, answer(s.login, http.MethodPost))
	s.route(api+"/users/challenge", Doc{
		Summary: "Issue a single-use key-login challenge, valid 5 minutes.",
		Params:  []string{"email!"}, Errors: []int{400, 429},
	}, MaxBody, answer(s.challenge, http.MethodPost))
	s.route(api+"/users/logout", Doc{Summary: "Revoke the token.", Auth: true, Errors: []int{401}}, MaxBody, answer(s.logout, http.MethodPost))
}

func (s *Server) register(c *call) (int, SessionResponse, error) {
	pub := c.p.String("public_private_key_pair")
	if pub == "" {
		pub = c.p.String("public_key")
	}
	a, err := s.app.Register(c.ctx(), app.Registration{
		Name:       c.p.String("name"),
		Email:      c.p.String("email"),
		Handle:     c.p.String("handle"),
		Password:   c.p.String("password"),
		Biometrics: c.p.String("biometrics"),
		PublicKey:  pub,
		Client:     clientIP(c.r),
	})
	if err != nil {
		return 0, SessionResponse{}, err
	}
	return http.StatusCreated, sessionResponse(a), nil
}

func (s *Server) login(c *call) (int, SessionResponse, error) {
	var a *app.Auth
	var err error
	if c.p.Has("challenge") || c.p.Has("signature") {
		a, err = s.app.KeyLoginFrom(c.ctx(), clientIP(c.r), c.p.String("email"), c.p.String("challenge"), c.p.String("signature"))
	} else {
		a, err = s.app.LoginFrom(c.ctx(), clientIP(c.r), c.p.String("email"), c.p.String("password"))
	}
	if err != nil {
		return 0, SessionResponse{}, err
	}
	return http.StatusOK, sessionResponse(a), nil
}

func (s *Server) challenge(c *call) (int, ChallengeResponse, error) {
	// Anyone may ask; each answer is a write, so bound how often one
	// address may.
	if err := s.app.ReserveAttempt(c.ctx(), s.app.LimitKey("challenge", clientIP(c.r)), ChallengeLimit, time.Minute); err != nil {
		return 0, ChallengeResponse{}, err
	}
	ch, exp, err := s.app.Challenge(c.ctx(), c.p.String("email"))
	if err != nil {
		return 0, ChallengeResponse{}, err
	}
	return http.StatusOK, ChallengeResponse{Challenge: ch, ExpiresAt: ts(exp)}, nil
}

func (s *Server) logout(c *call) (int, OKResponse, error) {
	if err := s.app.Logout(c.ctx(), c.who); err != nil {
		return 0, OKResponse{}, err
	}
	return http.StatusOK, OKResponse{}, nil
}
