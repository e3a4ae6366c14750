package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// The API's answers, one type per success body, grouped by the thing they
// serve as the handlers' files are. Member names (the json tags) are the
// contract of API.md, the legacy ones byte-exact; the OpenAPI document's
// response schemas are generated from these types (schema.go), and a test
// holds every answer to them. A member with omitempty or omitzero may be
// absent; every other member is always there (null where the tag's type
// allows it).

// Success is the status member of every successful answer: it marshals
// as "success" whatever its value, so no answer can forget it.
type Success struct{}

func (Success) MarshalJSON() ([]byte, error) { return []byte(`"success"`), nil }

// ts is the text of a time in an answer: RFC 3339 in UTC, to the second.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// tsOrNil is ts, or null for the zero time.
func tsOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

// OKResponse is the answer of an operation that says no more than that it
// succeeded.
type OKResponse struct {
	Status Success `json:"status"`
}

// Accounts and sessions (users.go, devices.go's join).

// SessionResponse answers register and login: a token for the new session.
type SessionResponse struct {
	UserID    string  `json:"user_id"`
	Token     string  `json:"token"`
	ProfileID string  `json:"profile_id"`
	Status    Success `json:"status"`
	ExpiresAt string  `json:"expires_at"`
}

func sessionResponse(a *app.Auth) SessionResponse {
	return SessionResponse{UserID: a.UserID, Token: a.Token, ProfileID: a.ProfileID, ExpiresAt: ts(a.ExpiresAt)}
}

// ChallengeResponse is a key-login challenge.
type ChallengeResponse struct {
	Status    Success `json:"status"`
	Challenge string  `json:"challenge"`
	ExpiresAt string  `json:"expires_at"`
}

// Profile fields (profile.go, updateinfo.go).

// ProfileResponse is the user's own profile.
type ProfileResponse struct {
	Status    Success                 `json:"status"`
	UserID    string                  `json:"user_id"`
	ProfileID string                  `json:"profile_id"`
	Fields    map[string]ProfileField `json:"fields"`
}

// ProfileField is one field of the profile: its value (null when unset)
// and its ring.
type ProfileField struct {
	Value json.RawMessage `json:"value"`
	Ring  string          `json:"ring"`
}

// UpdateResponse says what update-info changed and how many services
// were told.
type UpdateResponse struct {
	Status   Success  `json:"status"`
	Updated  []string `json:"updated"`
	Notified int      `json:"notified"`
}

// Rings (rings.go).

// RingResponse is the ring fields and services were moved into.
type RingResponse struct {
	Status Success `json:"status"`
	RingID string  `json:"ring_id"`
}

// RingsResponse lists the built-in and custom rings.
type RingsResponse struct {
	Status Success        `json:"status"`
	Rings  []app.RingView `json:"rings"`
}

// Shares (shares.go).

// ShareResponse is a new share: its verification token, verify URL and
// signed credential.
type ShareResponse struct {
	Status            Success `json:"status"`
	VerificationToken string  `json:"verification_token"`
	ExpiresAt         string  `json:"expires_at"`
	VerifyURL         string  `json:"verify_url"`
	Credential        string  `json:"credential"`
	ShareID           string  `json:"share_id"`
}

// appendAnswer appends the JSON of an answer whose type appends its own
// (ShareResponse alone, for now: the busiest write's), byte for byte what
// encoding/json writes of it (TestAppendedAnswersAreEncodingJSONs),
// without reflection; false: encoding/json writes it. By the exact type,
// not a method set: a type embedding one of them (RequestApprovedResponse)
// would take its method and lose its own members.
func appendAnswer(b []byte, body any) ([]byte, bool) {
	switch v := body.(type) {
	case ShareResponse:
		if b == nil {
			b = make([]byte, 0, 1024) // a credential's answer is ~900 bytes
		}
		return v.appendJSON(b), true
	}
	return b, false
}

