package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/secure-personal-profile/spp/crypto"
)

// SMART Health Links (HL7 SMART Health Cards and Links IG 1.0; API.md
// Part 4 "Doctors: SMART Health Links with FHIR"). A link made with one
// has a random 256-bit SHL key, which is only in the shlink (the doctor's
// hands) and, sealed under the data key, in the user's link record, so
// the user can show it again. The device that derives the link's view
// (deriveLinks, on the write path, with the data key) encrypts the FHIR
// Bundle of the chosen records under the SHL key as a compact JWE (dir,
// A256GCM, through go-jose; a fresh IV on every encryption) and the view
// holds only that file and its hash, sealed under the token (and the
// passcode) like every link view. So the host that answers the manifest
// checks the passcode (the view opens) and hands out the encrypted file,
// and never holds the data key nor the SHL key; the L flag holds because
// every change to a shown record re-derives the view.
//
//	health_link/{id}: shl_key (sealed: the 32-byte SHL key), shl_label
//	    (sealed) — besides the cells of health_links.go
const (
	shlManifestPath = "/api/v1/shl/"      // + the link's token: the manifest URL
	shlFilePath     = "/api/v1/shl-file/" // + a ticket: a location file
	shlViewerPath   = "/shl"              // the viewer page: #shlink:/…
	shlContentType  = "application/fhir+json"
	// SHLLocationTTL is how long a location URL of a manifest answer
	// lives.
	SHLLocationTTL = time.Hour
	maxRecipient   = 256
	purposeSHLFile = "shl-location-ticket"
)

// LinkPasscodeMissing is the logged outcome of a manifest request
// without the passcode the link asks for (not counted as a wrong one).
const LinkPasscodeMissing = "passcode_required"

var (
	errSHLNotFound  = E(KindNotFound, "unknown_link", "the SMART Health Link is not active!")
	errSHLRecipient = E(KindInvalid, "missing_parameter", "recipient must exist!")
)

// shlFile is one file of a link's view: the compact JWE and its SHA-256.
type shlFile struct {
	ContentType string `json:"content_type"`
	JWE         string `json:"jwe"`
	Hash        string `json:"sha256"`
}

// SHLPayload is what a shlink carries (base64url JSON after "shlink:/").
type SHLPayload struct {
	URL   string `json:"url"`
	Key   string `json:"key"`
	Exp   int64  `json:"exp,omitempty"`
	Flag  string `json:"flag,omitempty"`
	Label string `json:"label,omitempty"`
	V     int    `json:"v"`
}

// newSHLKey is a random 256-bit SHL key.
func newSHLKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// shlLabel is the link's label (at most 80 characters).
func shlLabel(name string) string {
	l := "Shared health records"
	if name != "" {
		l = "Health records of " + name
	}
	if r := []rune(l); len(r) > 80 {
		l = string(r[:80])
	}
	return l
}

// accessLink is the address of a link: for a SMART Health Link the viewer
// page with the shlink in its fragment (and the shlink), else the old
// page's.
func (a *core) accessLink(ctx context.Context, userID string, l *linkState) (access, shlink string) {
	if l.shlKey == nil {
		return a.linkURL(ctx, userID, l.token), ""
	}
	flag := "L"
	if l.passcode != nil {
		flag += "P"
	}
	p := SHLPayload{
		URL: a.userURL(ctx, userID, shlManifestPath+l.token), Key: base64.RawURLEncoding.EncodeToString(l.shlKey),
		Exp: l.expiresAt.Unix(), Flag: flag, Label: l.label, V: 1,
	}
	b, _ := json.Marshal(p)
	shlink = "shlink:/" + base64.RawURLEncoding.EncodeToString(b)
	return a.userURL(ctx, userID, shlViewerPath+"#"+shlink), shlink
}

// EncryptSHLFile encrypts a file under an SHL key as a compact JWE (alg
// dir, enc A256GCM, cty the content type); every call draws a fresh IV.
func EncryptSHLFile(key, plaintext []byte, contentType string) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: key},
		(&jose.EncrypterOptions{}).WithContentType(jose.ContentType(contentType)))
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// shlView is the view of a SMART Health Link: the Bundle of the chosen
// records, encrypted under the SHL key.
func shlView(tx Tx, l *linkState, recs []*HealthRecord, now time.Time) (*linkView, error) {
	patient, err := patientOf(tx, l.id)
	if err != nil {
		return nil, err
	}
	bundle, err := FHIRBundle(recs, patient, now)
	if err != nil {
		return nil, err
	}
	jwe, err := EncryptSHLFile(l.shlKey, bundle, shlContentType)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(jwe))
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return &linkView{
		SHL: true, ExpiresAt: l.expiresAt, RecordIDs: ids, Records: []*HealthRecord{},
		Files: []shlFile{{ContentType: shlContentType, JWE: jwe, Hash: base64.RawURLEncoding.EncodeToString(h[:])}},
	}, nil
}

// SHLManifestRequest is a manifest request (POST to the manifest URL).
type SHLManifestRequest struct {
	Token             string
	Recipient         string
	Passcode          string
	EmbeddedLengthMax *int // nil: every file embedded
	Client            string
	UserAgent         string
}

// SHLManifestFile is one file of a manifest: embedded or by location.
type SHLManifestFile struct {
	ContentType string `json:"contentType"`
	Embedded    string `json:"embedded,omitempty"`
	Location    string `json:"location,omitempty"`
}

// SHLPasscodeError is a manifest request's missing or wrong passcode,
// with the attempts left before the link dies.
type SHLPasscodeError struct {
	Err       *Error
	Remaining int
}

func (e *SHLPasscodeError) Error() string { return e.Err.Error() }
func (e *SHLPasscodeError) Unwrap() error { return e.Err }

