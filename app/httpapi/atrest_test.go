package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoPlaintextAtRest runs a registration and login scenario, then reads
// every byte of the data directory (database, WAL, shared memory, key
// files), open and after close, and finds none of the values sent.
func TestNoPlaintextAtRest(t *testing.T) {
	e := newEnv(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pubText := base64.StdEncoding.EncodeToString(pub)
	secrets := map[string]string{
		"password":   "Zebra-Quasar-Velvet-42",
		"email":      "marguerite.yourcenar@example.org",
		"name":       "Marguerite Yourcenar-Crayencour",
		"handle":     "hadrian_memoirs",
		"biometrics": "FINGERPRINT-TEMPLATE-7f3a9c2e11d04b",
		"public_key": pubText,
		"legacy_key": "LEGACY-KEYPAIR-BLOB-0x5eed",
	}
	r := e.json(t, "POST", "/api/v1/users/register", map[string]any{
		"name": secrets["name"], "email": secrets["email"], "handle": secrets["handle"],
		"password": secrets["password"], "biometrics": secrets["biometrics"], "public_key": secrets["public_key"],
	})
	want(t, r, 201, "success", "")
	tokens := []string{r.str("token")}
	r2 := e.json(t, "POST", "/api/v1/users/register", map[string]any{
		"email": "second." + secrets["email"], "password": secrets["password"], "public_private_key_pair": secrets["legacy_key"],
	})
	want(t, r2, 201, "success", "")
	tokens = append(tokens, r2.str("token"))
	for i := 0; i < 2; i++ {
		l := e.form(t, "POST", "/api/v1/users/login", "email", secrets["email"], "password", secrets["password"])
		want(t, l, 200, "success", "")
		tokens = append(tokens, l.str("token"))
	}
	e.form(t, "POST", "/api/v1/users/login", "email", secrets["email"], "password", "wrong-"+secrets["password"])

	needles := map[string][]byte{}
	for k, v := range secrets {
		needles[k] = []byte(v)
		needles[k+" (lower)"] = []byte(strings.ToLower(v))
		needles[k+" (utf16)"] = utf16le(v)
	}
	needles["public key bytes"] = pub
	needles["public key hex"] = []byte(hex.EncodeToString(pub))
	for i, tok := range tokens {
		needles["token "+string(rune('0'+i))] = []byte(tok)
	}

	scan := func(when string) {
		files := 0
		filepath.Walk(e.Dir, func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files++
			for name, n := range needles {
				if bytes.Contains(b, n) {
					t.Errorf("%s: %s found in clear in %s", when, name, filepath.Base(path))
				}
			}
			return nil
		})
		if files < 2 {
			t.Fatalf("%s: scanned only %d files", when, files)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Dir, "profile.db-wal")); err != nil {
		t.Fatalf("expected a WAL to scan while open: %v", err)
	}
	scan("open")
	e.srv.Close()
	e.DB.Close()
	scan("closed")
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}
