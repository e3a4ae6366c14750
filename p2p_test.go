package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func init() {
	// No test of this package listens beyond loopback or multicasts on
	// the real network (p2p.go).
	p2pDefaults.listen = []string{"/ip4/127.0.0.1/tcp/0"}
	p2pDefaults.mdns = false
}

// TestServeHelperProcess is not a test: TestTwoProcessesSync runs the test
// binary again with SPP_SERVE_HELPER set, and this runs `serve` in that
// process until it is interrupted.
func TestServeHelperProcess(t *testing.T) {
	if os.Getenv("SPP_SERVE_HELPER") != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := strings.Split(os.Getenv("SPP_SERVE_ARGS"), "\x1f")
	if err := run(ctx, args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveProcess starts `spp serve` in its own process with its own data
// directory, and returns its API base URL.
func serveProcess(t *testing.T, name string) (string, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"serve", "--data", filepath.Join(t.TempDir(), name), "--addr", addr,
		"--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(os.Environ(), "SPP_SERVE_HELPER=1", "SPP_SERVE_ARGS="+strings.Join(args, "\x1f"))
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	base := "http://" + addr + "/api/v1"
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			return base, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\n%s", name, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func p2pCall(t *testing.T, method, url string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestTwoProcessesSync: two `serve` processes with their own data
// directories pair through the device endpoints; update-info on either one
// then shows through /verify (a share made on the first) on both.
func TestTwoProcessesSync(t *testing.T) {
	a, aLogs := serveProcess(t, "a")
	b, bLogs := serveProcess(t, "b")
	const pw = "a long enough password"

	code, reg := p2pCall(t, "POST", a+"/users/register", map[string]any{"email": "ada@example.org", "password": pw, "name": "Ada"})
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	tokA := reg["token"].(string)
	code, pc := p2pCall(t, "POST", a+"/devices/pair-code", map[string]any{"token": tokA, "name": "desktop"})
	if code != 201 {
		t.Fatalf("pair-code: %d %v", code, pc)
	}
	code, joined := p2pCall(t, "POST", b+"/devices/join", map[string]any{"code": pc["code"], "password": pw, "name": "laptop"})
	if code != 201 || joined["user_id"] != reg["user_id"] {
		t.Fatalf("join: %d %v", code, joined)
	}
	tokB := joined["token"].(string)

	code, share := p2pCall(t, "POST", a+"/profile/share-create", map[string]any{"token": tokA, "service_id": "bank", "info_field": "city"})
	if code != 201 {
		t.Fatalf("share-create: %d %v", code, share)
	}
	vt := share["verification_token"].(string)

	waitClaim := func(base, want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, v := p2pCall(t, "GET", base+"/verify/"+vt, nil)
			if claims, _ := v["claims"].(map[string]any); code == 200 && claims["city"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/verify never showed city=%q: %d %v", base, want, code, v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	code, upd := p2pCall(t, "POST", a+"/profile/update-info", map[string]any{"token": tokA, "updated_fields": map[string]any{"city": "London"}})
	if code != 200 {
		t.Fatalf("update-info on a: %d %v", code, upd)
	}
	waitClaim(b, "London") // the share and the change both came over
	code, upd = p2pCall(t, "PUT", b+"/profile/update-info", map[string]any{"token": tokB, "updated_fields": map[string]any{"city": "Paris"}})
	if code != 200 {
		t.Fatalf("update-info on b: %d %v", code, upd)
	}
	waitClaim(a, "Paris")

	code, devs := p2pCall(t, "GET", a+"/devices?token="+tokA, nil)
	if code != 200 || len(devs["devices"].([]any)) != 2 {
		t.Fatalf("devices: %d %v", code, devs)
	}
	for _, l := range []string{aLogs.String(), bLogs.String()} {
		if strings.Contains(l, pw) || strings.Contains(l, pc["code"].(string)) {
			t.Fatal("a password or pairing code reached a log")
		}
	}
}
