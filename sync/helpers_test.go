package p2psync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
	p2psync "github.com/secure-personal-profile/spp/sync"
)

const password = "correct horse battery"

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// clock is a settable clock safe to read from the sync service's
// goroutines while a test moves it.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// device is one device: a real store in a temp dir, the app, and its sync
// service on 127.0.0.1.
type device struct {
	*storetest.Env
	svc   *p2psync.Service
	logs  *logBuf
	cfg   p2psync.Config
	clock *clock
}

func loopback() []string { return []string{"/ip4/127.0.0.1/tcp/0"} }

func newDevice(t testing.TB, cfg ...p2psync.Config) *device {
	t.Helper()
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &clock{}
	d := &device{Env: storetest.New(t, app.Config{Log: log, Now: c.Now}), logs: logs, clock: c}
	if len(cfg) > 0 {
		d.cfg = cfg[0]
	}
	if d.cfg.Listen == nil {
		d.cfg.Listen = loopback()
	}
	d.cfg.Log = log
	d.start(t)
	t.Cleanup(func() {
		if t.Failed() && testing.Verbose() {
			t.Logf("log of device %s:\n%s", d.DB.DeviceID(), logs.String())
		}
	})
	return d
}

func (d *device) start(t testing.TB) {
	t.Helper()
	svc, err := p2psync.New(d.App.Replica(), d.cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.svc = svc
	d.App.SetSyncer(svc)
	t.Cleanup(func() { svc.Close() })
}

// register makes a user on the device and returns a principal.
func (d *device) register(t testing.TB, email string) *app.Principal {
	t.Helper()
	ctx := context.Background()
	a, err := d.App.Register(ctx, app.Registration{Name: "Ada Lovelace", Email: email, Handle: strings.Split(email, "@")[0], Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return d.principal(t, a.Token)
}

func (d *device) principal(t testing.TB, token string) *app.Principal {
	t.Helper()
	p, err := d.App.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pair makes a code on host and joins with it on d; it returns d's principal.
func (d *device) join(t testing.TB, host *device, hp *app.Principal, name string) *app.Principal {
	t.Helper()
	ctx := context.Background()
	code, _, err := host.App.PairCode(ctx, hp, "host")
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.App.Join(ctx, code, password, name)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	return d.principal(t, a.Token)
}

func (d *device) set(t testing.TB, p *app.Principal, kv map[string]any) {
	t.Helper()
	b, _ := json.Marshal(kv)
	if _, err := d.App.UpdateInfo(context.Background(), p, b); err != nil {
		t.Fatal(err)
	}
}

func (d *device) field(t testing.TB, p *app.Principal, name string) string {
	t.Helper()
	fs, err := d.App.Fields(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Name == name {
			return f.Text()
		}
	}
	return ""
}

func (d *device) digest(t testing.TB, user string) string {
	t.Helper()
	s, err := d.DB.Digest(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually polls cond until it holds, failing after timeout. Sync is
// asynchronous; this waits for an outcome, it does not time anything.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// converged waits until every device holds the same state of the user.
func converged(t testing.TB, user string, ds ...*device) {
	t.Helper()
	eventually(t, 20*time.Second, "convergence", func() bool {
		first := ds[0].digest(t, user)
		for _, d := range ds[1:] {
			if d.digest(t, user) != first {
				return false
			}
		}
		return true
	})
}
