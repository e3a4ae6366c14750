package crypto_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/secure-personal-profile/spp/crypto"
)

// vectors mirrors testdata/vectors.json, written by testdata/gen.go.
type vectors struct {
	Argon2id []struct {
		Comment, Password, Salt, Params, Key string
		Time, Memory                         uint32
		Threads                              uint8
	}
	HKDF []struct {
		Comment, IKM, Purpose, Key string
	}
	KeyedHash []struct {
		Comment, Key, Data, Hash string
	} `json:"keyed_hash"`
	HashToken []struct {
		Comment, Token, Out string
	} `json:"hash_token"`
	TokenKey []struct {
		Comment, Token, Out string
	} `json:"token_key"`
	TokenIndex []struct {
		Comment, Token, Out string
	} `json:"token_index"`
	Open []struct {
		Comment, Key, AD, Sealed, Plaintext, Error string
	}
	Unwrap []struct {
		Comment, KEK, Purpose, Wrapped, Key, Error string
	}
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := new(vectors)
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	if len(v.Argon2id) == 0 || len(v.HKDF) == 0 || len(v.KeyedHash) == 0 || len(v.HashToken) == 0 ||
		len(v.TokenKey) == 0 || len(v.Open) == 0 || len(v.Unwrap) == 0 {
		t.Fatal("testdata/vectors.json: a section is missing or empty")
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// sentinel maps an error name in vectors.json to the error.
func sentinel(t testing.TB, name string) error {
	t.Helper()
	switch name {
	case "":
		return nil
	case "ErrOpen":
		return crypto.ErrOpen
	case "ErrMalformed":
		return crypto.ErrMalformed
	case "ErrKeySize":
		return crypto.ErrKeySize
	}
	t.Fatalf("vectors.json names an unknown error %q", name)
	return nil
}

func TestVectorsArgon2id(t *testing.T) {
	for _, v := range loadVectors(t).Argon2id {
		t.Run(v.Comment, func(t *testing.T) {
			p := crypto.KDFParams{Time: v.Time, Memory: v.Memory, Threads: v.Threads, Salt: unhex(t, v.Salt)}
			if got := p.String(); got != v.Params {
				t.Errorf("String() = %q, want %q", got, v.Params)
			}
			parsed, err := crypto.ParseKDFParams(v.Params)
			if err != nil {
				t.Fatalf("ParseKDFParams(%q): %v", v.Params, err)
			}
			if parsed.Time != p.Time || parsed.Memory != p.Memory || parsed.Threads != p.Threads || !bytes.Equal(parsed.Salt, p.Salt) {
				t.Errorf("ParseKDFParams(%q) = %+v, want %+v", v.Params, parsed, p)
			}
			key, err := crypto.DeriveKey([]byte(v.Password), parsed)
			if err != nil {
				t.Fatalf("DeriveKey: %v", err)
			}
			if got := hex.EncodeToString(key); got != v.Key {
				t.Errorf("DeriveKey(%q, %s) = %s, want %s", v.Password, v.Params, got, v.Key)
			}
		})
	}
}

func TestVectorsHKDF(t *testing.T) {
	for _, v := range loadVectors(t).HKDF {
		if got := hex.EncodeToString(crypto.DeriveSubkey(unhex(t, v.IKM), v.Purpose)); got != v.Key {
			t.Errorf("%s: DeriveSubkey(%s, %q) = %s, want %s", v.Comment, v.IKM, v.Purpose, got, v.Key)
		}
	}
}

func TestVectorsKeyedHash(t *testing.T) {
	for _, v := range loadVectors(t).KeyedHash {
		if got := hex.EncodeToString(crypto.KeyedHash(unhex(t, v.Key), v.Data)); got != v.Hash {
			t.Errorf("%s: KeyedHash(%s, %q) = %s, want %s", v.Comment, v.Key, v.Data, got, v.Hash)
		}
	}
}

func TestVectorsTokens(t *testing.T) {
	v := loadVectors(t)
	for _, v := range v.HashToken {
		if got := hex.EncodeToString(crypto.HashToken(v.Token)); got != v.Out {
			t.Errorf("%s: HashToken(%q) = %s, want %s", v.Comment, v.Token, got, v.Out)
		}
	}
	for _, v := range v.TokenKey {
		if got := hex.EncodeToString(crypto.TokenKey(v.Token)); got != v.Out {
			t.Errorf("%s: TokenKey(%q) = %s, want %s", v.Comment, v.Token, got, v.Out)
		}
	}
	if len(v.TokenIndex) < 4 {
		t.Fatalf("%d token_index vectors", len(v.TokenIndex))
	}
	for _, v := range v.TokenIndex {
		if got := hex.EncodeToString(crypto.TokenIndex(v.Token)); got != v.Out {
			t.Errorf("%s: TokenIndex(%q) = %s, want %s", v.Comment, v.Token, got, v.Out)
		}
	}
}

func TestVectorsOpen(t *testing.T) {
	for _, v := range loadVectors(t).Open {
		t.Run(v.Comment, func(t *testing.T) {
			want := sentinel(t, v.Error)
			pt, err := crypto.Open(unhex(t, v.Key), unhex(t, v.Sealed), unhex(t, v.AD))
			if err != want {
				t.Fatalf("Open: error %v, want %v", err, want)
			}
			if want != nil {
				if pt != nil {
					t.Errorf("Open failed but returned %x", pt)
				}
				return
			}
			if !bytes.Equal(pt, unhex(t, v.Plaintext)) {
				t.Errorf("Open = %x, want %s", pt, v.Plaintext)
			}
		})
	}
}

func TestVectorsUnwrap(t *testing.T) {
	for _, v := range loadVectors(t).Unwrap {
		t.Run(v.Comment, func(t *testing.T) {
			want := sentinel(t, v.Error)
			key, err := crypto.Unwrap(unhex(t, v.KEK), unhex(t, v.Wrapped), v.Purpose)
			if err != want {
				t.Fatalf("Unwrap(purpose %q): error %v, want %v", v.Purpose, err, want)
			}
			if want == nil && !bytes.Equal(key, unhex(t, v.Key)) {
				t.Errorf("Unwrap = %x, want %s", key, v.Key)
			}
			if want != nil && key != nil {
				t.Errorf("Unwrap failed but returned %x", key)
			}
		})
	}
}

// TestXChaChaDraftVector opens the AEAD vector published in
// draft-irtf-cfrg-xchacha-03, appendix A.3.1, laid out as a sealed value.
// It is written out here rather than read from vectors.json so that it does
// not depend on the generator.
func TestXChaChaDraftVector(t *testing.T) {
	key := unhex(t, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
	nonce := unhex(t, "404142434445464748494a4b4c4d4e4f5051525354555657")
	ad := unhex(t, "50515253c0c1c2c3c4c5c6c7")
	ct := unhex(t, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"+
		"731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"+
		"2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"+
		"21f9664c97637da9768812f615c68b13b52e")
	tag := unhex(t, "c0875924c1c7987947deafd8780acf49")
	want := "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."

	sealed := append(append(append([]byte{0x01}, nonce...), ct...), tag...)
	pt, err := crypto.Open(key, sealed, ad)
	if err != nil {
		t.Fatalf("Open of the published vector: %v", err)
	}
	if string(pt) != want {
		t.Fatalf("Open of the published vector = %q", pt)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := crypto.Open(key, sealed, ad); err != crypto.ErrOpen {
		t.Fatalf("Open of the published vector with a flipped tag bit: error %v, want ErrOpen", err)
	}
}

// TestSealLayout checks, with deterministic randomness, that Seal writes
// 0x01 || nonce || XChaCha20-Poly1305(nonce, plaintext, ad), taking the nonce
// straight from crypto/rand.
func TestSealLayout(t *testing.T) {
	key := bytes.Repeat([]byte{7}, crypto.KeySize)
	pt, ad := []byte("layout"), []byte("ad")

	cryptotest.SetGlobalRandom(t, 1)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		t.Fatal(err)
	}
	cryptotest.SetGlobalRandom(t, 1)
	sealed, err := crypto.Seal(key, pt, ad)
	if err != nil {
		t.Fatal(err)
	}

	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		t.Fatal(err)
	}
	want := aead.Seal(append([]byte{0x01}, nonce...), nonce, pt, ad)
	if !bytes.Equal(sealed, want) {
		t.Fatalf("Seal = %x\nwant   %x", sealed, want)
	}
}

func mustKey(t testing.TB) []byte {
	t.Helper()
	k, err := crypto.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKey(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	if len(a) != crypto.KeySize || len(b) != crypto.KeySize {
		t.Fatalf("NewKey lengths %d, %d, want %d", len(a), len(b), crypto.KeySize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two NewKey calls returned the same key")
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	key := mustKey(t)
	for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 1024, 64<<10 + 1} {
		pt := make([]byte, n)
		rand.Read(pt)
		orig := bytes.Clone(pt)
		ad := []byte("record/7")
		sealed, err := crypto.Seal(key, pt, ad)
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", n, err)
		}
		if !bytes.Equal(pt, orig) {
			t.Fatalf("Seal(%d bytes) modified its plaintext", n)
		}
		if want := 1 + 24 + n + 16; len(sealed) != want {
			t.Errorf("Seal(%d bytes): %d bytes out, want %d", n, len(sealed), want)
		}
		if sealed[0] != 0x01 {
			t.Errorf("Seal(%d bytes): version byte %#x, want 0x01", n, sealed[0])
		}
		if n >= 16 && bytes.Contains(sealed, pt[:16]) {
			t.Errorf("Seal(%d bytes): output contains the plaintext", n)
		}
		got, err := crypto.Open(key, sealed, ad)
		if err != nil {
			t.Fatalf("Open(Seal(%d bytes)): %v", n, err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open(Seal(%d bytes)) returned other bytes", n)
		}
	}
}

func TestSealNonceIsFresh(t *testing.T) {
	key := mustKey(t)
	seen := map[string]bool{}
	for range 100 {
		sealed, err := crypto.Seal(key, []byte("same"), []byte("same"))
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(sealed[1:25])
		if seen[nonce] {
			t.Fatal("Seal repeated a nonce")
		}
		seen[nonce] = true
	}
}

func TestNilAndEmptyADAreTheSame(t *testing.T) {
	key := mustKey(t)
	sealed, err := crypto.Seal(key, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.Open(key, sealed, []byte{}); err != nil {
		t.Fatalf("sealed with nil ad, opened with empty ad: %v", err)
	}
}

func TestADBinding(t *testing.T) {
	key := mustKey(t)
	sealed, err := crypto.Seal(key, []byte("secret"), []byte("user/alice/email"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range []string{"user/bob/email", "user/alice/emai", "user/alice/email\x00", "", "USER/ALICE/EMAIL"} {
		pt, err := crypto.Open(key, sealed, []byte(ad))
		if err != crypto.ErrOpen {
			t.Errorf("sealed with ad %q, opened with ad %q: error %v, want ErrOpen", "user/alice/email", ad, err)
		}
		if pt != nil {
			t.Errorf("failed Open with ad %q returned %q", ad, pt)
		}
	}
}

func TestWrongKey(t *testing.T) {
	sealed, err := crypto.Seal(mustKey(t), []byte("secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.Open(mustKey(t), sealed, nil); err != crypto.ErrOpen {
		t.Fatalf("Open with another key: error %v, want ErrOpen", err)
	}
}

func TestKeySize(t *testing.T) {
	good := mustKey(t)
	sealed, err := crypto.Seal(good, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 16, 31, 33, 64} {
		bad := make([]byte, n)
		if _, err := crypto.Seal(bad, []byte("x"), nil); err != crypto.ErrKeySize {
			t.Errorf("Seal with a %d-byte key: error %v, want ErrKeySize", n, err)
		}
		if _, err := crypto.Open(bad, sealed, nil); err != crypto.ErrKeySize {
			t.Errorf("Open with a %d-byte key: error %v, want ErrKeySize", n, err)
		}
		if _, err := crypto.Wrap(bad, good, "p"); err != crypto.ErrKeySize {
			t.Errorf("Wrap under a %d-byte kek: error %v, want ErrKeySize", n, err)
		}
		if _, err := crypto.Wrap(good, bad, "p"); err != crypto.ErrKeySize {
			t.Errorf("Wrap of a %d-byte key: error %v, want ErrKeySize", n, err)
		}
		if _, err := crypto.Unwrap(bad, sealed, "p"); err != crypto.ErrKeySize {
			t.Errorf("Unwrap under a %d-byte kek: error %v, want ErrKeySize", n, err)
		}
	}
}

func TestWrapUnwrap(t *testing.T) {
	kek, key := mustKey(t), mustKey(t)
	const purpose = "dek/password/alice"
	wrapped, err := crypto.Wrap(kek, key, purpose)
	if err != nil {
		t.Fatal(err)
	}
	got, err := crypto.Unwrap(kek, wrapped, purpose)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !bytes.Equal(got, key) {
		t.Fatal("Unwrap returned another key")
	}

	for _, other := range []string{"dek/password/bob", "dek/session/alice", "dek/password/alic", "", "wrap:" + purpose} {
		if k, err := crypto.Unwrap(kek, wrapped, other); err != crypto.ErrOpen || k != nil {
			t.Errorf("wrapped for %q, unwrapped for %q: (%x, %v), want ErrOpen", purpose, other, k, err)
		}
	}
	if _, err := crypto.Unwrap(mustKey(t), wrapped, purpose); err != crypto.ErrOpen {
		t.Errorf("Unwrap under another kek: error %v, want ErrOpen", err)
	}
	// The purpose is bound as "wrap:" + purpose, so a plain Seal with the
	// bare purpose as associated data is no wrapped key.
	sealed, err := crypto.Seal(kek, key, []byte(purpose))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.Unwrap(kek, sealed, purpose); err != crypto.ErrOpen {
		t.Errorf("Unwrap of Seal(kek, key, purpose): error %v, want ErrOpen", err)
	}
	// And an authentic value that is not a key is refused.
	short, err := crypto.Seal(kek, key[:16], []byte("wrap:"+purpose))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypto.Unwrap(kek, short, purpose); err != crypto.ErrMalformed {
		t.Errorf("Unwrap of a 16-byte payload: error %v, want ErrMalformed", err)
	}
}

func TestDeriveSubkey(t *testing.T) {
	ikm := []byte("pairing secret of high entropy..")
	a := crypto.DeriveSubkey(ikm, "a")
	if len(a) != crypto.KeySize {
		t.Fatalf("DeriveSubkey: %d bytes, want %d", len(a), crypto.KeySize)
	}
	if !bytes.Equal(a, crypto.DeriveSubkey(bytes.Clone(ikm), "a")) {
		t.Error("DeriveSubkey is not deterministic")
	}
	if bytes.Equal(a, crypto.DeriveSubkey(ikm, "b")) {
		t.Error("DeriveSubkey gives one key for two purposes")
	}
	if bytes.Equal(a, crypto.DeriveSubkey([]byte("pairing secret of high entropy.!"), "a")) {
		t.Error("DeriveSubkey gives one key for two secrets")
	}
}

func TestKeyedHash(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	h := crypto.KeyedHash(k1, "alice@example.com")
	if len(h) != 32 {
		t.Fatalf("KeyedHash: %d bytes, want 32", len(h))
	}
	if !bytes.Equal(h, crypto.KeyedHash(k1, "alice@example.com")) {
		t.Error("KeyedHash is not deterministic")
	}
	if bytes.Equal(h, crypto.KeyedHash(k2, "alice@example.com")) {
		t.Error("KeyedHash ignores its key")
	}
	if bytes.Equal(h, crypto.KeyedHash(k1, "bob@example.com")) {
		t.Error("KeyedHash ignores its data")
	}
}

func TestEqual(t *testing.T) {
	for _, c := range []struct {
		a, b []byte
		want bool
	}{
		{nil, nil, true},
		{nil, []byte{}, true},
		{[]byte("abc"), []byte("abc"), true},
		{[]byte("abc"), []byte("abd"), false},
		{[]byte("abc"), []byte("ab"), false},
		{[]byte("ab"), []byte("abc"), false},
		{[]byte{0}, nil, false},
	} {
		if got := crypto.Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestKDFParamsStringParse(t *testing.T) {
	salt := []byte("0123456789abcdef")
	def := crypto.DefaultKDF
	def.Salt = salt
	if got, want := def.String(), "argon2id$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg"; got != want {
		t.Errorf("DefaultKDF.String() = %q, want %q", got, want)
	}
	fresh, err := crypto.NewKDFParams(crypto.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	fresh2, err := crypto.NewKDFParams(crypto.DefaultKDF)
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.Salt) != 16 || bytes.Equal(fresh.Salt, fresh2.Salt) {
		t.Errorf("NewKDFParams salts %x and %x: want two distinct 16-byte salts", fresh.Salt, fresh2.Salt)
	}
	if crypto.DefaultKDF.Salt != nil {
		t.Error("NewKDFParams wrote a salt into DefaultKDF")
	}
	for _, p := range []crypto.KDFParams{
		def, fresh,
		{Time: 1, Memory: 8, Threads: 1, Salt: salt[:8]},
		{Time: 1, Memory: 8 * crypto.MaxKDFThreads, Threads: crypto.MaxKDFThreads, Salt: salt},
		{Time: crypto.MaxKDFTime, Memory: crypto.MaxKDFMemory, Threads: 1, Salt: bytes.Repeat([]byte{0xff}, 64)},
	} {
		s := p.String()
		got, err := crypto.ParseKDFParams(s)
		if err != nil {
			t.Errorf("ParseKDFParams(%q): %v", s, err)
			continue
		}
		if got.Time != p.Time || got.Memory != p.Memory || got.Threads != p.Threads || !bytes.Equal(got.Salt, p.Salt) {
			t.Errorf("ParseKDFParams(%q) = %+v, want %+v", s, got, p)
		}
		if got.String() != s {
			t.Errorf("ParseKDFParams(%q).String() = %q", s, got.String())
		}
	}
}

func TestParseKDFParamsRejects(t *testing.T) {
	const salt = "MDEyMzQ1Njc4OWFiY2RlZg" // "0123456789abcdef"
	const (
		notArgon2id = "crypto: kdf parameters are not argon2id"
		version     = "crypto: kdf parameters have an unknown version"
		malformed   = "crypto: kdf parameters are malformed"
		lanes       = "crypto: kdf parameters have too many lanes"
		member      = "crypto: kdf parameters have an unknown member"
		badSalt     = "crypto: kdf parameters have a bad salt"
		outOfRange  = "crypto: kdf parameters are out of range"
	)
	for _, c := range []struct{ in, err string }{
		{"", notArgon2id},
		{"argon2id", notArgon2id},
		{"argon2id$v=19$m=64,t=1,p=1", notArgon2id},
		{"argon2id$v=19$m=64,t=1,p=1$" + salt + "$", notArgon2id},
		{"argon2i$v=19$m=64,t=1,p=1$" + salt, notArgon2id},
		{"Argon2id$v=19$m=64,t=1,p=1$" + salt, notArgon2id},
		{"$argon2id$v=19$m=64,t=1,p=1$" + salt, notArgon2id}, // PHC's leading $
		{"argon2id$v=16$m=64,t=1,p=1$" + salt, version},
		{"argon2id$$m=64,t=1,p=1$" + salt, version},
		{"argon2id$v=019$m=64,t=1,p=1$" + salt, version},
		{"argon2id$m=64,t=1,p=1$v=19$" + salt, version},
		{"argon2id$v=19$$" + salt, malformed},
		{"argon2id$v=19$m=64,t=1,p$" + salt, malformed},
		{"argon2id$v=19$m=64,,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=64,t=1,p=1,$" + salt, malformed},
		{"argon2id$v=19$m=,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=-64,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=+64,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=0x40,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=64 ,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=4294967296,t=1,p=1$" + salt, malformed},
		{"argon2id$v=19$m=64;t=1;p=1$" + salt, malformed},
		{"argon2id$v=19$m=2048,t=1,p=256$" + salt, lanes},
		{"argon2id$v=19$m=64,t=1,p=1,k=1$" + salt, member},
		{"argon2id$v=19$M=64,t=1,p=1$" + salt, member},
		{"argon2id$v=19$m=64,t=1,p=1$", badSalt},
		{"argon2id$v=19$m=64,t=1,p=1$" + salt + "==", badSalt},
		{"argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg==", badSalt}, // padded
		{"argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFi-2RlZg", badSalt},   // URL alphabet
		{"argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Ng", badSalt},               // 7 bytes
		{"argon2id$v=19$m=64,t=1,p=1$!!!!", badSalt},
		{"argon2id$v=19$m=64,t=0,p=1$" + salt, outOfRange},
		{"argon2id$v=19$m=64,t=1,p=0$" + salt, outOfRange},
		{"argon2id$v=19$m=7,t=1,p=1$" + salt, outOfRange},
		{"argon2id$v=19$m=31,t=1,p=4$" + salt, outOfRange},
		{"argon2id$v=19$t=1,p=1$" + salt, outOfRange},
		{"argon2id$v=19$m=64,p=1$" + salt, outOfRange},
		{"argon2id$v=19$m=64,t=1$" + salt, outOfRange},
	} {
		p, err := crypto.ParseKDFParams(c.in)
		if err == nil {
			t.Errorf("ParseKDFParams(%q) = %+v, want error %q", c.in, p, c.err)
			continue
		}
		if err.Error() != c.err {
			t.Errorf("ParseKDFParams(%q): error %q, want %q", c.in, err, c.err)
		}
		if p.Salt != nil || p.Time != 0 || p.Memory != 0 || p.Threads != 0 {
			t.Errorf("ParseKDFParams(%q) failed but returned %+v", c.in, p)
		}
	}
}

func TestDeriveKeyRejects(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, c := range []struct {
		name string
		p    crypto.KDFParams
	}{
		{"zero value", crypto.KDFParams{}},
		{"DefaultKDF without NewKDFParams has no salt", crypto.DefaultKDF},
		{"no passes", crypto.KDFParams{Time: 0, Memory: 64, Threads: 1, Salt: salt}},
		{"no lanes", crypto.KDFParams{Time: 1, Memory: 64, Threads: 0, Salt: salt}},
		{"no memory", crypto.KDFParams{Time: 1, Memory: 0, Threads: 1, Salt: salt}},
		{"under 8 KiB", crypto.KDFParams{Time: 1, Memory: 7, Threads: 1, Salt: salt}},
		{"under 8 KiB per lane", crypto.KDFParams{Time: 1, Memory: 31, Threads: 4, Salt: salt}},
		{"7-byte salt", crypto.KDFParams{Time: 1, Memory: 64, Threads: 1, Salt: salt[:7]}},
		{"empty salt", crypto.KDFParams{Time: 1, Memory: 64, Threads: 1, Salt: []byte{}}},
	} {
		k, err := crypto.DeriveKey([]byte("password"), c.p)
		if err == nil {
			t.Errorf("%s: DeriveKey(%+v) = %x, want an error", c.name, c.p, k)
			continue
		}
		if want := "crypto: unusable argon2id parameters"; err.Error() != want {
			t.Errorf("%s: DeriveKey: error %q, want %q", c.name, err, want)
		}
	}
}

func TestDeriveKey(t *testing.T) {
	p := crypto.KDFParams{Time: 1, Memory: 64, Threads: 1, Salt: []byte("0123456789abcdef")}
	k, err := crypto.DeriveKey([]byte("password"), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != crypto.KeySize {
		t.Fatalf("DeriveKey: %d bytes, want %d", len(k), crypto.KeySize)
	}
	for name, q := range map[string]crypto.KDFParams{
		"salt":    {Time: 1, Memory: 64, Threads: 1, Salt: []byte("0123456789abcdeF")},
		"time":    {Time: 2, Memory: 64, Threads: 1, Salt: p.Salt},
		"memory":  {Time: 1, Memory: 128, Threads: 1, Salt: p.Salt},
		"threads": {Time: 1, Memory: 64, Threads: 2, Salt: p.Salt},
	} {
		k2, err := crypto.DeriveKey([]byte("password"), q)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(k, k2) {
			t.Errorf("DeriveKey ignores its %s", name)
		}
	}
	k2, err := crypto.DeriveKey([]byte("Password"), p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k, k2) {
		t.Error("DeriveKey ignores its password")
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, err := crypto.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 {
			t.Fatalf("NewToken() = %q: %d characters, want 43", tok, len(tok))
		}
		if strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("NewToken() = %q: not unpadded base64url", tok)
		}
		if b, err := base64.RawURLEncoding.Strict().DecodeString(tok); err != nil || len(b) != crypto.TokenBytes {
			t.Fatalf("NewToken() = %q: decodes to %d bytes (%v), want %d", tok, len(b), err, crypto.TokenBytes)
		}
		if seen[tok] {
			t.Fatalf("NewToken repeated %q", tok)
		}
		seen[tok] = true

		h, k := crypto.HashToken(tok), crypto.TokenKey(tok)
		if len(h) != 32 || len(k) != crypto.KeySize {
			t.Fatalf("HashToken, TokenKey: %d and %d bytes, want 32 and 32", len(h), len(k))
		}
		if bytes.Equal(h, k) {
			t.Fatal("TokenKey equals HashToken")
		}
	}
}

// keyFile reads a key fixture from testdata/keys. They were written once
// with pyca/cryptography; see testdata/keys/README.
func keyFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sshString appends s in the SSH wire encoding (uint32 length || bytes).
func sshString(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func TestParsePublicKey(t *testing.T) {
	want := unhex(t, strings.TrimSpace(keyFile(t, "ed25519.hex")))
	pem := keyFile(t, "ed25519.pub.pem")
	ssh := keyFile(t, "ed25519.pub.ssh")
	sshNoComment := strings.Join(strings.Fields(ssh)[:2], " ")
	for name, text := range map[string]string{
		"base64":                  base64.StdEncoding.EncodeToString(want),
		"unpadded base64":         base64.RawStdEncoding.EncodeToString(want),
		"base64url":               base64.URLEncoding.EncodeToString(want),
		"unpadded base64url":      base64.RawURLEncoding.EncodeToString(want),
		"base64 with whitespace":  "\n\t " + base64.StdEncoding.EncodeToString(want) + " \r\n",
		"PEM PKIX":                pem,
		"PEM PKIX, CRLF":          strings.ReplaceAll(pem, "\n", "\r\n"),
		"PEM PKIX after text":     "my key:\n" + pem,
		"OpenSSH":                 ssh,
		"OpenSSH without comment": sshNoComment,
		"OpenSSH, CRLF":           strings.TrimSpace(ssh) + "\r\n",
	} {
		got, err := crypto.ParsePublicKey(text)
		if err != nil {
			t.Errorf("%s: ParsePublicKey(%q): %v", name, text, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: ParsePublicKey = %x, want %x", name, []byte(got), want)
		}
	}
}

func TestParsePublicKeyRefusesPrivateKeys(t *testing.T) {
	b64 := strings.TrimSpace(keyFile(t, "ed25519.key.b64"))
	priv, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(priv) != ed25519.PrivateKeySize {
		t.Fatalf("testdata/keys/ed25519.key.b64: %d bytes, %v", len(priv), err)
	}
	for name, text := range map[string]string{
		"PEM PRIVATE KEY":             keyFile(t, "ed25519.key.pem"),
		"OpenSSH private key":         keyFile(t, "ed25519.key.ssh"),
		"64-byte base64":              b64,
		"64-byte unpadded base64url":  base64.RawURLEncoding.EncodeToString(priv),
		"public PEM then private PEM": keyFile(t, "ed25519.pub.pem") + keyFile(t, "ed25519.key.pem"),
		"private PEM then public PEM": keyFile(t, "ed25519.key.pem") + keyFile(t, "ed25519.pub.pem"),
		"RSA PRIVATE KEY header":      "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
	} {
		k, err := crypto.ParsePublicKey(text)
		if err != crypto.ErrPrivateKey {
			t.Errorf("%s: ParsePublicKey = (%x, %v), want ErrPrivateKey", name, []byte(k), err)
		}
	}
}

func TestParsePublicKeyRefusesOthers(t *testing.T) {
	pub := unhex(t, strings.TrimSpace(keyFile(t, "ed25519.hex")))
	rsaSSH := keyFile(t, "rsa.pub.ssh")
	// An OpenSSH FIDO key, sk-ssh-ed25519@openssh.com: its key is an Ed25519
	// point but it signs a different message, so it is no Ed25519 key here.
	skBlob := sshString(nil, []byte("sk-ssh-ed25519@openssh.com"))
	skBlob = sshString(skBlob, pub)
	skBlob = sshString(skBlob, []byte("ssh:"))
	sk := "sk-ssh-ed25519@openssh.com " + base64.StdEncoding.EncodeToString(skBlob) + " fido"
	// The declared type disagrees with the key inside.
	mismatch := "ssh-ed25519 " + strings.Fields(rsaSSH)[1]
	pemBody := strings.Join(strings.Split(strings.TrimSpace(keyFile(t, "ed25519.pub.pem")), "\n")[1:2], "")

	for name, text := range map[string]string{
		"PEM RSA":                              keyFile(t, "rsa.pub.pem"),
		"OpenSSH RSA":                          rsaSSH,
		"PEM ECDSA":                            keyFile(t, "ecdsa.pub.pem"),
		"OpenSSH ECDSA":                        keyFile(t, "ecdsa.pub.ssh"),
		"OpenSSH FIDO Ed25519":                 sk,
		"OpenSSH FIDO Ed25519 after an option": "ssh-option " + sk,
		"OpenSSH type mismatch":                mismatch,
		"OpenSSH truncated":                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
		"OpenSSH type only":                    "ssh-ed25519",
		"PEM CERTIFICATE of junk":              "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"PEM PUBLIC KEY of junk":               "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"PEM PKIX body without armor":          pemBody,
		"empty":                                "",
		"spaces":                               " \n\t",
		"garbage":                              "garbage",
		"hex":                                  hex.EncodeToString(pub),
		"31-byte base64":                       base64.StdEncoding.EncodeToString(pub[:31]),
		"33-byte base64":                       base64.StdEncoding.EncodeToString(append(bytes.Clone(pub), 0)),
		"base64 with a bad character":          "*" + base64.StdEncoding.EncodeToString(pub)[1:],
	} {
		k, err := crypto.ParsePublicKey(text)
		if err != crypto.ErrNotEd25519 {
			t.Errorf("%s: ParsePublicKey(%q) = (%x, %v), want ErrNotEd25519", name, text, []byte(k), err)
		}
	}
}

func TestVerify(t *testing.T) {
	pub, priv, err := crypto.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("profile export")
	sig := ed25519.Sign(priv, msg)
	if !crypto.Verify(pub, msg, sig) {
		t.Fatal("Verify refuses a good signature")
	}
	if crypto.Verify(pub, []byte("profile exporT"), sig) {
		t.Error("Verify accepts a signature of another message")
	}
	bad := bytes.Clone(sig)
	bad[0] ^= 1
	if crypto.Verify(pub, msg, bad) {
		t.Error("Verify accepts a flipped signature")
	}
	if crypto.Verify(pub[:31], msg, sig) || crypto.Verify(nil, msg, sig) {
		t.Error("Verify accepts a short public key")
	}
	if crypto.Verify(pub, msg, sig[:63]) || crypto.Verify(pub, msg, append(bytes.Clone(sig), 0)) {
		t.Error("Verify accepts a signature of the wrong length")
	}

	// A signature by the fixture key verifies under each parsed form of it.
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keyFile(t, "ed25519.key.b64")))
	if err != nil {
		t.Fatal(err)
	}
	sig = ed25519.Sign(ed25519.NewKeyFromSeed(seed[:ed25519.SeedSize]), msg)
	for _, f := range []string{"ed25519.pub.pem", "ed25519.pub.ssh"} {
		k, err := crypto.ParsePublicKey(keyFile(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !crypto.Verify(k, msg, sig) {
			t.Errorf("%s: Verify refuses a signature by the matching private key", f)
		}
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	errs := []error{crypto.ErrOpen, crypto.ErrMalformed, crypto.ErrKeySize, crypto.ErrPrivateKey, crypto.ErrNotEd25519}
	for i, a := range errs {
		if !strings.HasPrefix(a.Error(), "crypto: ") {
			t.Errorf("%q does not say it comes from package crypto", a)
		}
		for _, b := range errs[i+1:] {
			if errors.Is(a, b) || a.Error() == b.Error() {
				t.Errorf("%q and %q cannot be told apart", a, b)
			}
		}
	}
}

// Stored parameters must not be able to exhaust memory or time.
func TestKDFParamsAreBounded(t *testing.T) {
	salt := []byte("0123456789abcdef")
	for _, p := range []crypto.KDFParams{
		{Time: 1, Memory: crypto.MaxKDFMemory + 1, Threads: 1, Salt: salt},
		{Time: crypto.MaxKDFTime + 1, Memory: 64, Threads: 1, Salt: salt},
		{Time: 1, Memory: 8 * 255, Threads: crypto.MaxKDFThreads + 1, Salt: salt},
		{Time: 1<<32 - 1, Memory: 1<<32 - 1, Threads: 1, Salt: salt},
	} {
		if _, err := crypto.ParseKDFParams(p.String()); err == nil {
			t.Errorf("ParseKDFParams(%q) accepted", p.String())
		}
		if _, err := crypto.DeriveKey([]byte("pw"), p); err == nil {
			t.Errorf("DeriveKey(%+v) accepted", p)
		}
	}
}

func TestTimedTokens(t *testing.T) {
	at := time.Date(2026, 12, 1, 17, 0, 0, 123e6, time.UTC)
	var prev []byte
	seen := map[string]bool{}
	for i := range 1000 {
		when := at.Add(time.Duration(i/10) * time.Millisecond) // ten a millisecond
		tok, err := crypto.NewTimedToken(when)
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(tok) != 51 || len(b) != 6+crypto.TokenBytes {
			t.Fatalf("NewTimedToken() = %q (%d characters): decodes to %d bytes (%v), want 51 characters and %d bytes", tok, len(tok), len(b), err, 6+crypto.TokenBytes)
		}
		if ms := int64(b[0])<<40 | int64(b[1])<<32 | int64(b[2])<<24 | int64(b[3])<<16 | int64(b[4])<<8 | int64(b[5]); ms != when.UnixMilli() {
			t.Fatalf("NewTimedToken(%v) starts with %d ms, want %d", when, ms, when.UnixMilli())
		}
		if seen[tok] {
			t.Fatalf("NewTimedToken repeated %q", tok)
		}
		seen[tok] = true

		key := crypto.TokenIndex(tok)
		if !bytes.Equal(key[:6], b[:6]) || !bytes.Equal(key[6:], crypto.HashToken(tok)) {
			t.Fatalf("TokenIndex(%q) = %x, want its time %x then its SHA-256", tok, key, b[:6])
		}
		// Keys of later tokens sort after earlier ones: an index of them
		// grows at its end.
		if prev != nil && i%10 == 0 && bytes.Compare(prev, key) >= 0 {
			t.Fatalf("token %d's key %x sorts before the previous millisecond's %x", i, key, prev)
		}
		prev = key
	}
}

func TestTokenIndexOfOtherTokens(t *testing.T) {
	tok, err := crypto.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	// Untimed tokens, and anything that only looks like a timed one, are
	// found by their SHA-256 alone.
	timed, _ := crypto.NewTimedToken(time.Now())
	// The 51st character of a timed token carries 4 bits of it and 2 of
	// padding, zero: with padding bits set it encodes no 38 bytes.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	trailing := timed[:50] + string(alphabet[strings.IndexByte(alphabet, timed[50])|1])
	if _, err := base64.RawURLEncoding.DecodeString(trailing); err != nil {
		t.Fatalf("%q: %v (the lenient decoding takes it)", trailing, err)
	}
	for _, s := range []string{tok, "", "not a token", timed[:50], timed + "A", timed[:50] + "!", timed[:50] + "=", trailing} {
		if got := crypto.TokenIndex(s); !bytes.Equal(got, crypto.HashToken(s)) {
			t.Errorf("TokenIndex(%q) = %x, want HashToken %x", s, got, crypto.HashToken(s))
		}
	}
}