func (r ShareResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"status":"success","verification_token":`...)
	b = app.AppendJSONString(b, r.VerificationToken)
	b = append(b, `,"expires_at":`...)
	b = app.AppendJSONString(b, r.ExpiresAt)
	b = append(b, `,"verify_url":`...)
	b = app.AppendJSONString(b, r.VerifyURL)
	b = append(b, `,"credential":`...)
	b = app.AppendJSONString(b, r.Credential)
	b = append(b, `,"share_id":`...)
	b = app.AppendJSONString(b, r.ShareID)
	return append(b, '}')
}

func shareResponse(sh *app.Share) ShareResponse {
	return ShareResponse{
		VerificationToken: sh.VerificationToken, ExpiresAt: ts(sh.ExpiresAt),
		VerifyURL: sh.VerifyURL, Credential: sh.Credential, ShareID: sh.ShareID,
	}
}

// SharedDataResponse is what a share gives its service now.
type SharedDataResponse struct {
	Status   Success                    `json:"status"`
	UserData map[string]json.RawMessage `json:"user_data"`
}

// VerifyResponse is what a third party holding a verification token gets.
type VerifyResponse struct {
	Status     Success                    `json:"status"`
	ServiceID  string                     `json:"service_id"`
	Claims     map[string]json.RawMessage `json:"claims"`
	IssuedAt   string                     `json:"issued_at"`
	ExpiresAt  string                     `json:"expires_at"`
	Credential string                     `json:"credential"`
	Issuer     string                     `json:"issuer"`
	IssuerKey  app.JWK                    `json:"issuer_key"`
}

// Third parties' requests (requests.go).

// RequestCreatedResponse is a third party's new request.
type RequestCreatedResponse struct {
	Status    Success `json:"status"`
	RequestID string  `json:"request_id"`
	ExpiresAt string  `json:"expires_at"`
	PollURL   string  `json:"poll_url"`
}

// RequestPollResponse is a request as its third party polls it; once
// approved, with the share's verification token.
type RequestPollResponse struct {
	Status            Success `json:"status"`
	RequestStatus     string  `json:"request_status"`
	ServiceID         string  `json:"service_id"`
	InfoField         string  `json:"info_field"`
	CreatedAt         string  `json:"created_at"`
	ExpiresAt         string  `json:"expires_at"`
	RequesterVerified bool    `json:"requester_verified"` // its callback_url proved its domain
	VerificationToken string  `json:"verification_token,omitempty"`
	VerifyURL         string  `json:"verify_url,omitempty"`
	ShareExpiresAt    string  `json:"share_expires_at,omitempty"`
}

// RequestsResponse lists the user's requests, newest first.
type RequestsResponse struct {
	Status   Success            `json:"status"`
	Requests []*app.RequestView `json:"requests"`
}

// RequestApprovedResponse is an approved request: the share it made.
type RequestApprovedResponse struct {
	ShareResponse
	RequestStatus string `json:"request_status"`
}

// RequestDeniedResponse is a denied request.
type RequestDeniedResponse struct {
	Status        Success `json:"status"`
	RequestStatus string  `json:"request_status"`
}

// Services and what they see (services.go).

// RevokeResponse says how many shares a revocation ended.
type RevokeResponse struct {
	Status  Success `json:"status"`
	Revoked int     `json:"revoked"`
}

// AccessResponse lists every service the user deals with.
type AccessResponse struct {
	Status   Success             `json:"status"`
	Services []app.ServiceAccess `json:"services"`
}

// ServiceResponse is a registered service with its webhook secret, shown
// this once.
type ServiceResponse struct {
	Status        Success `json:"status"`
	ServiceID     string  `json:"service_id"`
	WebhookSecret string  `json:"webhook_secret"`
}

// The public profile (public.go).

// PublicLinkResponse is the public profile's link.
type PublicLinkResponse struct {
	Status            Success `json:"status"`
	PublicProfileLink string  `json:"public_profile_link"`
}

// PublicResponse is the public profile as its page's JSON clients get it.
type PublicResponse struct {
	Status     Success                    `json:"status"`
	PublicInfo json.RawMessage            `json:"public_info"`
	Fields     map[string]json.RawMessage `json:"fields"`
}

// Credentials (credentials.go).

// CredentialAddedResponse is a new credential, pending until confirmed.
type CredentialAddedResponse struct {
	Status           Success         `json:"status"`
	CredentialID     string          `json:"credential_id"`
	CredentialType   string          `json:"credential_type"`
	CredentialStatus string          `json:"credential_status"`
	Verification     string          `json:"verification"`
	Problems         []string        `json:"problems"`
	Extracted        json.RawMessage `json:"extracted"`
}

// CredentialsResponse lists the user's credentials.
type CredentialsResponse struct {
	Status      Success           `json:"status"`
	Credentials []*app.Credential `json:"credentials"`
}

// CredentialConfirmedResponse is a confirmed credential, with the profile
// fields it filled.
type CredentialConfirmedResponse struct {
	Status           Success    `json:"status"`
	CredentialID     string     `json:"credential_id"`
	CredentialStatus string     `json:"credential_status"`
	Verification     string     `json:"verification"`
	ConfirmedAt      *time.Time `json:"confirmed_at"`
	Filled           []string   `json:"filled"`
}

// CredentialRejectedResponse names the credential deleted.
type CredentialRejectedResponse struct {
	Status       Success `json:"status"`
	CredentialID string  `json:"credential_id"`
}

// Export (export.go).

// ExportResponse is the exported profile.
type ExportResponse struct {
	ExportedData ExportedData `json:"exported_data"`
	Status       Success      `json:"status"`
}

// ExportedData is the whole profile as JSON (format json), or the
// portable encrypted container in standard base64 (format container).
type ExportedData struct {
	Profile   *app.ProfileExport
	Container []byte
}

func (d ExportedData) MarshalJSON() ([]byte, error) {
	if d.Container != nil {
		return json.Marshal(base64.StdEncoding.EncodeToString(d.Container))
	}
	return json.Marshal(d.Profile)
}

// Emergency access (emergency.go).

// EmergencySetupResponse is the emergency configuration set up or updated.
type EmergencySetupResponse struct {
	AccessID     string  `json:"access_id"`
	Status       Success `json:"status"`
	EmergencyURL string  `json:"emergency_url"`
}

// EmergencyDeletedResponse says whether there was a configuration to turn
// off.
type EmergencyDeletedResponse struct {
	Status  Success `json:"status"`
	Deleted bool    `json:"deleted"`
}

// GrantResponse is what a granted responder sees.
type GrantResponse struct {
	EmergencyInfo json.RawMessage            `json:"emergency_info"` // exactly as stored; null when none
	ProfileFields map[string]json.RawMessage `json:"profile_fields"`
	Status        Success                    `json:"status"`
	LogID         string                     `json:"log_id"`
}

func grantResponse(g *app.EmergencyGrant) GrantResponse {
	return GrantResponse{EmergencyInfo: g.EmergencyInfo, ProfileFields: g.ProfileFields(), LogID: g.LogID}
}

// EmergencyFormResponse names the emergency page's form fields, for JSON
// clients.
type EmergencyFormResponse struct {
	Status     Success  `json:"status"`
	Form       []string `json:"form"`
	Conditions []string `json:"conditions,omitempty"` // the person's: condition must name the one that applies (or "none")
}

// EmergencyLogResponse is the emergency access log, whether its hash
// chain verifies (broken_at: the first entry where it fails), and the
// grants of all the user's devices.
type EmergencyLogResponse struct {
	Status   Success             `json:"status"`
	Entries  []EmergencyLogEntry `json:"entries"`
	Verified bool                `json:"verified"`
	BrokenAt *int64              `json:"broken_at,omitempty"`
	Grants   []map[string]string `json:"grants"`
}

// EmergencyLogEntry is one entry of the log: its place in the chain, and
// what it records unless it could not be opened (unreadable).
type EmergencyLogEntry struct {
	Seq        int64  `json:"seq"`
	At         string `json:"at"` // RFC 3339 with nanoseconds
	Hash       string `json:"hash"`
	PrevHash   string `json:"prev_hash"`
	Unreadable bool   `json:"unreadable,omitempty"`
	*EmergencyLogRecord
}

// EmergencyLogRecord is what a readable entry records.
type EmergencyLogRecord struct {
	LogID                 string `json:"log_id"`
	ResponderID           string `json:"responder_id"`
	Reason                string `json:"reason"`
	Condition             string `json:"condition,omitempty"` // the person's condition the responder confirmed
	Client                string `json:"client"`
	Via                   string `json:"via"`
	Outcome               string `json:"outcome"`
	ResponderVerified     bool   `json:"responder_verified"`
	Salt                  string `json:"salt"`
	ResponderName         string `json:"responder_name,omitempty"`
	ResponderOrganization string `json:"responder_organization,omitempty"`
}

// Health records and links (health.go).

// RecordResponse names the health record added or replaced.
type RecordResponse struct {
	RecordID  string   `json:"record_id"`
	RecordIDs []string `json:"record_ids,omitempty" doc:"every record added, for FHIR input (a Bundle adds one per entry)"`
	Status    Success  `json:"status"`
}

// RecordsResponse lists health records.
type RecordsResponse struct {
	Status        Success             `json:"status"`
	HealthRecords []*app.HealthRecord `json:"health_records"`
}

// LinkResponse is a new health link.
type LinkResponse struct {
	AccessLink string  `json:"access_link"`
	SHLink     string  `json:"shlink,omitempty" doc:"the SMART Health Link (shlink:/…); absent for link_format=page"`
	Status     Success `json:"status"`
	ExpiresAt  string  `json:"expires_at"`
	LinkID     string  `json:"link_id"`
}

// LinksResponse lists the user's health links.
type LinksResponse struct {
	Status Success               `json:"status"`
	Links  []*app.HealthLinkInfo `json:"links"`
}

// LinkPageResponse is what the doctor's page shows, for JSON clients.
type LinkPageResponse struct {
	Status        Success             `json:"status"`
	LinkID        string              `json:"link_id"`
	HealthRecords []*app.HealthRecord `json:"health_records"`
	ExpiresAt     string              `json:"expires_at"`
}

// Devices (devices.go).

// PairCodeResponse is a one-time pairing code.
type PairCodeResponse struct {
	Status    Success `json:"status"`
	Code      string  `json:"code"`
	ExpiresAt string  `json:"expires_at"`
}

// JoinResponse is the session of a device that joined, and its id.
type JoinResponse struct {
	SessionResponse
	DeviceID string `json:"device_id"`
}

// DevicesResponse lists the user's paired devices.
type DevicesResponse struct {
	Status  Success      `json:"status"`
	Devices []DeviceInfo `json:"devices"`
}

// DeviceInfo is one paired device; added_at and last_sync are null when
// unknown or never.
type DeviceInfo struct {
	DeviceID  string  `json:"device_id"`
	PeerID    string  `json:"peer_id"`
	Name      string  `json:"name"`
	AddedAt   *string `json:"added_at"`
	LastSync  *string `json:"last_sync"`
	Current   bool    `json:"current"`
	Connected bool    `json:"connected"`
}

// The outbox (outbox.go).

// OutboxResponse lists the user's outbox.
type OutboxResponse struct {
	Status   Success           `json:"status"`
	Messages []app.OutboxEntry `json:"messages"`
}

// ShareStateResponse is a share's live state (GET /verify-status/{id}).
type ShareStateResponse struct {
	Status Success `json:"status"`
	State  string  `json:"state"` // active | revoked | expired
}

// SettingsResponse is the profile's settings as this device applies them.
type SettingsResponse struct {
	Status          Success `json:"status"`
	PublicURL       string  `json:"public_url"`
	PublicURLSource string  `json:"public_url_source"` // profile | flag | default
	Reachable       string  `json:"reachable"`         // anyone | local-network | this-device
}

// HealthResponse is the liveness check; with a nonce and a profile's
// did:key it carries this node's proof that it serves that profile.
type HealthResponse struct {
	Status Success `json:"status"`
	// Proof: the profile key's Ed25519 signature (base64url) of
	// "spp/healthz/v1", NUL, the nonce; absent when not asked or when
	// this node does not hold that profile.
	Proof string `json:"proof,omitempty"`
}
