package crypto_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/crypto"
)

// Run each with, for instance,
//
//	go test -fuzz=FuzzOpen -fuzztime=20s ./crypto/
//
// A crasher lands in testdata/fuzz/FuzzOpen: fix the bug and check it in.

// edit applies the edits that a fuzzer chose to a sealed value, its
// associated data and its key, and reports whether anything changed. Edits
// come in groups of four bytes: an operation, a 16-bit position and a value.
func edit(edits, sealed, ad, key []byte) (s, a, k []byte, changed bool) {
	s, a, k = bytes.Clone(sealed), bytes.Clone(ad), bytes.Clone(key)
	for ; len(edits) >= 4; edits = edits[4:] {
		pos, val := int(edits[1])<<8|int(edits[2]), edits[3]
		switch edits[0] % 9 {
		case 0: // flip bits of a byte
			if len(s) > 0 {
				s[pos%len(s)] ^= val
			}
		case 1: // truncate
			s = s[:pos%(len(s)+1)]
		case 2: // append
			s = append(s, val)
		case 3: // insert
			i := pos % (len(s) + 1)
			s = append(s[:i], append([]byte{val}, s[i:]...)...)
		case 4: // set the version byte
			if len(s) > 0 {
				s[0] = val
			}
		case 5: // flip bits of the associated data
			if len(a) > 0 {
				a[pos%len(a)] ^= val
			} else {
				a = append(a, val)
			}
		case 6: // truncate the associated data
			a = a[:pos%(len(a)+1)]
		case 7: // extend the associated data
			a = append(a, val)
		case 8: // flip bits of the key
			k[pos%len(k)] ^= val
		}
	}
	changed = !bytes.Equal(s, sealed) || !bytes.Equal(a, ad) || !bytes.Equal(k, key)
	return s, a, k, changed
}

type authentic struct{ sealed, ad string }

