package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/mail/mailtest"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func TestRespondersSubcommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	cmd := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"responders"}, args...), &out, &errb)
		return out.String() + errb.String(), err
	}
	if out, err := cmd("add", "--data", dir, "--name", "Ana Ruiz", "--organization", "City EMS", "EMT-4471"); err != nil || !strings.Contains(out, "EMT-4471 added") {
		t.Fatalf("add: %v %s", err, out)
	}
	// Flags may follow the id.
	if out, err := cmd("add", "MEDIC-9", "--data", dir, "--name", "Lee Park"); err != nil {
		t.Fatalf("add: %v %s", err, out)
	}
	// Adding again updates the entry.
	if _, err := cmd("add", "--data", dir, "--name", "Lee Park-Smith", "--organization", "Harbour Ambulance", "MEDIC-9"); err != nil {
		t.Fatal(err)
	}
	out, err := cmd("list", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RESPONDER_ID") ||
		!strings.Contains(lines[1], "EMT-4471") || !strings.Contains(lines[1], "Ana Ruiz") || !strings.Contains(lines[1], "City EMS") ||
		!strings.Contains(lines[2], "MEDIC-9") || !strings.Contains(lines[2], "Lee Park-Smith") || !strings.Contains(lines[2], "Harbour Ambulance") {
		t.Fatalf("list:\n%s", out)
	}
	if out, err := cmd("remove", "--data", dir, "MEDIC-9"); err != nil || !strings.Contains(out, "MEDIC-9 removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if out, _ := cmd("list", "--data", dir); strings.Contains(out, "MEDIC-9") {
		t.Fatalf("removed responder listed:\n%s", out)
	}
	for _, bad := range [][]string{
		{"remove", "--data", dir, "MEDIC-9"},       // not there
		{"add", "--data", dir},                     // no id
		{"add", "--data", dir, "a", "b"},           // two ids
		{"add", "--data", dir, "--name", "x", " "}, // blank id
		{"frobnicate", "--data", dir},
		{},
	} {
		if out, err := cmd(bad...); err == nil {
			t.Errorf("%q accepted: %s", bad, out)
		}
	}
	if out, err := cmd("remove", "--data", dir, "MEDIC-9"); err == nil || !strings.Contains(err.Error(), "responder does not exist!") {
		t.Fatalf("remove unknown: %v %s", err, out)
	}

	// The app of that data directory knows the registry; the names are
	// sealed, not in the database in clear.
	env := storetest.Open(t, dir, app.Config{})
	r, err := env.App.VerifiedResponder(ctx, " emt-4471")
	if err != nil || r == nil || r.Name != "Ana Ruiz" {
		t.Fatalf("registry: %+v %v", r, err)
	}
	for _, f := range []string{"profile.db", "profile.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("Ana Ruiz")) || bytes.Contains(b, []byte("EMT-4471")) {
			t.Fatalf("responder in clear in %s", f)
		}
	}
}

func TestSMTPFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, &out, &out)
	for _, s := range []string{"-smtp-addr", "-smtp-from", "-smtp-user", "-smtp-password-file", "SPP_SMTP_PASSWORD"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q (err %v)", s, err)
		}
	}
	for _, args := range [][]string{
		{"serve", "--smtp-addr", "127.0.0.1:25"},
		{"serve", "--smtp-from", "a@example.org"},
		{"serve", "--smtp-addr", "127.0.0.1:25", "--smtp-from", "a@example.org", "--smtp-password-file", filepath.Join(t.TempDir(), "missing")},
	} {
		out.Reset()
		if err := run(context.Background(), append(args, "--data", t.TempDir(), "--addr", freeAddr(t)), &out, &out); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestServeMailsTrustedContacts runs serve with a real SMTP relay on this
// host: a grant through the API reaches the trusted contact by e-mail.
func TestServeMailsTrustedContacts(t *testing.T) {
	relay := mailtest.Start(t, mailtest.Options{})
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--addr", addr, "--smtp-addr", relay.Addr, "--smtp-from", "profile@example.org"}, &logs, &logs)
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
			t.Fatalf("listener never answered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	post := func(path string, body map[string]any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var got map[string]any
		json.Unmarshal(raw, &got)
		if got["status"] != "success" {
			t.Fatalf("%s: %d %s", path, res.StatusCode, raw)
		}
		return got
	}
	reg := post("/users/register", map[string]any{"email": "serve-em@example.org", "password": "a long enough password", "name": "Mina Serve"})
	post("/profile/emergency-access", map[string]any{"token": reg["token"], "emergency_info": "epileptic", "trusted_contacts": []string{"kin@example.org"}, "criteria": map[string]any{"responders": "any"}})
	post("/profile/emergency-access/grant", map[string]any{"responder_id": "bystander-1", "reason": "seizure in the street", "email": "serve-em@example.org"})
	m := relay.Wait(t, 1, 10*time.Second)[0]
	if m.To[0] != "kin@example.org" || m.From != "profile@example.org" || !strings.Contains(m.Text(), "seizure in the street") || !strings.Contains(m.Text(), "Mina Serve") {
		t.Fatalf("mail: %+v\n%s", m, m.Text())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "epileptic") || strings.Contains(logs.String(), "seizure") {
		t.Fatalf("a secret in the log:\n%s", logs.String())
	}
}
