package crypto_test

import (
	"testing"

	"github.com/secure-personal-profile/spp/crypto"
)

// BenchmarkDeriveKeyDefault measures one Argon2id derivation with
// DefaultKDF (64 MiB, 3 passes, 4 lanes). The spec asks for under 0.5 s on
// the 2-core production machine:
//
//	go test -run=NONE -bench=DeriveKeyDefault -benchtime=10x ./crypto/
func BenchmarkDeriveKeyDefault(b *testing.B) {
	p, err := crypto.NewKDFParams(crypto.DefaultKDF)
	if err != nil {
		b.Fatal(err)
	}
	password := []byte("correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.DeriveKey(password, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	key := mustKey(b)
	pt, ad := make([]byte, 1024), []byte("profile/42/field/notes")
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.Seal(key, pt, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	key := mustKey(b)
	pt, ad := make([]byte, 1024), []byte("profile/42/field/notes")
	sealed, err := crypto.Seal(key, pt, ad)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.Open(key, sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenKey(b *testing.B) {
	tok, err := crypto.NewToken()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		crypto.TokenKey(tok)
	}
}
