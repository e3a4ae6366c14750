package httpapi

import (
	"net/http"

	"github.com/secure-personal-profile/spp/app"
)

// registerRequests registers third parties' requests: a third party asks
// for one value and polls; the user lists, approves or denies.
func (s *Server) registerRequests() {
	s.route(api+"/requests", Doc{
		Summary: "A third party asks a user (by profile_id, or by handle) for one value; the user approves or denies it in the app. " +
			"Returns the request_id to poll with. Handles repeat: one held by several profiles answers 409 ambiguous_handle. " +
			"An optional callback_url (https, on service_id's domain or a subdomain) proves the domain: the device POSTs it a challenge " +
			"afterwards, and the requester shows as verified once the answer echoes the challenge with its HMAC-SHA256 under the request_id.",
		Params: []string{"service_id!", "info_field!", "handle", "profile_id", "callback_url"}, Success: http.StatusCreated,
		Errors: []int{400, 404, 409, 429},
	}, MaxBody, answer(s.newRequest, http.MethodPost))
	s.route(api+"/requests/{request_id}", Doc{
		Summary: "The third party polls its request: pending, approved (with the verification token), denied or expired; requester_verified says whether its callback proved its domain.",
		Errors:  []int{404},
	}, MaxBody, answer(s.pollRequest, http.MethodGet))
	s.route(api+"/profile/requests", Doc{
		Summary: "The user's requests from third parties, newest first, each with whether its requester proved a domain (requester_verified, requester_domain, requester_check, requester_problem).",
		Auth:    true, Errors: []int{401},
	}, MaxBody, answer(s.listRequests, http.MethodGet))
	s.route(api+"/profile/requests/{id}/approve", Doc{
		Summary: "Approve a request: shares what it asks for (as share-create) and hands the verification token to the third party.",
		Auth:    true, Params: []string{"expires_in"},
		Errors: []int{400, 401, 403, 404, 409, 410, 422},
	}, MaxBody, answer(s.approveRequest, http.MethodPost))
	s.route(api+"/profile/requests/{id}/deny", Doc{
		Summary: "Deny a request.",
		Auth:    true, Errors: []int{401, 404, 409, 410},
	}, MaxBody, answer(s.denyRequest, http.MethodPost))
}

func (s *Server) newRequest(c *call) (int, RequestCreatedResponse, error) {
	id, expires, err := s.app.NewRequestWith(c.ctx(), clientIP(c.r), app.RequestParams{
		ServiceID: c.p.String("service_id"), InfoField: c.p.String("info_field"),
		Handle: c.p.String("handle"), ProfileID: c.p.String("profile_id"), CallbackURL: c.p.String("callback_url"),
	})
	if err != nil {
		return 0, RequestCreatedResponse{}, err
	}
	return http.StatusCreated, RequestCreatedResponse{RequestID: id, ExpiresAt: ts(expires), PollURL: s.app.URL(api + "/requests/" + id)}, nil
}

func (s *Server) pollRequest(c *call) (int, RequestPollResponse, error) {
	v, err := s.app.PollRequest(c.ctx(), c.r.PathValue("request_id"))
	if err != nil {
		return 0, RequestPollResponse{}, err
	}
	body := RequestPollResponse{
		RequestStatus: v.State, ServiceID: v.ServiceID, InfoField: v.InfoField,
		CreatedAt: ts(v.CreatedAt), ExpiresAt: ts(v.ExpiresAt), RequesterVerified: v.RequesterVerified,
	}
	if v.VerificationToken != "" {
		body.VerificationToken, body.VerifyURL, body.ShareExpiresAt = v.VerificationToken, v.VerifyURL, ts(v.ShareExpiresAt)
	}
	return http.StatusOK, body, nil
}

func (s *Server) listRequests(c *call) (int, RequestsResponse, error) {
	rs, err := s.app.Requests(c.ctx(), c.who)
	if err != nil {
		return 0, RequestsResponse{}, err
	}
	return http.StatusOK, RequestsResponse{Requests: rs}, nil
}

func (s *Server) approveRequest(c *call) (int, RequestApprovedResponse, error) {
	ttl, err := app.ParseExpiresIn(c.p.String("expires_in"))
	if err != nil {
		return 0, RequestApprovedResponse{}, err
	}
	sh, err := s.app.ApproveRequest(c.ctx(), c.who, c.r.PathValue("id"), ttl)
	if err != nil {
		return 0, RequestApprovedResponse{}, err
	}
	return http.StatusOK, RequestApprovedResponse{ShareResponse: shareResponse(sh), RequestStatus: app.RequestApproved}, nil
}

func (s *Server) denyRequest(c *call) (int, RequestDeniedResponse, error) {
	if err := s.app.DenyRequest(c.ctx(), c.who, c.r.PathValue("id")); err != nil {
		return 0, RequestDeniedResponse{}, err
	}
	return http.StatusOK, RequestDeniedResponse{RequestStatus: app.RequestDenied}, nil
}
