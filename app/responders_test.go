package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
	"github.com/secure-personal-profile/spp/crypto"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// rsSetup gives a user emergency access with the default criteria
// (verified responders only).
func rsSetup(t *testing.T, env *storetest.Env, email string) *app.Principal {
	t.Helper()
	p := emUser(t, env, email)
	if _, err := env.App.SetupEmergency(context.Background(), p, app.EmergencySetup{
		EmergencyInfo: json.RawMessage(`"type 1 diabetic"`), TrustedContacts: json.RawMessage(`["kin@example.org"]`),
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// rsGrant asks for email's emergency information, each attempt from its
// own address (so that the per-address limit stays out of the way).
var rsClient int

func rsGrant(env *storetest.Env, req app.GrantRequest) (*app.EmergencyGrant, error) {
	rsClient++
	if req.Reason == "" {
		req.Reason = "found unconscious"
	}
	if req.Client == "" {
		req.Client = fmt.Sprintf("198.51.%d.%d", rsClient/250, rsClient%250)
	}
	return env.App.GrantEmergency(context.Background(), req)
}

func wantNotVerified(t *testing.T, what string, g *app.EmergencyGrant, err error) {
	t.Helper()
	if g != nil || emCode(err) != "responder_not_verified" {
		t.Fatalf("%s: granted %+v, err %v", what, g, err)
	}
}

// TestGrantNeedsTheRespondersSecret: a registered id is not proof; only
// the secret `responders add` printed (or the one reset-secret printed
// after it) opens, and an entry made before secrets existed opens nothing.
func TestGrantNeedsTheRespondersSecret(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	rsSetup(t, env, "grace@example.org")
	r, err := env.App.AddResponder(ctx, app.Responder{ID: "EMT-4471", Name: "Ana Ruiz", Organization: "City EMS"})
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.ReplaceAll(r.Secret, "-", "")) < 26 || !r.HasSecret {
		t.Fatalf("secret %q: fewer than 128 bits", r.Secret)
	}
	email := "grace@example.org"

	g, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email})
	wantNotVerified(t, "the id alone", g, err)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email, ResponderSecret: "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH"})
	wantNotVerified(t, "a wrong secret", g, err)
	other, _ := env.App.AddResponder(ctx, app.Responder{ID: "MEDIC-9"})
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email, ResponderSecret: other.Secret})
	wantNotVerified(t, "another responder's secret", g, err)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email, ResponderCredential: r.Secret})
	wantNotVerified(t, "the secret sent as a badge", g, err)

	g, err = rsGrant(env, app.GrantRequest{ResponderID: "emt-4471", Email: email, ResponderSecret: r.Secret})
	if err != nil || g.Responder == nil || g.Responder.Name != "Ana Ruiz" || g.Responder.Organization != "City EMS" {
		t.Fatalf("the good secret: %+v %v", g, err)
	}
	// Typed as a person types it: lower case, no dashes.
	typed := strings.ToLower(strings.ReplaceAll(r.Secret, "-", " "))
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email, ResponderSecret: typed}); err != nil {
		t.Fatalf("typed secret: %v", err)
	}

	// A new secret: the old one stops working.
	r2, err := env.App.ResetResponderSecret(ctx, "EMT-4471")
	if err != nil || r2.Secret == "" || r2.Secret == r.Secret || r2.Name != "Ana Ruiz" {
		t.Fatalf("reset: %+v %v", r2, err)
	}
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email, ResponderSecret: r.Secret})
	wantNotVerified(t, "the old secret", g, err)
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: email, ResponderSecret: r2.Secret}); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	if _, err := env.App.ResetResponderSecret(ctx, "nobody"); emCode(err) != "unknown_responder" {
		t.Fatalf("reset of an unknown responder: %v", err)
	}

	// An entry as the registry kept them before secrets: it opens nothing,
	// whatever is typed.
	mac := crypto.KeyedHash(env.DB.InstallationKey(), "responder:old-1")
	body, _ := json.Marshal(map[string]any{"responder_id": "OLD-1", "name": "Legacy", "added_at": time.Now()})
	sealed, err := crypto.Seal(env.DB.InstallationKey(), body, append([]byte("responder\x00"), mac...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emRaw(t, env.Dir).Exec(`INSERT INTO responders(mac, details, created_at) VALUES (?,?,?)`, mac, sealed, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "x", r2.Secret} {
		g, err = rsGrant(env, app.GrantRequest{ResponderID: "OLD-1", Email: email, ResponderSecret: s})
		wantNotVerified(t, "a legacy entry", g, err)
	}
	list, err := env.App.Responders(ctx)
	if err != nil || len(list) != 3 || list[2].ID != "OLD-1" || list[2].HasSecret || !list[0].HasSecret {
		t.Fatalf("list: %+v %v", list, err)
	}
	// reset-secret gives it one.
	old, err := env.App.ResetResponderSecret(ctx, "old-1")
	if err != nil {
		t.Fatal(err)
	}
	if g, err := rsGrant(env, app.GrantRequest{ResponderID: "OLD-1", Email: email, ResponderSecret: old.Secret}); err != nil || g.Responder.Name != "Legacy" {
		t.Fatalf("legacy entry after reset-secret: %+v %v", g, err)
	}
}

// TestAnyResponderNeedsNoProof: with "responders":"any" the legacy three
// parameters suffice, but a registered id alone is logged as unverified,
// never with the registry's name.
func TestAnyResponderNeedsNoProof(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	p := emUser(t, env, "any@example.org")
	if _, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{EmergencyInfo: json.RawMessage(`"x"`), Criteria: json.RawMessage(`{"responders":"any"}`)}); err != nil {
		t.Fatal(err)
	}
	r, _ := env.App.AddResponder(ctx, app.Responder{ID: "EMT-1", Name: "Ana Ruiz"})
	g, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-1", Email: "any@example.org"})
	if err != nil || g.Responder != nil {
		t.Fatalf("id alone under any: %+v %v", g, err)
	}
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "EMT-1", Email: "any@example.org", ResponderSecret: r.Secret})
	if err != nil || g.Responder == nil || g.Responder.Name != "Ana Ruiz" {
		t.Fatalf("with the secret under any: %+v %v", g, err)
	}
	l, _ := env.App.EmergencyLog(ctx, p)
	if len(l.Entries) != 2 || l.Entries[0].Verified || l.Entries[0].ResponderName != "" || !l.Entries[1].Verified || l.Entries[1].ResponderName != "Ana Ruiz" {
		t.Fatalf("log: %+v %+v", l.Entries[0], l.Entries[1])
	}
}

