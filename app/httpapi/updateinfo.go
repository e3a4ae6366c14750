package httpapi

import "net/http"

// registerUpdateInfo registers update once (use case 7): every reference
// reads the new value at once.
func (s *Server) registerUpdateInfo() {
	s.route(api+"/profile/update-info", Doc{
		Summary: "Update profile fields (updated_fields: field → value, null deletes). Every reference reads the new value " +
			"at once; services that see a changed field get a signed profile.updated webhook event.",
		Auth: true, Params: []string{"updated_fields!"}, Errors: []int{400, 401},
	}, MaxBody, answer(s.updateInfo, http.MethodPut, http.MethodPost))
}

func (s *Server) updateInfo(c *call) (int, UpdateResponse, error) {
	res, err := s.app.UpdateInfo(c.ctx(), c.who, c.p.JSON("updated_fields"))
	if err != nil {
		return 0, UpdateResponse{}, err
	}
	return http.StatusOK, UpdateResponse{Updated: res.Updated, Notified: res.Notified}, nil
}
