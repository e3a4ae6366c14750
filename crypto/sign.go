package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// NewSigningKey returns a fresh Ed25519 key pair.
func NewSigningKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: generating ed25519 key: %w", err)
	}
	return pub, priv, nil
}

// ErrPrivateKey is returned by ParsePublicKey when the text holds a private key.
var ErrPrivateKey = errors.New("crypto: text contains a private key")

// ErrNotEd25519 is returned by ParsePublicKey when the text is not an
// Ed25519 public key in a known form.
var ErrNotEd25519 = errors.New("crypto: not an ed25519 public key")

// ParsePublicKey reads an Ed25519 public key given as raw base64 (standard
// or URL alphabet), PEM (PKIX "PUBLIC KEY") or OpenSSH authorized-key form.
// Text that holds a private key in any of those forms gives ErrPrivateKey.
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(text)
	if strings.Contains(s, "PRIVATE KEY") {
		return nil, ErrPrivateKey
	}
	if block, _ := pem.Decode([]byte(s)); block != nil {
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, ErrNotEd25519
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, ErrNotEd25519
		}
		return pub, nil
	}
	if strings.HasPrefix(s, "ssh-") {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
		// A FIDO key (sk-ssh-ed25519@openssh.com) also holds an Ed25519
		// point, but it signs a different message: it is no Ed25519 key.
		// ParseAuthorizedKey returns one when a leading "ssh-..." token is
		// read as an option, so check the type and not only the point.
		if err != nil || k.Type() != ssh.KeyAlgoED25519 {
			return nil, ErrNotEd25519
		}
		ck, ok := k.(ssh.CryptoPublicKey)
		if !ok {
			return nil, ErrNotEd25519
		}
		pub, ok := ck.CryptoPublicKey().(ed25519.PublicKey)
		if !ok {
			return nil, ErrNotEd25519
		}
		return pub, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		switch len(b) {
		case ed25519.PublicKeySize:
			return ed25519.PublicKey(b), nil
		case ed25519.PrivateKeySize: // seed || public key: a private key
			return nil, ErrPrivateKey
		}
	}
	return nil, ErrNotEd25519
}

// Verify reports whether sig is pub's Ed25519 signature of msg.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}
