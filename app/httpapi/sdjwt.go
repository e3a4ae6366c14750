package httpapi

import (
	"net/http"
	"strings"

	"github.com/secure-personal-profile/spp/app"
)

// registerSDJWT registers what a verifier of SD-JWT VC shares resolves
// (API.md Part 4, "Shares in the wallet ecosystem's format"): the issuer
// metadata at {public_url}/.well-known/jwt-vc-issuer and the type
// metadata of the shares' vct.
func (s *Server) registerSDJWT() {
	s.route(app.IssuerMetadataPath, Doc{
		Summary: "SD-JWT VC issuer metadata (no token): the issuer (the public URL the request names) and the JWKS " +
			"of every profile this node serves under it. Outside /api/v1: {public_url}/.well-known/jwt-vc-issuer.",
		Errors: []int{404},
	}, MaxBody, answer(s.issuerMetadata, http.MethodGet))
	s.route(api+"/vct/profile-claim", Doc{
		Summary: "SD-JWT VC type metadata (no token) of a share's vct: name, description, display and the claims it may disclose.",
	}, MaxBody, answer(s.typeMetadata, http.MethodGet))
}

// IssuerMetadataResponse is SD-JWT VC issuer metadata
// (draft-ietf-oauth-sd-jwt-vc): issuer and jwks, plus our status member.
type IssuerMetadataResponse struct {
	Status Success `json:"status"`
	app.IssuerMetadata
}

// TypeMetadataResponse is SD-JWT VC type metadata, plus our status member.
type TypeMetadataResponse struct {
	Status Success `json:"status"`
	app.TypeMetadata
}

func (s *Server) issuerMetadata(c *call) (int, IssuerMetadataResponse, error) {
	m, err := s.app.IssuerMetadataFor(c.ctx(), c.r.Host)
	if err != nil {
		return 0, IssuerMetadataResponse{}, err
	}
	return http.StatusOK, IssuerMetadataResponse{IssuerMetadata: *m}, nil
}

func (s *Server) typeMetadata(c *call) (int, TypeMetadataResponse, error) {
	// The vct is the URL it was fetched at: the public URL the request
	// names, where that is a profile's, else this device's.
	base := strings.TrimRight(s.app.Config().PublicURL, "/")
	if m, err := s.app.IssuerMetadataFor(c.ctx(), c.r.Host); err == nil {
		base = m.Issuer
	}
	return http.StatusOK, TypeMetadataResponse{TypeMetadata: *app.ProfileClaimType(base)}, nil
}
