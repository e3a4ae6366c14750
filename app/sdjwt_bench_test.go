package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// BenchmarkSDJWT measures SD-JWT VC shares beside the JWS ones:
//
//	go test -tags ci -run '^$' -bench BenchmarkSDJWT ./app/
//
// issue-jws and issue-sd-jwt make a share (store, seal, sign) in each
// format, issue-sd-jwt-kb with a holder key and Key Binding JWT;
// verify-sd-jwt-kb checks one as a verifier does (two signatures, the
// disclosure's digest, sd_hash).
func BenchmarkSDJWT(b *testing.B) {
	env := storetest.New(b, app.Config{PublicURL: "https://profile.example.org"})
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Email: "bench-sdjwt@example.org", Password: "a long enough password", Name: "Grace Hopper"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"date_of_birth":"1990-05-01"}`)); err != nil {
		b.Fatal(err)
	}
	issue := func(format, nonce string) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar.example", InfoField: "age_over_18", Format: format, Nonce: nonce}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("issue-jws", issue("", ""))
	b.Run("issue-sd-jwt", issue(app.ShareFormatSDJWT, ""))
	b.Run("issue-sd-jwt-kb", issue(app.ShareFormatSDJWT, "bench-nonce"))
	b.Run("verify-sd-jwt-kb", func(b *testing.B) {
		sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar.example", InfoField: "age_over_18", Format: app.ShareFormatSDJWT, Nonce: "bench-nonce"})
		if err != nil {
			b.Fatal(err)
		}
		pub := issuerKeyOf(b, env, "profile.example.org")
		now := env.Clock.Now()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := app.VerifySDJWT(sh.Credential, pub, "bar.example", "bench-nonce", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
