package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/httpapi"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// lockedBuffer is a log sink the server's goroutines write to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsAndBadgesAreNeverKept: a responder's secret and badge verify
// the responder and are then gone: they are in no database file, in no
// entry of the emergency log, in no e-mail to the trusted contacts, in no
// synced grant record and in no line of the server's log (at debug
// level), whether the grant succeeded or not. The badge is given pasted
// and as a picture of its QR code uploaded from the responder's page.
func TestSecretsAndBadgesAreNeverKept(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &env{Env: storetest.New(t, app.Config{Log: logger})}
	e.api = httpapi.New(e.App, logger)
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.srv.Close)
	relay := startMail(t, e)
	ctx := context.Background()

	tok := e.register(t, "grace@example.org").str("token")
	setup := e.json(t, "POST", emergencyPath, map[string]any{"token": tok, "emergency_info": "asthma", "trusted_contacts": []string{"kin@example.org"}})
	want(t, setup, 201, "success", "")
	page := e.pagePath(t, setup.str("emergency_url"))
	html := []string{"Accept", "text/html"}

	secret := e.responder(t, "EMT-9", "Lee Park", "Harbour Ambulance")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := e.App.TrustResponderOrg(ctx, "Northshore Paramedics", pub); err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now()
	badge, err := app.IssueBadge(priv, app.Badge{ResponderID: "PM-1", Name: "Pat Medic", IssuedAt: now, Expires: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	png, err := qr.PNG(badge, 300)
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := secret[:len(secret)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(secret, "A")]

	// The page offers both ways, each field labelled.
	checkPage(t, e.do(t, "GET", page, "", nil, html...), 200, `enctype="multipart/form-data"`,
		`<label for="responder_secret">`, `<label for="responder_credential">`, `<label for="responder_credential_image">`, `type="file"`)

	// Refused, then granted, over the JSON API with a secret.
	want(t, e.json(t, "POST", grantPath, map[string]any{"responder_id": "EMT-9", "reason": "r", "email": "grace@example.org", "responder_secret": wrongSecret}), 403,
		"responder is not verified!", "responder_not_verified")
	want(t, e.json(t, "POST", grantPath, map[string]any{"responder_id": "EMT-9", "reason": "crash", "email": "grace@example.org", "responder_secret": secret}), 200, "success", "")
	// A badge pasted into the page, for another id: refused.
	refused := e.multipartPage(t, page, map[string]string{"responder_id": "PM-2", "reason": "r", "responder_credential": badge}, nil)
	checkPage(t, refused, 403, "responder is not verified!")
	if strings.Contains(string(refused.Raw), badge) {
		t.Fatal("the refused form shows the badge again")
	}
	// Pasted, then uploaded as a picture of its QR code: granted.
	checkPage(t, e.multipartPage(t, page, map[string]string{"responder_id": "PM-1", "reason": "fall", "responder_credential": badge}, nil), 200, "Access granted and logged")
	checkPage(t, e.multipartPage(t, page, map[string]string{"responder_id": "PM-1", "reason": "fall again"}, png), 200, "Access granted and logged")
	// A picture with no code in it says so.
	checkPage(t, e.multipartPage(t, page, map[string]string{"responder_id": "PM-1", "reason": "r"}, []byte("no picture here")), 400,
		"responder_credential_image holds no readable QR code!")

	// The log names the organization of the badge and the responder; the
	// contacts' mails too.
	l := e.form(t, "GET", logPath, "token", tok)
	var log struct {
		Entries []struct {
			ResponderID  string `json:"responder_id"`
			Name         string `json:"responder_name"`
			Organization string `json:"responder_organization"`
			Verified     bool   `json:"responder_verified"`
			Outcome      string `json:"outcome"`
		} `json:"entries"`
	}
	json.Unmarshal(l.Raw, &log)
	var outcomes []string
	for _, en := range log.Entries {
		outcomes = append(outcomes, en.Outcome)
	}
	if got := strings.Join(outcomes, ","); got != "not_verified,granted,not_verified,granted,granted,not_verified" ||
		log.Entries[3].Organization != "Northshore Paramedics" || log.Entries[3].Name != "Pat Medic" || !log.Entries[3].Verified ||
		log.Entries[1].Organization != "Harbour Ambulance" || !log.Entries[1].Verified {
		t.Fatalf("log: %s", l.Raw)
	}
	mails := relay.Wait(t, 3, 10*time.Second)
	var sawBadge bool
	for _, m := range mails {
		if strings.Contains(m.Text(), "PM-1 (Pat Medic, Northshore Paramedics)") && strings.Contains(m.Text(), "badge of Northshore Paramedics") {
			sawBadge = true
		}
	}
	if !sawBadge {
		t.Fatalf("no mail names the badge's organization: %s", mails[len(mails)-1].Text())
	}

	// Nowhere: the database files (WAL included), the log, the synced
	// grants, the outbox, the mails, the server's log.
	parts := strings.Split(badge, ".")
	never := []string{secret, strings.ReplaceAll(secret, "-", ""), wrongSecret, badge, parts[2]}
	noneInDir(t, e.Dir, never...)
	ob := e.form(t, "GET", outboxPath, "token", tok)
	for _, s := range never {
		for what, text := range map[string]string{"the emergency log": string(l.Raw), "the outbox": string(ob.Raw), "the server's log": logs.String()} {
			if strings.Contains(text, s) {
				t.Errorf("%q in %s", s, what)
			}
		}
		for _, m := range mails {
			if bytes.Contains(m.Data, []byte(s)) {
				t.Errorf("%q in a mail to %s", s, m.To[0])
			}
		}
	}
	if !strings.Contains(logs.String(), "emergency access granted") {
		t.Fatalf("the server's log is not the one written to:\n%s", logs.String())
	}
}

// multipartPage posts the responder's page form as a browser does
// (multipart), with an optional picture of a badge.
func (e *env) multipartPage(t *testing.T, page string, fields map[string]string, picture []byte) resp {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if picture != nil {
		fw, err := w.CreateFormFile("responder_credential_image", "badge.png")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(picture)
	}
	w.Close()
	return e.do(t, "POST", page, w.FormDataContentType(), &buf, "Accept", "text/html")
}
