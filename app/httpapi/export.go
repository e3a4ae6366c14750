package httpapi

import (
	"net/http"
)

func (s *Server) registerExport() {
	s.route(api+"/profile/export", Doc{
		Summary: "Export the whole profile: format=json (the default) gives every field (restricted ones too) and every entity the profile holds, " +
			"key material and capability secrets withheld; format=container gives the portable encrypted container (standard base64), " +
			"sealed under a key derived (Argon2id) from passphrase, that `spp import` restores on another device.",
		Auth:   true,
		Params: []string{"format", "passphrase"},
		Errors: []int{400, 401},
	}, MaxBody, answer(s.export, http.MethodPost, http.MethodGet))
}

func (s *Server) export(c *call) (int, ExportResponse, error) {
	e, err := s.app.Export(c.ctx(), c.who, c.p.String("format"), c.p.String("passphrase"))
	if err != nil {
		return 0, ExportResponse{}, err
	}
	return http.StatusOK, ExportResponse{ExportedData: ExportedData{Profile: e.Profile, Container: e.Container}}, nil
}
