package app_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// BenchmarkConcurrentShareCreate creates shares from 32 goroutines at once
// (the load of `make bench-load`'s share-create, without HTTP): group
// commit runs them in batches, so ns/op is the writer's turn per share plus
// what each request does beside it (signing), on a real database.
//
//	go test -tags ci -run '^$' -bench ConcurrentShareCreate -benchtime 20000x ./app/
func BenchmarkConcurrentShareCreate(b *testing.B) {
	env := storetest.New(b, app.Config{})
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Email: "bench@example.org", Password: "a long enough password", Name: "Grace Hopper", Handle: "grace"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"date_of_birth":"1990-04-01","phone":"+15550100"}`)); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16) // × GOMAXPROCS (2 here): 32 at once
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "bar.example", InfoField: "age_over_21"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
