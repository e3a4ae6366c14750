package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app/qr"
	p2psync "github.com/secure-personal-profile/spp/sync"
)

// withSync starts a sync service (libp2p on 127.0.0.1) for the env.
func withSync(t *testing.T, e *env) *p2psync.Service {
	t.Helper()
	svc, err := p2psync.New(e.App.Replica(), p2psync.Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.App.SetSyncer(svc)
	return svc
}

func devicesOf(t *testing.T, e *env, token string) []map[string]any {
	t.Helper()
	r := e.form(t, "GET", "/api/v1/devices", "token", token)
	want(t, r, 200, "success", "")
	var out []map[string]any
	for _, d := range r.Body["devices"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func TestDeviceEndpoints(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	withSync(t, a)
	withSync(t, b)
	reg := a.register(t, "ada@example.org")
	tokA := reg.str("token")

	// Token check, then a pairing code valid 10 minutes.
	want(t, a.form(t, "POST", "/api/v1/devices/pair-code"), 401, "token must exist!", "token_missing")
	want(t, a.form(t, "POST", "/api/v1/devices/pair-code", "token", tokA, "name", strings.Repeat("x", 65)), 400, "name must be at most 64 characters!", "invalid_name")
	r := a.form(t, "POST", "/api/v1/devices/pair-code", "token", tokA, "name", "laptop")
	want(t, r, 201, "success", "")
	code := r.str("code")
	exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
	if !strings.HasPrefix(code, "spp-pair:") || err != nil || exp.Sub(time.Now()) > 10*time.Minute+time.Second {
		t.Fatalf("code %q expires %q", code, r.str("expires_at"))
	}
	if len(devicesOf(t, a, tokA)) != 1 {
		t.Fatal("the host is not listed")
	}

	// Join: parameters, a malformed code, a wrong password.
	want(t, b.form(t, "POST", "/api/v1/devices/join", "code", code), 400, "code,password must exist!", "missing_parameter")
	want(t, b.form(t, "POST", "/api/v1/devices/join", "code", "hello", "password", pw), 400, "pairing code is malformed!", "invalid_code")
	want(t, b.form(t, "POST", "/api/v1/devices/join", "code", code, "password", "wrong password!"), 401, "password is wrong!", "invalid_credentials")
	// That code is spent; a new one, shown as a QR code and read back.
	want(t, b.form(t, "POST", "/api/v1/devices/join", "code", code, "password", pw), 410, "pairing code has expired!", "code_expired")
	res := a.do(t, "GET", "/api/v1/profile/qr?kind=pair&token="+tokA, "", nil)
	if res.Code != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", res.Code, res.Raw)
	}
	code, err = qr.Decode(res.Raw)
	if err != nil || !strings.HasPrefix(code, "spp-pair:") {
		t.Fatalf("QR decodes to %q, %v", code, err)
	}
	r = b.json(t, "POST", "/api/v1/devices/join", map[string]any{"code": code, "password": pw, "name": "phone"})
	want(t, r, 201, "success", "")
	tokB := r.str("token")
	if r.str("user_id") != reg.str("user_id") || r.str("profile_id") != reg.str("profile_id") || r.str("device_id") == "" {
		t.Fatalf("join answered %s", r.Raw)
	}
	bDevice := r.str("device_id")
	// Joining again with another code: this device holds the profile.
	r = a.form(t, "POST", "/api/v1/devices/pair-code", "token", tokA)
	want(t, b.form(t, "POST", "/api/v1/devices/join", "code", r.str("code"), "password", pw), 409, "this device already holds the profile!", "already_paired")

	// A change through the API on a arrives on b.
	want(t, a.json(t, "POST", "/api/v1/profile/update-info", map[string]any{"token": tokA, "updated_fields": map[string]any{"city": "Zürich"}}), 200, "success", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := b.form(t, "GET", "/api/v1/profile", "token", tokB)
		if f, ok := p.Body["fields"].(map[string]any)["city"].(map[string]any); ok && f["value"] == "Zürich" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change never arrived: %s", p.Raw)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Both list both devices, with the last sync of the other.
	for _, c := range []struct {
		e   *env
		tok string
	}{{a, tokA}, {b, tokB}} {
		ds := devicesOf(t, c.e, c.tok)
		if len(ds) != 2 {
			t.Fatalf("%d devices", len(ds))
		}
		for _, d := range ds {
			if d["current"] == false && d["last_sync"] == nil {
				t.Fatalf("no last sync: %v", d)
			}
			if d["device_id"] == bDevice && d["name"] != "phone" {
				t.Fatalf("b's name: %v", d)
			}
		}
	}

	// Removal: unknown, own, then b.
	want(t, a.form(t, "DELETE", "/api/v1/devices/nope", "token", tokA), 404, "device does not exist!", "device_not_found")
	aDevice := a.DB.DeviceID()
	want(t, a.form(t, "DELETE", "/api/v1/devices/"+aDevice, "token", tokA), 409, "this device cannot remove itself!", "own_device")
	want(t, a.form(t, "GET", "/api/v1/devices/"+bDevice, "token", tokA), 405, "delete required", "method_not_allowed")
	want(t, a.form(t, "DELETE", "/api/v1/devices/"+bDevice), 401, "token must exist!", "token_missing")
	want(t, a.form(t, "DELETE", "/api/v1/devices/"+bDevice, "token", tokA), 200, "success", "")
	if ds := devicesOf(t, a, tokA); len(ds) != 1 || ds[0]["device_id"] != aDevice {
		t.Fatalf("after removal: %v", ds)
	}
}

func TestPairCodeWithoutSync(t *testing.T) {
	e := newEnv(t)
	tok := e.register(t, "ada@example.org").str("token")
	want(t, e.form(t, "POST", "/api/v1/devices/pair-code", "token", tok), 409, "sync is not running on this device!", "sync_off")
	want(t, e.form(t, "GET", "/api/v1/devices/pair-code", "token", tok), 405, "post required", "method_not_allowed")
	if r := e.form(t, "GET", "/api/v1/devices", "token", tok); r.Code != http.StatusOK {
		t.Fatalf("devices without sync: %d", r.Code)
	}
}