// TestResponderIDFromALogOpensNobody: the id a responder leaves in a
// user's log, synced grant record and trusted contacts' message is all an
// attacker who saw one of them knows; it opens neither that user nor
// anyone else on the installation.
func TestResponderIDFromALogOpensNobody(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	grace := rsSetup(t, env, "grace@example.org")
	rsSetup(t, env, "victim@example.org")
	r, _ := env.App.AddResponder(ctx, app.Responder{ID: "EMT-4471", Name: "Ana Ruiz", Organization: "City EMS"})
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-4471", Email: "grace@example.org", ResponderSecret: r.Secret}); err != nil {
		t.Fatal(err)
	}
	l, err := env.App.EmergencyLog(ctx, grace)
	if err != nil || len(l.Entries) != 1 || len(l.Grants) != 1 {
		t.Fatalf("log: %+v %v", l, err)
	}
	id := l.Entries[0].ResponderID
	if id != "EMT-4471" || l.Grants[0]["responder_id"] != id {
		t.Fatalf("logged id %q, synced %q", id, l.Grants[0]["responder_id"])
	}
	for _, email := range []string{"victim@example.org", "grace@example.org"} {
		g, err := rsGrant(env, app.GrantRequest{ResponderID: id, Email: email})
		wantNotVerified(t, "an id copied from the log on "+email, g, err)
	}
	// Nor does anything else the synced record holds.
	rec, _ := json.Marshal(l.Grants[0])
	g, err := rsGrant(env, app.GrantRequest{ResponderID: id, Email: "victim@example.org", ResponderSecret: string(rec)})
	wantNotVerified(t, "the synced grant as a secret", g, err)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: id, Email: "victim@example.org", ResponderCredential: string(rec)})
	wantNotVerified(t, "the synced grant as a badge", g, err)
}

