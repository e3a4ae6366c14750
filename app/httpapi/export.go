package httpapi

import (
	"encoding/base64"
	"net/http"
)

func (s *Server) registerExport() {
	s.handle(api+"/profile/export", Doc{
		Summary: "Export the whole profile: format=json (the default) gives every field (restricted ones too) and every entity the profile holds, " +
			"key material and capability secrets withheld; format=container gives the portable encrypted container (standard base64), " +
			"sealed under a key derived (Argon2id) from passphrase, that `spp import` restores on another device.",
		Auth:    true,
		Params:  []string{"format", "passphrase"},
		Returns: []string{"exported_data"},
		Errors:  []int{400, 401},
	}, MaxBody, s.export, http.MethodPost, http.MethodGet)
}

func (s *Server) export(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	e, err := s.app.Export(r.Context(), pr, p.String("format"), p.String("passphrase"))
	if err != nil {
		return 0, nil, err
	}
	var data any = e.Profile
	if e.Container != nil {
		data = base64.StdEncoding.EncodeToString(e.Container)
	}
	return http.StatusOK, map[string]any{"exported_data": data, "status": "success"}, nil
}
