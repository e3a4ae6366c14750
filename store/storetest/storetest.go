// Package storetest gives tests a real store in a temporary directory and
// an app over it, with a cheap password KDF so that tests stay fast.
package storetest

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store"
)

// FastKDF is Argon2id at test cost; production uses crypto.DefaultKDF.
var FastKDF = crypto.KDFParams{Time: 1, Memory: 64, Threads: 1}

// Clock is a settable clock for tests, safe to read from the app's
// background work while a test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Env is a store and an app over it.
type Env struct {
	Dir   string
	DB    *store.DB
	App   *app.App
	Clock *Clock
}

// New opens a store in a fresh t.TempDir() and an app over it. The clock
// starts at the real time; cfg's zero fields take test defaults.
func New(t testing.TB, cfg app.Config) *Env {
	t.Helper()
	dir := t.TempDir()
	return Open(t, dir, cfg)
}

// Open opens a store in dir (which may hold one already).
func Open(t testing.TB, dir string, cfg app.Config) *Env {
	t.Helper()
	clock := &Clock{t: time.Now().UTC()}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.KDF.Time == 0 {
		cfg.KDF = FastKDF
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.QRReader == nil {
		cfg.QRReader = qr.Decode // as main.go gives it
	}
	db, err := store.Open(dir, store.Options{Now: cfg.Now})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	a, err := app.New(db, cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	return &Env{Dir: dir, DB: db, App: a, Clock: clock}
}
