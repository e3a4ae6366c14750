// Package crypto holds every cryptographic operation of Secure Personal
// Profile: key derivation (Argon2id), sealing (XChaCha20-Poly1305 with
// associated data), key wrapping, signing keys (Ed25519), tokens and keyed
// hashes. It uses only the standard library and golang.org/x/crypto.
package crypto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// KeySize is the size in bytes of every symmetric key.
const KeySize = 32

// sealVersion prefixes every sealed value so the format can change later.
const sealVersion byte = 1

var (
	// ErrOpen is returned when a sealed value cannot be opened: wrong key,
	// wrong associated data, or tampered bytes.
	ErrOpen = errors.New("crypto: message authentication failed")
	// ErrMalformed is returned for input too short or of an unknown version.
	ErrMalformed = errors.New("crypto: malformed sealed value")
	// ErrKeySize is returned when a key is not KeySize bytes long.
	ErrKeySize = errors.New("crypto: key must be 32 bytes")
)

// NewKey returns a fresh random 256-bit key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, fmt.Errorf("crypto: reading randomness: %w", err)
	}
	return k, nil
}

// Seal encrypts plaintext under key with XChaCha20-Poly1305 and a random
// nonce, binding ad (associated data) so the result opens only with the same
// ad. Output: version byte || nonce || ciphertext+tag.
func Seal(key, plaintext, ad []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(rand.Reader, out[1:]); err != nil {
		return nil, fmt.Errorf("crypto: reading randomness: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, ad), nil
}

// Open reverses Seal. It fails with ErrMalformed or ErrOpen, never panics.
func Open(key, sealed, ad []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrMalformed
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

func newAEAD(key []byte) (interface {
	NonceSize() int
	Overhead() int
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	return chacha20poly1305.NewX(key)
}

// Wrap seals a key under a key-encryption key; purpose is bound as
// associated data ("dek/password/<user>", "dek/session/<hash>", …).
func Wrap(kek, key []byte, purpose string) ([]byte, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	return Seal(kek, key, []byte("wrap:"+purpose))
}

// Unwrap reverses Wrap.
func Unwrap(kek, wrapped []byte, purpose string) ([]byte, error) {
	k, err := Open(kek, wrapped, []byte("wrap:"+purpose))
	if err != nil {
		return nil, err
	}
	if len(k) != KeySize {
		return nil, ErrMalformed
	}
	return k, nil
}

// DeriveSubkey derives a purpose-bound key from high-entropy input key
// material (a token, a pairing secret) with HKDF-SHA256.
func DeriveSubkey(ikm []byte, purpose string) []byte {
	k := make([]byte, KeySize)
	r := hkdf.New(sha256.New, ikm, nil, []byte("spp/v1/"+purpose))
	if _, err := io.ReadFull(r, k); err != nil {
		// HKDF-SHA256 can give 255*32 bytes; 32 never fails.
		panic("crypto: hkdf: " + err.Error())
	}
	return k
}

// KeyedHash is HMAC-SHA256 of data under key: a lookup key for a value
// (such as an e-mail address) that must be found without being stored.
func KeyedHash(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// Equal compares two byte strings in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// KDFParams are Argon2id's parameters, stored beside each salt so they can
// be raised later without breaking existing records.
type KDFParams struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
	Salt    []byte
}

// DefaultKDF is at least Bitwarden's default: 64 MiB, 3 passes, 4 lanes.
var DefaultKDF = KDFParams{Time: 3, Memory: 64 * 1024, Threads: 4}

// Upper bounds on Argon2id's cost: parameters read back from storage or
// another device must not be able to exhaust memory or time.
const (
	MaxKDFMemory  = 2 << 20 // KiB: 2 GiB
	MaxKDFTime    = 32
	MaxKDFThreads = 64
)

func (p KDFParams) usable() bool {
	return p.Time >= 1 && p.Time <= MaxKDFTime && p.Threads >= 1 && p.Threads <= MaxKDFThreads &&
		p.Memory >= 8*uint32(p.Threads) && p.Memory <= MaxKDFMemory && len(p.Salt) >= 8
}

// NewKDFParams returns p with a fresh random 16-byte salt.
func NewKDFParams(p KDFParams) (KDFParams, error) {
	p.Salt = make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, p.Salt); err != nil {
		return KDFParams{}, fmt.Errorf("crypto: reading randomness: %w", err)
	}
	return p, nil
}

// DeriveKey derives a KeySize key from a password with Argon2id.
func DeriveKey(password []byte, p KDFParams) ([]byte, error) {
	if !p.usable() {
		return nil, errors.New("crypto: unusable argon2id parameters")
	}
	return argon2.IDKey(password, p.Salt, p.Time, p.Memory, p.Threads, KeySize), nil
}

// String encodes the parameters in the PHC-like form
// "argon2id$v=19$m=65536,t=3,p=4$<salt base64>".
func (p KDFParams) String() string {
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(p.Salt))
}

// ParseKDFParams parses what String produced.
func ParseKDFParams(s string) (KDFParams, error) {
	bad := func(why string) (KDFParams, error) {
		return KDFParams{}, fmt.Errorf("crypto: kdf parameters %s", why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != "argon2id" {
		return bad("are not argon2id")
	}
	if parts[1] != "v="+strconv.Itoa(argon2.Version) {
		return bad("have an unknown version")
	}
	var p KDFParams
	for _, kv := range strings.Split(parts[2], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("are malformed")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("are malformed")
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("have too many lanes")
			}
			p.Threads = uint8(n)
		default:
			return bad("have an unknown member")
		}
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[3])
	if err != nil || len(salt) < 8 {
		return bad("have a bad salt")
	}
	p.Salt = salt
	if !p.usable() {
		return bad("are out of range")
	}
	return p, nil
}
