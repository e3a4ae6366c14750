package app_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

type flakySender struct {
	mu    sync.Mutex
	fails int
	got   [][]byte
}

func (f *flakySender) Kind() string { return "test" }

func (f *flakySender) Send(ctx context.Context, m *app.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errors.New("service down")
	}
	f.got = append(f.got, m.Payload)
	return nil
}

func TestOutboxRetriesWithBackoffAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	env := storetest.Open(t, dir, app.Config{})
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Email: "o@example.org", Password: "outbox password"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.App.Authenticate(ctx, auth.Token)
	payload := []byte(`{"event":"secret-outbox-payload-123"}`)
	if err := env.App.Enqueue(ctx, p, "test", payload); err != nil {
		t.Fatal(err)
	}

	s := &flakySender{fails: 2}
	ctx1, stop1 := context.WithCancel(ctx)
	env.App.StartOutbox(ctx1, s) // the first app delivers in the background
	waitAttempts := func(n int) *app.Message {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			ms, _ := env.App.Outbox(ctx, p)
			if len(ms) == 1 && ms[0].Attempts >= n {
				return ms[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempts never reached %d: %+v", n, ms)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	m := waitAttempts(1)
	if m.LastError != "service down" || !m.DeliveredAt.IsZero() {
		t.Fatalf("after a failure: %+v", m)
	}
	wait1 := m.NextAt.Sub(env.Clock.Now())
	if wait1 < time.Second || wait1 > 3*time.Second {
		t.Fatalf("first backoff %v", wait1)
	}

	// The app stops; the message waits in the database, sealed.
	stop1()
	env.DB.Close()
	for _, f := range []string{"profile.db", "profile.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("secret-outbox-payload-123")) {
			t.Fatalf("payload in clear in %s", f)
		}
	}
	env2 := storetest.Open(t, dir, app.Config{Now: env.Clock.Now})
	env2.Clock = env.Clock
	p2, err := env2.App.Authenticate(ctx, auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	s2 := &flakySender{fails: 1}
	o2 := env2.App.StartOutbox(ctx, s2)
	o2.Flush(ctx) // not due yet: nothing happens
	if ms, _ := env2.App.Outbox(ctx, p2); ms[0].Attempts != 1 {
		t.Fatalf("attempted before due: %+v", ms[0])
	}
	env.Clock.Advance(4 * time.Second)
	o2.Flush(ctx) // second failure: the backoff doubles
	ms, _ := env2.App.Outbox(ctx, p2)
	if ms[0].Attempts != 2 {
		t.Fatalf("after restart: %+v", ms[0])
	}
	if w := ms[0].NextAt.Sub(env.Clock.Now()); w < 3*time.Second || w > 5*time.Second {
		t.Fatalf("second backoff %v", w)
	}
	env.Clock.Advance(5 * time.Second)
	o2.Flush(ctx)
	ms, _ = env2.App.Outbox(ctx, p2)
	if ms[0].DeliveredAt.IsZero() || len(s2.got) != 1 || !bytes.Equal(s2.got[0], payload) {
		t.Fatalf("not delivered: %+v %q", ms[0], s2.got)
	}
	env.Clock.Advance(time.Hour)
	o2.Flush(ctx)
	if len(s2.got) != 1 {
		t.Fatal("delivered twice")
	}
}
