package crypto

import (
	"crypto/rand"
	"errors"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// BoxKeySize is the size of a box public key (X25519).
const BoxKeySize = 32

// TokenBoxKey derives from a token an X25519 key pair (private key by
// HKDF-SHA256 of the token, purpose-bound) and returns its public key.
// Something sealed to it with SealToToken opens only with the token: a
// record can be written for a token's holder by someone who never saw the
// token (a user approving a third party's request), and the database alone
// opens nothing.
func TokenBoxKey(token string) []byte {
	_, pub := tokenBox(token)
	return pub[:]
}

func tokenBox(token string) (priv, pub *[32]byte) {
	priv, pub = new([32]byte), new([32]byte)
	copy(priv[:], DeriveSubkey([]byte(token), "token-box"))
	p, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		// Only a low-order result fails, which a clamped scalar times the
		// base point cannot give.
		panic("crypto: x25519: " + err.Error())
	}
	copy(pub[:], p)
	return priv, pub
}

// SealToToken seals msg to a public key from TokenBoxKey (an anonymous
// NaCl sealed box: X25519, XSalsa20-Poly1305, a fresh ephemeral key).
func SealToToken(boxKey, msg []byte) ([]byte, error) {
	if len(boxKey) != BoxKeySize {
		return nil, errors.New("crypto: box key must be 32 bytes")
	}
	var pub [32]byte
	copy(pub[:], boxKey)
	return box.SealAnonymous(nil, msg, &pub, rand.Reader)
}

// OpenWithToken opens what SealToToken sealed to the token's key. It fails
// with ErrOpen, never panics.
func OpenWithToken(token string, sealed []byte) ([]byte, error) {
	priv, pub := tokenBox(token)
	if len(sealed) < box.AnonymousOverhead {
		return nil, ErrOpen
	}
	msg, ok := box.OpenAnonymous(nil, sealed, pub, priv)
	if !ok {
		return nil, ErrOpen
	}
	return msg, nil
}
