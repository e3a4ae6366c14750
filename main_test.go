package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestHelpExplainsTheFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, &out, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"serve", "-data", "-addr", "-public-url", "127.0.0.1:8000"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, out.String())
		}
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// TestServeRunsMigrationsAndAnswers starts `serve` on a fresh data
// directory, registers through it, stops it, starts it again on the same
// directory and logs in.
func TestServeRunsMigrationsAndAnswers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for round, path := range []string{"/api/v1/users/register", "/api/v1/users/login"} {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		var logs bytes.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--data", dir, "--addr", addr, "--public-url", "https://profile.example.org/"}, &logs, &logs)
		}()
		base := "http://" + addr + "/api/v1"
		deadline := time.Now().Add(15 * time.Second)
		for {
			res, err := http.Get(base + "/healthz")
			if err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: listener never answered: %v\n%s", round, err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		body := `{"email":"serve@example.org","password":"a long enough password"}`
		res, err := http.Post(base+path[len("/api/v1"):], "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if got["status"] != "success" || got["token"] == nil {
			t.Fatalf("round %d %s: %d %v", round, path, res.StatusCode, got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve returned %v", err)
		}
		if strings.Contains(logs.String(), "a long enough password") {
			t.Fatal("password in the log")
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "installation.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("installation key: %v %v", fi, err)
	}
}

func TestServeRefusesABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", ln.Addr().String()}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Fatalf("err = %v", err)
	}
}