func FuzzOpen(f *testing.F) {
	v := loadVectors(f)
	// The key of most valid vectors, and every valid vector under it, so
	// that a success on the fuzzer's own bytes can be checked against the
	// plaintext it must give.
	count := map[string]int{}
	var keyHex string
	for _, o := range v.Open {
		if o.Error == "" {
			if count[o.Key]++; count[o.Key] > count[keyHex] {
				keyHex = o.Key
			}
		}
	}
	key := unhex(f, keyHex)
	valid := map[authentic][]byte{}
	for _, o := range v.Open {
		f.Add(unhex(f, o.Sealed), unhex(f, o.AD), unhex(f, o.Plaintext), []byte{})
		if o.Error == "" && o.Key == keyHex {
			valid[authentic{string(unhex(f, o.Sealed)), string(unhex(f, o.AD))}] = unhex(f, o.Plaintext)
		}
	}
	if len(valid) < 2 {
		f.Fatal("vectors.json: expected several valid Open vectors under one key")
	}
	for op := range byte(9) {
		f.Add([]byte{1}, []byte("ad"), []byte("plaintext"), []byte{op, 0, 0, 1})
		f.Add([]byte{}, []byte{}, []byte{}, []byte{op, 0xff, 0xff, 0x80, op + 1, 0, 30, 0})
	}

	f.Fuzz(func(t *testing.T, sealed, ad, pt, edits []byte) {
		// The fuzzer's bytes as a sealed value.
		got, err := crypto.Open(key, sealed, ad)
		switch {
		case err == nil:
			want, ok := valid[authentic{string(sealed), string(ad)}]
			if !ok {
				t.Fatalf("forgery: Open accepted %x with ad %x", sealed, ad)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Open of a known value = %x, want %x", got, want)
			}
		case err == crypto.ErrMalformed:
			if len(sealed) >= 41 && sealed[0] == 1 {
				t.Fatalf("ErrMalformed for a %d-byte value of version 1", len(sealed))
			}
		case err == crypto.ErrOpen:
			if len(sealed) < 41 || sealed[0] != 1 {
				t.Fatalf("ErrOpen, not ErrMalformed, for a %d-byte value of version %d", len(sealed), sealed[0])
			}
		default:
			t.Fatalf("Open: unexpected error %v", err)
		}
		if err != nil && got != nil {
			t.Fatalf("Open failed with %v but returned %x", err, got)
		}

		// The fuzzer's bytes as a key.
		if _, err := crypto.Open(ad, sealed, nil); (err == crypto.ErrKeySize) != (len(ad) != crypto.KeySize) {
			t.Fatalf("Open with a %d-byte key: %v", len(ad), err)
		}

		// Seal, edit, open: only an unedited value opens, and to its plaintext.
		s, err := crypto.Seal(key, pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		s2, ad2, key2, changed := edit(edits, s, ad, key)
		got, err = crypto.Open(key2, s2, ad2)
		if changed && err == nil {
			t.Fatalf("forgery: edits %x to a sealed value left it opening to %x", edits, got)
		}
		if !changed && err != nil {
			t.Fatalf("Open(Seal(%x)): %v", pt, err)
		}
		if err == nil && !bytes.Equal(got, pt) {
			t.Fatalf("Open(Seal(%x)) = %x", pt, got)
		}
		if err != nil && err != crypto.ErrOpen && err != crypto.ErrMalformed {
			t.Fatalf("Open of an edited value: unexpected error %v", err)
		}
	})
}

func FuzzUnwrap(f *testing.F) {
	v := loadVectors(f)
	kek := unhex(f, v.Unwrap[0].KEK)
	valid := map[authentic][]byte{}
	for _, u := range v.Unwrap {
		f.Add(unhex(f, u.Wrapped), u.Purpose, unhex(f, u.Key), []byte{})
		if u.Error == "" && u.KEK == v.Unwrap[0].KEK {
			valid[authentic{string(unhex(f, u.Wrapped)), u.Purpose}] = unhex(f, u.Key)
		}
	}
	if len(valid) < 2 {
		f.Fatal("vectors.json: expected several valid Unwrap vectors under one kek")
	}
	for op := range byte(9) {
		f.Add([]byte{}, "dek/session/x", bytes.Repeat([]byte{op}, 32), []byte{op, 0, 5, 0x10})
	}

	f.Fuzz(func(t *testing.T, wrapped []byte, purpose string, key, edits []byte) {
		got, err := crypto.Unwrap(kek, wrapped, purpose)
		switch {
		case err == nil:
			want, ok := valid[authentic{string(wrapped), purpose}]
			if !ok {
				t.Fatalf("forgery: Unwrap accepted %x for purpose %q", wrapped, purpose)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Unwrap of a known value = %x, want %x", got, want)
			}
		case err == crypto.ErrOpen || err == crypto.ErrMalformed:
			if got != nil {
				t.Fatalf("Unwrap failed with %v but returned %x", err, got)
			}
		default:
			t.Fatalf("Unwrap: unexpected error %v", err)
		}

		w, err := crypto.Wrap(kek, key, purpose)
		if len(key) != crypto.KeySize {
			if err != crypto.ErrKeySize {
				t.Fatalf("Wrap of a %d-byte key: error %v, want ErrKeySize", len(key), err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		w2, p2, kek2, changed := edit(edits, w, []byte(purpose), kek)
		got, err = crypto.Unwrap(kek2, w2, string(p2))
		if changed && err == nil {
			t.Fatalf("forgery: edits %x to a wrapped key left it unwrapping to %x", edits, got)
		}
		if !changed && (err != nil || !bytes.Equal(got, key)) {
			t.Fatalf("Unwrap(Wrap(%x, %q)) = (%x, %v)", key, purpose, got, err)
		}
	})
}

func FuzzParseKDFParams(f *testing.F) {
	for _, a := range loadVectors(f).Argon2id {
		f.Add(a.Params)
	}
	def := crypto.DefaultKDF
	def.Salt = []byte("0123456789abcdef")
	f.Add(def.String())
	for _, s := range []string{
		"", "argon2id$v=19$m=64,t=1,p=1$", "argon2id$v=19$m=2048,t=1,p=256$MDEyMzQ1Njc4OWFiY2RlZg",
		"argon2id$v=19$m=64,t=1,p=1,m=8$MDEyMzQ1Njc4OWFiY2RlZg", "argon2id$v=19$m=064,t=01,p=1$MDEyMzQ1Njc4OWFiY2RlZh",
		"argon2id$v=19$m=4294967295,t=4294967295,p=255$MDEyMzQ1Njc4OWFiY2RlZg",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		p, err := crypto.ParseKDFParams(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "crypto: kdf parameters ") {
				t.Fatalf("ParseKDFParams(%q): error %q does not say what failed", s, err)
			}
			if p.Time != 0 || p.Memory != 0 || p.Threads != 0 || p.Salt != nil {
				t.Fatalf("ParseKDFParams(%q) failed but returned %+v", s, p)
			}
			return
		}
		if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || len(p.Salt) < 8 {
			t.Fatalf("ParseKDFParams(%q) accepted unusable %+v", s, p)
		}
		// What String writes parses back to the same parameters.
		s2 := p.String()
		p2, err := crypto.ParseKDFParams(s2)
		if err != nil {
			t.Fatalf("ParseKDFParams(%q).String() = %q does not parse: %v", s, s2, err)
		}
		if p2.Time != p.Time || p2.Memory != p.Memory || p2.Threads != p.Threads || !bytes.Equal(p2.Salt, p.Salt) || p2.String() != s2 {
			t.Fatalf("%q parses to %+v, its String %q to %+v", s, p, s2, p2)
		}
		// Whatever parses, DeriveKey takes (tried only where it is cheap).
		if p.Time <= 2 && p.Memory <= 1024 {
			if _, err := crypto.DeriveKey([]byte("pw"), p); err != nil {
				t.Fatalf("ParseKDFParams(%q) accepted %+v, DeriveKey refuses it: %v", s, p, err)
			}
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "keys", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no key fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	pub := unhex(f, strings.TrimSpace(keyFile(f, "ed25519.hex")))
	for _, s := range []string{
		"", "garbage", base64.RawURLEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(make([]byte, 64)),
		"ssh-ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", "ssh-x ssh-ed25519 AAAA",
		"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		k, err := crypto.ParsePublicKey(s)
		if strings.Contains(s, "PRIVATE KEY") && err != crypto.ErrPrivateKey {
			t.Fatalf("ParsePublicKey(%q): error %v, want ErrPrivateKey", s, err)
		}
		switch err {
		case nil:
		case crypto.ErrPrivateKey, crypto.ErrNotEd25519:
			if k != nil {
				t.Fatalf("ParsePublicKey(%q) failed with %v but returned %x", s, err, []byte(k))
			}
			return
		default:
			t.Fatalf("ParsePublicKey(%q): unexpected error %v", s, err)
		}
		if len(k) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublicKey(%q) returned %d bytes", s, len(k))
		}
		// The key survives a trip through the plainest form.
		k2, err := crypto.ParsePublicKey(base64.StdEncoding.EncodeToString(k))
		if err != nil || !bytes.Equal(k, k2) {
			t.Fatalf("ParsePublicKey(%q) = %x, which re-encoded parses to (%x, %v)", s, []byte(k), []byte(k2), err)
		}
		// Any 32 bytes it returns are safe to verify against, even if they
		// are not a point on the curve.
		_ = crypto.Verify(k, []byte(s), make([]byte, ed25519.SignatureSize))
	})
}
