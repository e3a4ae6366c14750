package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secure-personal-profile/spp/crypto"
)

// A profile container is the portable, encrypted form of a whole profile
// (POST /profile/export with format=container; `spp import` restores it).
// Layout, version 1:
//
//	"SPPC"          4 bytes  magic
//	version         1 byte   1
//	header length   2 bytes  big-endian, 1 … containerMaxHeader
//	header          JSON     {"cipher", "content", "kdf", "created_at"}
//	payload         rest     crypto.Seal(key, snapshot JSON, AD)
//
// key is Argon2id (crypto.DeriveKey) of the passphrase with the parameters
// and salt the header names; AD is every byte before the payload (magic,
// version, length and header), so no part of the header can be changed
// without the payload failing to open. The snapshot is every cell of the
// user (keys included), the data key and the account's identity.
const (
	containerMagic     = "SPPC"
	containerVersion   = 1
	containerMaxHeader = 4096
	containerCipher    = "xchacha20-poly1305"
	// containerContent is what a container holds. v=2: its shares may
	// carry timed tokens (crypto.TokenIndex), which an installation that
	// reads only v=1 would look up by SHA-256 alone, a form another account
	// there could take (docs/sync.md, version 3): such an installation
	// refuses a v=2 container. v=3: a share may be one cell (its record in
	// its token_hash cell), which one that reads only v=2 would not take
	// for a share (docs/sync.md, version 4). v=1 and v=2 are still read.
	containerContent = "spp-profile-snapshot+json;v=3"
)

// containerContentsRead are the contents this installation reads.
var containerContentsRead = []string{containerContent, "spp-profile-snapshot+json;v=2", "spp-profile-snapshot+json;v=1"}

const (
	// MaxContainer caps a container's size in bytes (its base64 or JSON
	// form may be up to twice that).
	MaxContainer = 512 << 20
	// maxContainerKDFMemory caps the Argon2id memory a container may ask
	// for (KiB): a container from elsewhere must not exhaust this device.
	maxContainerKDFMemory = 1 << 20
	maxContainerKDFTime   = 16
)

// containerHeader is a container's clear, authenticated header.
type containerHeader struct {
	Cipher    string    `json:"cipher"`
	Content   string    `json:"content"`
	KDF       string    `json:"kdf"` // crypto.KDFParams.String(): parameters and salt
	CreatedAt time.Time `json:"created_at"`
}

// snapshot is what a container's payload holds: everything needed to
// restore the profile as a working account on another device.
type snapshot struct {
	UserID    string         `json:"user_id"`
	ProfileID string         `json:"profile_id"`
	Email     string         `json:"email"`
	Handle    string         `json:"handle,omitempty"`
	LoginKey  []byte         `json:"login_key,omitempty"` // Ed25519 public key for key login
	DEK       []byte         `json:"dek"`
	CreatedAt time.Time      `json:"created_at"`
	Cells     []snapshotCell `json:"cells"`
}

// snapshotCell is one cell: Sealed values are re-sealed under the data key
// on import; the others are written clear as they were.
type snapshotCell struct {
	Entity string `json:"entity"`
	ID     string `json:"id"`
	Field  string `json:"field"`
	Sealed bool   `json:"sealed"`
	Data   []byte `json:"data"`
	// Clear is a sealed cell's clear part, when it has one as well (a
	// share's token_hash: its token's index beside its record; v=3).
	Clear []byte `json:"clear,omitempty"`
}

var (
	errContainerFormat = E(KindInvalid, "invalid_container", "not a profile container!")
	errContainerOpen   = E(KindInvalid, "container_unreadable", "the passphrase is wrong or the container is damaged!")
	errContainerCost   = E(KindInvalid, "invalid_container", "the container asks for too costly a key derivation!")
)

// sealContainer encrypts s under a key derived from passphrase with kdf
// (whose salt is fresh).
func sealContainer(s *snapshot, passphrase string, kdf crypto.KDFParams, now time.Time) ([]byte, error) {
	return sealContainerAs(containerContent, s, passphrase, kdf, now)
}

// sealContainerAs is sealContainer with the header naming content.
func sealContainerAs(content string, s *snapshot, passphrase string, kdf crypto.KDFParams, now time.Time) ([]byte, error) {
	kdf, err := crypto.NewKDFParams(kdf)
	if err != nil {
		return nil, err
	}
	key, err := deriveKey(context.Background(), []byte(passphrase), kdf)
	if err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(containerHeader{Cipher: containerCipher, Content: content, KDF: kdf.String(), CreatedAt: now.UTC()})
	if err != nil {
		return nil, err
	}
	if len(hdr) > containerMaxHeader {
		return nil, errors.New("container header too long")
	}
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	ad := make([]byte, 0, 7+len(hdr))
	ad = append(ad, containerMagic...)
	ad = append(ad, containerVersion)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(hdr)))
	ad = append(ad, hdr...)
	sealed, err := crypto.Seal(key, body, ad)
	if err != nil {
		return nil, err
	}
	return append(ad, sealed...), nil
}

