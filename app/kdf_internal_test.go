package app

import (
	"testing"

	"github.com/secure-personal-profile/spp/crypto"
)

// A pairing bundle may not make this device spend more than a bounded
// derivation, whatever crypto itself would accept.
func TestForeignKDFIsBounded(t *testing.T) {
	if !foreignKDF(crypto.DefaultKDF) {
		t.Fatal("the default parameters refused")
	}
	for _, p := range []crypto.KDFParams{
		{Time: 3, Memory: crypto.MaxKDFMemory, Threads: 4},
		{Time: crypto.MaxKDFTime, Memory: 64 * 1024, Threads: 4},
	} {
		if foreignKDF(p) {
			t.Errorf("%+v accepted", p)
		}
	}
}
