package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lines is a goroutine-safe output sink.
type lines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRelayCommand: `spp relay` prints its full address (with /p2p/),
// keeps its identity in --data (the same peer id after a restart), opens
// no profile store there, and stops when its context ends.
func TestRelayCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	runOnce := func() string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out, logs := &lines{}, &lines{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"relay", "--listen", "/ip4/127.0.0.1/tcp/0", "--data", dir, "--max-reservations", "4"}, out, logs)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "\n") {
			select {
			case err := <-done:
				t.Fatalf("relay ended: %v\n%s", err, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("relay printed no address:\n%s", logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		addr := strings.TrimSpace(strings.Split(out.String(), "\n")[0])
		if !strings.HasPrefix(addr, "/ip4/127.0.0.1/tcp/") || !strings.Contains(addr, "/p2p/12D3Koo") {
			t.Fatalf("relay printed %q", addr)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("relay: %v\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("relay did not stop")
		}
		_, id, _ := strings.Cut(addr, "/p2p/")
		return id
	}
	first := runOnce()
	if again := runOnce(); again != first {
		t.Fatalf("peer id after a restart with --data: %s, want %s", again, first)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "relay.key" {
			t.Errorf("the relay wrote %s in its data directory: it keeps only its key", e.Name())
		}
	}
	if err := run(context.Background(), []string{"relay", "--max-circuits", "0"}, &lines{}, &lines{}); err == nil {
		t.Fatal("a zero limit was accepted")
	}
}
