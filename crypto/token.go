package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// TokenBytes is the entropy of every token: 256 bits.
const TokenBytes = 32

// NewToken returns a fresh random token, 256 bits in unpadded base64url.
func NewToken() (string, error) {
	b := make([]byte, TokenBytes)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("crypto: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// timePrefix is the length of a timed token's time: unix milliseconds,
// 48 bits big-endian (until the year 10889).
const timePrefix = 6

// timedTokenLen is a timed token's length in characters.
var timedTokenLen = base64.RawURLEncoding.EncodedLen(timePrefix + TokenBytes)

// NewTimedToken returns a fresh token that starts with the time it was
// made: 6 bytes of unix milliseconds (big-endian), then TokenBytes random
// bytes, in unpadded base64url (51 characters). Its secret is the random
// part, as large as NewToken's; the time is no secret (it is the issue
// time the token answers with). Its TokenIndex starts with that time, so
// a store's index of such tokens grows at its right edge instead of
// taking a random page for each new token.
func NewTimedToken(at time.Time) (string, error) {
	b := make([]byte, timePrefix+TokenBytes)
	ms := max(at.UnixMilli(), 0)
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], uint64(ms))
	copy(b, be[8-timePrefix:])
	if _, err := io.ReadFull(rand.Reader, b[timePrefix:]); err != nil {
		return "", fmt.Errorf("crypto: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenIndex is the value a token is found by where it opens something
// (a capability's token_hash): for a timed token (NewTimedToken) its time
// prefix followed by HashToken, for any other string HashToken alone.
// The two forms differ in length, so no token has two: one index holds
// both, and a token is looked up with one probe.
func TokenIndex(token string) []byte {
	h := HashToken(token)
	if len(token) != timedTokenLen {
		return h
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return h
	}
	return append(b[:timePrefix:timePrefix], h...)
}

// HashToken is the SHA-256 of a token: the only form in which a token is
// stored, after its time for a timed token (TokenIndex).
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenKey derives from a token the key that wraps what the token may open
// (a session's copy of the data key, a share's reading key). It is
// independent of HashToken: knowing the stored hash gives no key.
func TokenKey(token string) []byte { return DeriveSubkey([]byte(token), "token-key") }
