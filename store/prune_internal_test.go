package store

import (
	"context"
	"testing"
	"time"
)

func TestPruneDropsStaleRateLimitCounts(t *testing.T) {
	now := time.Now()
	db, err := Open(t.TempDir(), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	key := []byte("k")
	db.AddFailure(ctx, key, now.Add(-25*time.Hour))
	db.AddFailure(ctx, key, now.Add(-time.Minute))
	db.prune(context.Background())
	n, _, err := db.Failures(ctx, key, now.Add(-48*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("after prune: %d counts (%v), want the recent one", n, err)
	}
}