// rsOrg is an organization's key pair.
func rsOrg(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func rsBadge(t *testing.T, priv ed25519.PrivateKey, id string, iat, exp time.Time) string {
	t.Helper()
	b, err := app.IssueBadge(priv, app.Badge{ResponderID: id, Name: "Pat Medic", IssuedAt: iat, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResponderBadges: a badge opens when it verifies under a trusted
// organization's key, has not expired and names the responder id; the
// log shows the organization. Every other badge is refused.
func TestResponderBadges(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	grace := rsSetup(t, env, "grace@example.org")
	email := "grace@example.org"
	pub, priv := rsOrg(t)
	org, err := env.App.TrustResponderOrg(ctx, "Harbour Ambulance Service", pub)
	if err != nil {
		t.Fatal(err)
	}
	if kid, _ := app.ResponderKeyID(pub); org.KeyID != kid || len(kid) != 43 {
		t.Fatalf("key id %q", org.KeyID)
	}
	now := env.Clock.Now()
	good := rsBadge(t, priv, "PM-1", now, now.Add(app.DefaultBadgeAge))
	if len(good) > 600 {
		t.Fatalf("badge of %d bytes: too big for a badge's QR code", len(good))
	}

	// Refused: untrusted key, expired, another id, altered, another type.
	_, stranger := rsOrg(t)
	g, err := rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: rsBadge(t, stranger, "PM-1", now, now.Add(time.Hour))})
	wantNotVerified(t, "an untrusted key's badge", g, err)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: rsBadge(t, priv, "PM-1", now.Add(-48*time.Hour), now.Add(-time.Hour))})
	wantNotVerified(t, "an expired badge", g, err)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-2", Email: email, ResponderCredential: good})
	wantNotVerified(t, "a badge for another id", g, err)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderSecret: good})
	wantNotVerified(t, "a badge sent as a secret", g, err)
	parts := strings.Split(good, ".")
	var claims map[string]any
	raw, _ := jose.ParseSignedCompact(good, []jose.SignatureAlgorithm{jose.EdDSA})
	json.Unmarshal(raw.UnsafePayloadWithoutVerification(), &claims)
	if claims["sub"] != "PM-1" || claims["name"] != "Pat Medic" || claims["org"] != org.KeyID || claims["iat"] == nil || claims["exp"] == nil ||
		raw.Signatures[0].Header.ExtraHeaders[jose.HeaderType] != app.BadgeType || raw.Signatures[0].Header.KeyID != org.KeyID {
		t.Fatalf("badge %+v %+v", claims, raw.Signatures[0].Header)
	}
	claims["sub"] = "PM-2"
	forged, _ := json.Marshal(claims)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-2", Email: email, ResponderCredential: parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]})
	wantNotVerified(t, "a badge whose sub was changed", g, err)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: org.KeyID}}, (&jose.SignerOptions{}).WithType("JWT"))
	jws, _ := signer.Sign([]byte(fmt.Sprintf(`{"sub":"PM-1","iat":%d,"exp":%d}`, now.Unix(), now.Add(time.Hour).Unix())))
	other, _ := jws.CompactSerialize()
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: other})
	wantNotVerified(t, "a JWT that is not a responder badge", g, err)

	// The good badge opens; the log and the synced grant name the
	// organization (as trusted here) and the badge's name.
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "pm-1", Email: email, ResponderCredential: good})
	if err != nil || g.Responder == nil || g.Responder.Organization != "Harbour Ambulance Service" || g.Responder.Name != "Pat Medic" {
		t.Fatalf("the good badge: %+v %v", g, err)
	}
	// From a picture of its QR code, as the page uploads it.
	png, err := qr.PNG(good, 256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredentialImage: png}); err != nil {
		t.Fatalf("the badge's QR code: %v", err)
	}
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredentialImage: []byte("not a picture")})
	if g != nil || emCode(err) != "invalid_badge_image" {
		t.Fatalf("a file that is no picture: %+v %v", g, err)
	}
	l, _ := env.App.EmergencyLog(ctx, grace)
	var granted []*app.EmergencyLogEntry
	for _, e := range l.Entries {
		if e.Outcome == app.OutcomeGranted {
			granted = append(granted, e)
		}
	}
	if len(granted) != 2 || granted[0].ResponderOrganization != "Harbour Ambulance Service" || granted[0].ResponderName != "Pat Medic" || !granted[0].Verified ||
		l.Grants[0]["responder_organization"] != "Harbour Ambulance Service" || len(l.Entries) != 9 {
		t.Fatalf("log: %d entries, granted %+v, grants %+v", len(l.Entries), granted, l.Grants)
	}

	// It expires in time; an organization no longer trusted opens nothing.
	env.Clock.Advance(app.DefaultBadgeAge + time.Second)
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: good})
	wantNotVerified(t, "the badge after its expiry", g, err)
	now = env.Clock.Now()
	fresh := rsBadge(t, priv, "PM-1", now, now.Add(time.Hour))
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: fresh}); err != nil {
		t.Fatalf("a fresh badge: %v", err)
	}
	if err := env.App.UntrustResponderOrg(ctx, org.KeyID); err != nil {
		t.Fatal(err)
	}
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: fresh})
	wantNotVerified(t, "a badge of an organization no longer trusted", g, err)
	if err := env.App.UntrustResponderOrg(ctx, org.KeyID); emCode(err) != "unknown_organization" {
		t.Fatalf("untrust twice: %v", err)
	}

	// A trusted row written into the database by someone without the
	// installation key is not trusted.
	if _, err := emRaw(t, env.Dir).Exec(`INSERT INTO responder_orgs(key_id, details, created_at) VALUES (?,?,?)`, org.KeyID, []byte(`{"name":"x"}`), 0); err != nil {
		t.Fatal(err)
	}
	g, err = rsGrant(env, app.GrantRequest{ResponderID: "PM-1", Email: email, ResponderCredential: fresh})
	wantNotVerified(t, "a badge under a planted organization", g, err)
}

