package httpapi_test

import "testing"

// TestRevokeOneShare: revoke-access with a verification_token ends that
// one share of the service; its other shares and its role stay (issue 15
// §4).
func TestRevokeOneShare(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice@example.org")
	bob := e.user(t, "bob@example.org")
	a1 := e.share(t, alice, "acme", "email").str("verification_token")
	a2 := e.share(t, alice, "acme", "name").str("verification_token")
	b1 := e.share(t, bob, "acme", "email").str("verification_token")
	e.ring(t, alice, "semi-private", map[string]any{"services": []string{"acme"}})
	path := "/api/v1/profile/revoke-access"

	r := e.form(t, "POST", path, "token", alice, "service_id", "acme", "verification_token", a1)
	want(t, r, 200, "success", "")
	if r.Body["revoked"] != float64(1) {
		t.Fatalf("revoked: %s", r.Raw)
	}
	want(t, e.verify(t, a1), 410, "verification_token has been revoked!", "verification_token_revoked")
	want(t, e.verify(t, a2), 200, "success", "")
	// Again: nothing more to end. Bob's token from Alice's session, or
	// Alice's under another service, ends nothing.
	for _, p := range [][]string{{"acme", a1}, {"acme", b1}, {"other", a2}} {
		r = e.form(t, "DELETE", path, "token", alice, "service_id", p[0], "verification_token", p[1])
		want(t, r, 200, "success", "")
		if r.Body["revoked"] != float64(0) {
			t.Fatalf("%v: %s", p, r.Raw)
		}
	}
	want(t, e.verify(t, a2), 200, "success", "")
	want(t, e.verify(t, b1), 200, "success", "")
	// The role stays: acme still sees the semi-private ring.
	acc := e.form(t, "GET", "/api/v1/profile/access", "token", alice)
	for _, x := range acc.Body["services"].([]any) {
		s := x.(map[string]any)
		if s["service_id"] == "acme" && (s["revoked_at"] != nil || s["role"] != "semi-private") {
			t.Fatalf("acme after one share's revocation: %v", s)
		}
	}
}
