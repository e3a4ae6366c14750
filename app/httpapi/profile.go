package httpapi

import "net/http"

// registerProfile registers the user's own profile: every field with its
// value and ring.
func (s *Server) registerProfile() {
	s.route(api+"/profile", Doc{
		Summary: "The signed-in user's own profile: every field with its value and ring.",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.profile, http.MethodGet))
}

func (s *Server) profile(c *call) (int, ProfileResponse, error) {
	fields, err := s.app.Fields(c.ctx(), c.who)
	if err != nil {
		return 0, ProfileResponse{}, err
	}
	out := make(map[string]ProfileField, len(fields))
	for _, f := range fields {
		out[f.Name] = ProfileField{Value: f.Value, Ring: f.Ring}
	}
	return http.StatusOK, ProfileResponse{UserID: c.who.UserID, ProfileID: c.who.ProfileID, Fields: out}, nil
}
