package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

var errFillProfile = app.E(app.KindInvalid, "invalid_parameter", "fill_profile must be true or false!")

func (s *Server) registerCredentials() {
	s.handle(api+"/profile/add-credential", Doc{
		Summary: "Add a credential from a photo (multipart file, base64 or data: URL). A driver's licence or ID card " +
			"(credential_type Driver's License, Driver's Licence, drivers_license or id_card) has its PDF417 AAMVA barcode " +
			"read and verified; other types are kept as unverified documents. The credential stays pending until confirmed.",
		Auth:    true,
		Params:  []string{"credential_type!", "credential_image!"},
		Success: http.StatusCreated,
		Returns: []string{"credential_id", "credential_type", "credential_status", "verification", "problems", "extracted"},
		Errors:  []int{400, 401, 413, 415, 422, 429},
	}, MaxUpload, s.addCredential, http.MethodPost)
	s.handle(api+"/profile/credentials", Doc{
		Summary: "List the user's credentials (id, type, status, verification, problems, extracted fields; never the image or the full document number).",
		Auth:    true, Returns: []string{"credentials"}, Errors: []int{401},
	}, MaxBody, s.listCredentials, http.MethodGet)
	s.handle(api+"/profile/credentials/{credential_id}/confirm", Doc{
		Summary: "Confirm a pending credential; a verified licence's date of birth then feeds age claims. " +
			"fill_profile=true also writes the document's name and address to the profile's name and address fields.",
		Auth: true, Params: []string{"fill_profile"},
		Returns: []string{"credential_id", "credential_status", "verification", "confirmed_at", "filled"},
		Errors:  []int{400, 401, 404},
	}, MaxBody, s.confirmCredential, http.MethodPost)
	s.handle(api+"/profile/credentials/{credential_id}/reject", Doc{
		Summary: "Reject a credential: deletes it with its image and fields.",
		Auth:    true, Returns: []string{"credential_id"}, Errors: []int{401, 404},
	}, MaxBody, s.rejectCredential, http.MethodPost)
	s.page(api+"/profile/credentials/{credential_id}/image", Doc{
		Summary: "The credential's image, with its own content type (image/png, image/jpeg, image/gif or image/webp).",
		Auth:    true, Content: "image/*", Errors: []int{401, 404},
	}, s.credentialImage, http.MethodGet)
}

func (s *Server) addCredential(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(p.String("credential_type")) == "" || !p.Has("credential_image") {
		return 0, nil, app.ErrCredentialMissing
	}
	img, _, err := p.Bytes("credential_image", MaxUpload)
	if err != nil {
		return 0, nil, err
	}
	c, err := s.app.AddCredential(r.Context(), pr, p.String("credential_type"), img)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{
		"status":            "success",
		"credential_id":     c.ID,
		"credential_type":   c.Type,
		"credential_status": c.Status,
		"verification":      c.Verification,
		"problems":          c.Problems,
		"extracted":         c.Extracted,
	}, nil
}

func (s *Server) listCredentials(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	cs, err := s.app.Credentials(r.Context(), pr)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "credentials": cs}, nil
}

func (s *Server) confirmCredential(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	fill := false
	if v := strings.TrimSpace(p.String("fill_profile")); v != "" {
		if fill, err = strconv.ParseBool(v); err != nil {
			return 0, nil, errFillProfile
		}
	}
	c, filled, err := s.app.ConfirmCredential(r.Context(), pr, r.PathValue("credential_id"), fill)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{
		"status":            "success",
		"credential_id":     c.ID,
		"credential_status": c.Status,
		"verification":      c.Verification,
		"confirmed_at":      c.ConfirmedAt,
		"filled":            filled,
	}, nil
}

func (s *Server) rejectCredential(r *http.Request, p *params) (int, any, error) {
	pr, err := s.auth(r, p)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("credential_id")
	if err := s.app.RejectCredential(r.Context(), pr, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"status": "success", "credential_id": id}, nil
}

func (s *Server) credentialImage(w http.ResponseWriter, r *http.Request) {
	_, pr, ok := s.authPage(w, r)
	if !ok {
		return
	}
	ct, img, err := s.app.CredentialImage(r.Context(), pr, r.PathValue("credential_id"))
	if err != nil {
		s.writeError(w, r, "", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(img)))
	h.Set("Content-Disposition", "inline")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Write(img)
}
