package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

// TestSharingRevokeOneShare: a service's share is revoked alone, its
// other share still verifies (issue 15 §4).
func TestSharingRevokeOneShare(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	one, err := env.App.CreateShare(ctx, u.Principal(), app.ShareRequest{ServiceID: "club.example", InfoField: "email"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := env.App.CreateShare(ctx, u.Principal(), app.ShareRequest{ServiceID: "club.example", InfoField: "name"})
	if err != nil {
		t.Fatal(err)
	}
	s := sharingScreen(t, u)
	waitFor(t, "club.example's shares listed", func() bool {
		r := s.ServiceRow("club.example")
		return r != nil && r.RevokeShare[one.ShareID] != nil && r.RevokeShare[other.ShareID] != nil
	})
	b := s.ServiceRow("club.example").RevokeShare[one.ShareID]
	tap(b)
	tap(b)
	waitFor(t, "the one share revoked", func() bool {
		r := s.ServiceRow("club.example")
		return r != nil && r.RevokeShare[one.ShareID] == nil && r.RevokeShare[other.ShareID] != nil && r.Revoke != nil
	})
	if _, err := env.App.Verify(ctx, one.VerificationToken); appErrorCode(err) != "verification_token_revoked" {
		t.Fatalf("the revoked share: %v", err)
	}
	if _, err := env.App.Verify(ctx, other.VerificationToken); err != nil {
		t.Fatalf("the other share: %v", err)
	}
	if st := s.ServicesNotice.Text; !strings.Contains(st, "Revoked your e-mail for club.example") {
		t.Fatalf("status %q", st)
	}
}

// TestSharingNoticeUnderShare: what sharing did is said under the Share
// button and stays after the reload that follows (issue 15 §10).
func TestSharingNoticeUnderShare(t *testing.T) {
	u, _, _ := signedIn(t)
	s := sharingScreen(t, u)
	typeIn(s.Service, "club.example")
	ui.OnUI(func() { s.Field.SetText("email") })
	tap(s.ShareButton)
	waitFor(t, "the share said under its button", func() bool {
		return u.Shell.Idle() && s.ShareNotice.Visible() && strings.Contains(s.ShareNotice.Text, "Shared your e-mail with club.example")
	})
}
