package crypto_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/secure-personal-profile/spp/crypto"
)

func TestSealToTokenOpensOnlyWithTheToken(t *testing.T) {
	tok, _ := crypto.NewToken()
	other, _ := crypto.NewToken()
	pub := crypto.TokenBoxKey(tok)
	if !bytes.Equal(pub, crypto.TokenBoxKey(tok)) || bytes.Equal(pub, crypto.TokenBoxKey(other)) {
		t.Fatal("box key is not a function of the token")
	}
	msg := []byte("verification token for the request")
	sealed, err := crypto.SealToToken(pub, msg)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := crypto.SealToToken(pub, msg)
	if bytes.Equal(sealed, again) {
		t.Fatal("sealing is deterministic")
	}
	got, err := crypto.OpenWithToken(tok, sealed)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := crypto.OpenWithToken(other, sealed); !errors.Is(err, crypto.ErrOpen) {
		t.Fatalf("other token opened it: %v", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := crypto.OpenWithToken(tok, bad); err == nil {
			t.Fatalf("tampered byte %d accepted", i)
		}
	}
	for n := 0; n < len(sealed); n += 7 {
		if _, err := crypto.OpenWithToken(tok, sealed[:n]); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
	if _, err := crypto.SealToToken(pub[:31], msg); err == nil {
		t.Fatal("short key accepted")
	}
}
