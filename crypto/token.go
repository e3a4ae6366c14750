package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
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

// HashToken is the SHA-256 of a token: the only form in which a token is
// stored.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenKey derives from a token the key that wraps what the token may open
// (a session's copy of the data key, a share's reading key). It is
// independent of HashToken: knowing the stored hash gives no key.
func TokenKey(token string) []byte { return DeriveSubkey([]byte(token), "token-key") }