// SHLManifest answers a manifest request: the link's files, each
// embedded, or by a location URL that lives SHLLocationTTL where it is
// longer than EmbeddedLengthMax. An unknown, expired, revoked or locked
// link is 404; a missing or wrong passcode a SHLPasscodeError (401);
// the link dies after LinkPasscodeTries wrong ones. Every request is
// logged for the user with its recipient.
func (a *HealthService) SHLManifest(ctx context.Context, req SHLManifestRequest) ([]SHLManifestFile, error) {
	if len(req.Token) > 128 {
		return nil, errSHLNotFound
	}
	c, err := a.capabilityByToken(ctx, CapLink, req.Token)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errSHLNotFound
		}
		return nil, Internal(err)
	}
	if linkAlive(c) != nil {
		return nil, errSHLNotFound
	}
	req.Recipient = strings.TrimSpace(req.Recipient)
	if req.Recipient == "" {
		return nil, errSHLRecipient
	}
	if r := []rune(req.Recipient); len(r) > maxRecipient {
		req.Recipient = string(r[:maxRecipient])
	}
	open := LinkOpen{Token: req.Token, Passcode: req.Passcode, Client: req.Client, UserAgent: req.UserAgent, Recipient: req.Recipient}
	key := viewKey(req.Token, nil)
	if c.KDF != "" {
		if req.Passcode == "" {
			if err := a.logOpening(ctx, c, open, LinkPasscodeMissing, nil); err != nil {
				return nil, Internal(err)
			}
			return nil, &SHLPasscodeError{Err: errPasscodeMissingSHL, Remaining: max(0, LinkPasscodeTries-c.Failures)}
		}
		mu := linkLock(c.ID)
		mu.Lock()
		var remaining int
		key, remaining, err = a.checkPasscode(ctx, c, open)
		mu.Unlock()
		var code string
		if err != nil {
			code = AsError(err).Code
		}
		switch {
		case code == "":
		case code == errPasscodeWrong.Code || (code == errLinkLocked.Code && remaining == 0):
			// The tenth wrong one answers 401 with none left; the
			// next request finds the link dead.
			return nil, &SHLPasscodeError{Err: errPasscodeWrongSHL, Remaining: remaining}
		case code == errLinkLocked.Code || code == errLinkExpired.Code || code == errLinkRevoked.Code:
			return nil, errSHLNotFound
		default:
			return nil, err
		}
	}
	var v linkView
	if err := openView(key, c, &v); err != nil {
		return nil, Internal(fmt.Errorf("opening link view: %w", err))
	}
	if !v.SHL {
		return nil, errSHLNotFound // a link made before: its own page
	}
	out := make([]SHLManifestFile, 0, len(v.Files))
	for i, f := range v.Files {
		if req.EmbeddedLengthMax == nil || len(f.JWE) <= *req.EmbeddedLengthMax {
			out = append(out, SHLManifestFile{ContentType: f.ContentType, Embedded: f.JWE})
			continue
		}
		ticket, err := a.shlTicket(c, key, i)
		if err != nil {
			return nil, Internal(err)
		}
		out = append(out, SHLManifestFile{ContentType: f.ContentType, Location: a.userURL(ctx, c.UserID, shlFilePath+ticket)})
	}
	if err := a.logOpening(ctx, c, open, LinkOpened, v.RecordIDs); err != nil {
		return nil, Internal(err)
	}
	return out, nil
}

var (
	errPasscodeMissingSHL = E(KindUnauthorized, "passcode_required", "passcode must exist!")
	errPasscodeWrongSHL   = E(KindUnauthorized, "wrong_passcode", "passcode is wrong!")
)

// shlTicketBody is what a location URL's ticket carries, sealed under a
// key of this installation: which link, the key of its view, which file,
// until when.
type shlTicketBody struct {
	Hash []byte `json:"h"`
	Key  []byte `json:"k"`
	File int    `json:"i"`
	Exp  int64  `json:"e"`
}

func (a *core) shlTicketKey() []byte {
	return crypto.DeriveSubkey(a.store.InstallationKey(), purposeSHLFile)
}

func (a *core) shlTicket(c *Capability, viewKey []byte, file int) (string, error) {
	b, err := json.Marshal(shlTicketBody{Hash: c.TokenHash, Key: viewKey, File: file, Exp: a.now().Add(SHLLocationTTL).UnixMilli()})
	if err != nil {
		return "", err
	}
	sealed, err := crypto.Seal(a.shlTicketKey(), b, []byte(purposeSHLFile))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// SHLFile answers a location URL: the file, while the URL lives and the
// link is active; else 404.
func (a *HealthService) SHLFile(ctx context.Context, ticket string) (string, error) {
	if len(ticket) > 1024 {
		return "", errSHLNotFound
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ticket)
	if err != nil {
		return "", errSHLNotFound
	}
	b, err := crypto.Open(a.shlTicketKey(), sealed, []byte(purposeSHLFile))
	if err != nil {
		return "", errSHLNotFound
	}
	var t shlTicketBody
	if json.Unmarshal(b, &t) != nil || !a.now().Before(time.UnixMilli(t.Exp)) {
		return "", errSHLNotFound
	}
	c, err := a.store.CapabilityByHash(ctx, t.Hash)
	if errors.Is(err, ErrNotFound) {
		return "", errSHLNotFound
	}
	if err != nil {
		return "", Internal(err)
	}
	if c.Kind != CapLink || linkAlive(c) != nil || (!c.ExpiresAt.IsZero() && !a.now().Before(c.ExpiresAt)) {
		return "", errSHLNotFound
	}
	var v linkView
	if openView(t.Key, c, &v) != nil || t.File < 0 || t.File >= len(v.Files) {
		return "", errSHLNotFound
	}
	return v.Files[t.File].JWE, nil
}
