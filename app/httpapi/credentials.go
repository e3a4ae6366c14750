package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

var errFillProfile = app.E(app.KindInvalid, "invalid_parameter", "fill_profile must be true or false!")

func (s *Server) registerCredentials() {
	s.route(api+"/profile/add-credential", Doc{
		Summary: "Add a credential from a photo (multipart file, base64 or data: URL). A driver's licence or ID card " +
			"(credential_type Driver's License, Driver's Licence, drivers_license or id_card) has its PDF417 AAMVA barcode " +
			"read and verified; other types are kept as unverified documents. The credential stays pending until confirmed.",
		Auth:    true,
		Params:  []string{"credential_type!", "credential_image!"},
		Success: http.StatusCreated,
		Errors:  []int{400, 401, 413, 415, 422, 429},
	}, MaxUpload, answer(s.addCredential, http.MethodPost))
	s.route(api+"/profile/credentials", Doc{
		Summary: "List the user's credentials (id, type, status, verification, problems, extracted fields; never the image or the full document number).",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.listCredentials, http.MethodGet))
	s.route(api+"/profile/credentials/{credential_id}/confirm", Doc{
		Summary: "Confirm a pending credential; a verified licence's date of birth then feeds age claims. " +
			"fill_profile=true also writes the document's name and address to the profile's name and address fields.",
		Auth: true, Params: []string{"fill_profile"},
		Errors: []int{400, 401, 404},
	}, MaxBody, answer(s.confirmCredential, http.MethodPost))
	s.route(api+"/profile/credentials/{credential_id}/reject", Doc{
		Summary: "Reject a credential: deletes it with its image and fields.",
		Auth:    true, Errors: []int{401, 404},
	}, MaxBody, answer(s.rejectCredential, http.MethodPost))
	s.route(api+"/profile/credentials/{credential_id}/image", Doc{
		Summary: "The credential's image, with its own content type (image/png, image/jpeg, image/gif or image/webp).",
		Auth:    true, Content: "image/*", Errors: []int{401, 404},
	}, MaxBody, raw(s.credentialImage, http.MethodGet))
}

func (s *Server) addCredential(c *call) (int, CredentialAddedResponse, error) {
	if strings.TrimSpace(c.p.String("credential_type")) == "" || !c.p.Has("credential_image") {
		return 0, CredentialAddedResponse{}, app.ErrCredentialMissing
	}
	img, _, err := c.p.Bytes("credential_image", MaxUpload)
	if err != nil {
		return 0, CredentialAddedResponse{}, err
	}
	cr, err := s.app.AddCredential(c.ctx(), c.who, c.p.String("credential_type"), img)
	if err != nil {
		return 0, CredentialAddedResponse{}, err
	}
	return http.StatusCreated, CredentialAddedResponse{
		CredentialID:     cr.ID,
		CredentialType:   cr.Type,
		CredentialStatus: cr.Status,
		Verification:     cr.Verification,
		Problems:         cr.Problems,
		Extracted:        cr.Extracted,
	}, nil
}

func (s *Server) listCredentials(c *call) (int, CredentialsResponse, error) {
	cs, err := s.app.Credentials(c.ctx(), c.who)
	if err != nil {
		return 0, CredentialsResponse{}, err
	}
	return http.StatusOK, CredentialsResponse{Credentials: cs}, nil
}

func (s *Server) confirmCredential(c *call) (int, CredentialConfirmedResponse, error) {
	fill := false
	if v := strings.TrimSpace(c.p.String("fill_profile")); v != "" {
		var err error
		if fill, err = strconv.ParseBool(v); err != nil {
			return 0, CredentialConfirmedResponse{}, errFillProfile
		}
	}
	cr, filled, err := s.app.ConfirmCredential(c.ctx(), c.who, c.r.PathValue("credential_id"), fill)
	if err != nil {
		return 0, CredentialConfirmedResponse{}, err
	}
	return http.StatusOK, CredentialConfirmedResponse{
		CredentialID:     cr.ID,
		CredentialStatus: cr.Status,
		Verification:     cr.Verification,
		ConfirmedAt:      cr.ConfirmedAt,
		Filled:           filled,
	}, nil
}

func (s *Server) rejectCredential(c *call) (int, CredentialRejectedResponse, error) {
	id := c.r.PathValue("credential_id")
	if err := s.app.RejectCredential(c.ctx(), c.who, id); err != nil {
		return 0, CredentialRejectedResponse{}, err
	}
	return http.StatusOK, CredentialRejectedResponse{CredentialID: id}, nil
}

func (s *Server) credentialImage(w http.ResponseWriter, c *call) error {
	ct, img, err := s.app.CredentialImage(c.ctx(), c.who, c.r.PathValue("credential_id"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(img)))
	h.Set("Content-Disposition", "inline")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Write(img)
	return nil
}