// TestGrantRateLimitPerResponderID: attempts naming one responder id are
// counted across every profile and address, atomically: parallel attempts
// cannot slip past the limit.
func TestGrantRateLimitPerResponderID(t *testing.T) {
	env := storetest.New(t, app.Config{})
	ctx := context.Background()
	var emails []string
	for i := 0; i < 3; i++ {
		emails = append(emails, fmt.Sprintf("u%d@example.org", i))
		rsSetup(t, env, emails[i])
	}
	r, _ := env.App.AddResponder(ctx, app.Responder{ID: "EMT-1"})
	const n = 24 // 8 a profile: under the per-profile limit
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := env.App.GrantEmergency(ctx, app.GrantRequest{
				ResponderID: "EMT-1", Reason: "guess", Email: emails[i%3], Client: fmt.Sprintf("203.0.113.%d", i),
				ResponderSecret: fmt.Sprintf("GUESS-%d", i),
			})
			mu.Lock()
			codes[emCode(err)]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	// Exactly the limit is checked; the rest are refused by it, or, on a
	// loaded machine, told the server is busy (the Argon2id queue bound:
	// their count given back, nothing checked).
	if codes["responder_not_verified"] != app.GrantResponderLimit || codes["rate_limited"]+codes["busy"] != n-app.GrantResponderLimit {
		t.Fatalf("outcomes %v, want %d refused and the rest rate-limited or busy", codes, app.GrantResponderLimit)
	}
	// Another id is not held off; after the window the responder is back.
	other, _ := env.App.AddResponder(ctx, app.Responder{ID: "EMT-2"})
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-2", Email: emails[0], ResponderSecret: other.Secret}); err != nil {
		t.Fatalf("another responder: %v", err)
	}
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "emt-1", Email: emails[1], ResponderSecret: "GUESS"}); emCode(err) != "rate_limited" {
		t.Fatalf("over the limit: %v", err)
	}
	// The responder's own secret passes over the limit (issue 12 §4),
	// and clears it.
	if _, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-1", Email: emails[1], ResponderSecret: r.Secret}); err != nil {
		t.Fatalf("the responder over the limit: %v", err)
	}
	g, err := rsGrant(env, app.GrantRequest{ResponderID: "EMT-1", Email: emails[2], ResponderSecret: "GUESS"})
	wantNotVerified(t, "a guess after the grant", g, err)
}