// parseContainer reads a container's header without opening it: it needs
// no passphrase and derives no key. n is the header's end (the AD's length).
func parseContainer(b []byte) (h *containerHeader, kdf crypto.KDFParams, n int, err error) {
	if len(b) < 7 || string(b[:4]) != containerMagic {
		return nil, kdf, 0, errContainerFormat
	}
	if b[4] != containerVersion {
		return nil, kdf, 0, E(KindInvalid, "invalid_container", fmt.Sprintf("container version %d is not supported!", b[4]))
	}
	hl := int(binary.BigEndian.Uint16(b[5:7]))
	if hl == 0 || hl > containerMaxHeader || len(b) < 7+hl {
		return nil, kdf, 0, errContainerFormat
	}
	h = &containerHeader{}
	if err := json.Unmarshal(b[7:7+hl], h); err != nil {
		return nil, kdf, 0, errContainerFormat
	}
	if h.Cipher != containerCipher || !slices.Contains(containerContentsRead, h.Content) {
		return nil, kdf, 0, errContainerFormat
	}
	kdf, err = crypto.ParseKDFParams(h.KDF)
	if err != nil {
		return nil, kdf, 0, errContainerFormat
	}
	return h, kdf, 7 + hl, nil
}

// openContainer derives the key (refusing a derivation above maxMemory KiB
// or maxContainerKDFTime passes), opens the payload and checks the snapshot.
func openContainer(b []byte, passphrase string, maxMemory uint32) (*snapshot, error) {
	_, kdf, n, err := parseContainer(b)
	if err != nil {
		return nil, err
	}
	if kdf.Memory > maxMemory || kdf.Time > maxContainerKDFTime {
		return nil, errContainerCost
	}
	key, err := deriveKey(context.Background(), []byte(passphrase), kdf)
	if err != nil {
		return nil, errContainerFormat
	}
	body, err := crypto.Open(key, b[n:], b[:n])
	if err != nil {
		return nil, errContainerOpen
	}
	var s snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, errContainerFormat
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// check refuses a snapshot that could not be restored as it is.
func (s *snapshot) check() error {
	if !ValidUUID(s.UserID) || !ValidUUID(s.ProfileID) || len(s.DEK) != crypto.KeySize {
		return errContainerFormat
	}
	if s.LoginKey != nil && len(s.LoginKey) != 32 {
		return errContainerFormat
	}
	for _, c := range s.Cells {
		if !idOK(c.Entity) || !idOK(c.ID) || !idOK(c.Field) {
			return errContainerFormat
		}
		if c.Clear != nil && !oneCellShare(c) {
			return errContainerFormat
		}
	}
	return nil
}

// oneCellShare reports whether a cell with both parts is what this app
// writes with both: a share's token_hash, its clear part the index of the
// token its record names. No other cell has a clear part beside a sealed
// value (one would keep bytes in clear that no export shows).
func oneCellShare(c snapshotCell) bool {
	if !c.Sealed || !ClearBesideSealed(c.Entity, c.Field) {
		return false
	}
	var rec shareData
	return json.Unmarshal(c.Data, &rec) == nil && rec.Token != "" && bytes.Equal(c.Clear, crypto.TokenIndex(rec.Token))
}

// idOK: a non-empty, bounded UTF-8 name without NUL (names are joined with
// NUL in the associated data of sealed cells).
func idOK(s string) bool {
	return s != "" && len(s) <= 512 && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// DecodeContainer accepts a container in any form a user may hold it in:
// the raw bytes, their base64 (standard or URL alphabet, padded or not,
// line-wrapped), or the JSON answer of POST /profile/export with the
// base64 in exported_data. It returns the raw container bytes.
func DecodeContainer(b []byte) ([]byte, error) {
	tooLarge := E(KindTooLarge, "container_too_large", "the container is too large!")
	if len(b) > MaxContainer*2 {
		return nil, tooLarge
	}
	if bytes.HasPrefix(b, []byte(containerMagic)) {
		if len(b) > MaxContainer {
			return nil, tooLarge
		}
		return b, nil
	}
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] == '{' {
		var r struct {
			ExportedData string `json:"exported_data"`
		}
		if json.Unmarshal(t, &r) != nil || r.ExportedData == "" {
			return nil, errContainerFormat
		}
		t = []byte(strings.TrimSpace(r.ExportedData))
	}
	t = bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, t)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(string(t)); err == nil && bytes.HasPrefix(raw, []byte(containerMagic)) {
			if len(raw) > MaxContainer {
				return nil, tooLarge
			}
			return raw, nil
		}
	}
	return nil, errContainerFormat
}
