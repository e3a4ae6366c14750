package httpapi

import (
	"net/http"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

const api = "/api/v1"

// ChallengeLimit is how many key-login challenges one address may ask for
// in a minute.
const ChallengeLimit = 30

func (s *Server) registerUsers() {
	authReturns := []string{"user_id", "token", "profile_id", "expires_at"}
	s.handle(api+"/users/register", Doc{
		Summary: "Create a user and profile; returns a token.",
		Params:  []string{"email!", "password!", "name", "handle", "biometrics", "public_private_key_pair", "public_key"},
		Success: 201, Returns: authReturns, Errors: []int{400, 409, 429},
	}, MaxBody, s.register, http.MethodPost)
	s.handle(api+"/users/login", Doc{
		Summary: "Sign in with e-mail and password, or with a signed challenge (email, challenge, signature).",
		Params:  []string{"email!", "password", "challenge", "signature"},
		Returns: authReturns, Errors: []int{400, 401, 429},
	}, MaxBody, s.login, http.MethodPost)
	s.handle(api+"/users/challenge", Doc{
		Summary: "Issue a single-use key-login challenge, valid 5 minutes.",
		Params:  []string{"email!"}, Returns: []string{"challenge", "expires_at"}, Errors: []int{400, 429},
	}, MaxBody, s.challenge, http.MethodPost)
	s.handle(api+"/users/logout", Doc{Summary: "Revoke the token.", Auth: true, Errors: []int{401}}, MaxBody, s.logout, http.MethodPost)
	s.handle(api+"/healthz", Doc{Summary: "Liveness check."}, MaxBody, s.healthz, http.MethodGet)
	s.handle(api+"/profile", Doc{
		Summary: "The signed-in user's own profile: every field with its value and ring.",
		Auth:    true, Returns: []string{"user_id", "profile_id", "fields"}, Errors: []int{401},
	}, MaxBody, s.profile, http.MethodGet)
}

func authBody(a *app.Auth) map[string]any {
	return map[string]any{
		"status":     "success",
		"user_id":    a.UserID,
		"profile_id": a.ProfileID,
		"token":      a.Token,
		"expires_at": a.ExpiresAt.UTC().Format(time.RFC3339),
	}
}

func (s *Server) register(r *http.Request, p *params) (int, any, error) {
	pub := p.String("public_private_key_pair")
	if pub == "" {
		pub = p.String("public_key")
	}
	a, err := s.app.Register(r.Context(), app.Registration{
		Name:       p.String("name"),
		Email:      p.String("email"),
		Handle:     p.String("handle"),
		Password:   p.String("password"),
		Biometrics: p.String("biometrics"),
		PublicKey:  pub,
		Client:     clientIP(r),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, authBody(a), nil
}

func (s *Server) login(r *http.Request, p *params) (int, any, error) {
	var a *app.Auth
	var err error
	if p.Has("challenge") || p.Has("signature") {
		a, err = s.app.KeyLoginFrom(r.Context(), clientIP(r), p.String("email"), p.String("challenge"), p.String("signature"))
	} else {
		a, err = s.app.LoginFrom(r.Context(), clientIP(r), p.String("email"), p.String("password"))
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, authBody(a), nil
}

func (s *Server) challenge(r *http.Request, p *params) (int, any, error) {
	// Anyone may ask; each answer is a write, so bound how often one
	// address may.
	if err := s.app.ReserveAttempt(r.Context(), s.app.LimitKey("challenge", clientIP(r)), ChallengeLimit, time.Minute); err != nil {
		return 0, nil, err
	}
	c, exp, err := s.app.Challenge(r.Context(), p.String("email"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "challenge": c, "expires_at": exp.UTC().Format(time.RFC3339)}, nil
}

func (s *Server) logout(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	if err := s.app.Logout(r.Context(), pr); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success"}, nil
}

func (s *Server) healthz(r *http.Request, p *params) (int, any, error) {
	return http.StatusOK, map[string]any{"status": "success"}, nil
}

func (s *Server) profile(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	fields, err := s.app.Fields(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f.Name] = map[string]any{"value": f.Value, "ring": f.Ring}
	}
	return http.StatusOK, map[string]any{"status": "success", "user_id": pr.UserID, "profile_id": pr.ProfileID, "fields": out}, nil
}
