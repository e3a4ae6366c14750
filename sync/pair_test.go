package p2psync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

func appErr(t *testing.T, err error, code string) {
	t.Helper()
	var e *app.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

// TestPairAndSyncBothWays pairs two devices over libp2p on 127.0.0.1 and
// checks that a change on either side arrives on the other.
func TestPairAndSyncBothWays(t *testing.T) {
	a, b := newDevice(t), newDevice(t)
	pa := a.register(t, "ada@example.org")
	a.set(t, pa, map[string]any{"phone": "+15551234567"})
	pb := b.join(t, a, pa, "phone")
	if pb.UserID != pa.UserID || pb.ProfileID != pa.ProfileID {
		t.Fatalf("joined as %s/%s, want %s/%s", pb.UserID, pb.ProfileID, pa.UserID, pa.ProfileID)
	}
	// The first sync ran during the join: the profile is there already.
	if got := b.field(t, pb, "phone"); got != "+15551234567" {
		t.Fatalf("phone on the new device = %q", got)
	}
	// The new device can sign in with the password on its own.
	if _, err := b.App.Login(context.Background(), "ada@example.org", password); err != nil {
		t.Fatalf("login on the new device: %v", err)
	}
	a.set(t, pa, map[string]any{"city": "London"})
	eventually(t, 10*time.Second, "a's change on b", func() bool { return b.field(t, pb, "city") == "London" })
	b.set(t, pb, map[string]any{"city": "Paris"})
	eventually(t, 10*time.Second, "b's change on a", func() bool { return a.field(t, pa, "city") == "Paris" })
	converged(t, pa.UserID, a, b)

	// Both list both devices, and each knows when it last synced with the other.
	for _, d := range []struct {
		dev *device
		p   *app.Principal
	}{{a, pa}, {b, pb}} {
		ds, err := d.dev.App.Devices(context.Background(), d.p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 {
			t.Fatalf("%d devices listed", len(ds))
		}
		for _, x := range ds {
			if x.Current != (x.ID == d.dev.DB.DeviceID()) {
				t.Fatalf("current flag wrong: %+v", x)
			}
			if !x.Current && x.LastSync.IsZero() {
				t.Fatalf("no last sync for %+v", x)
			}
		}
	}
}

func TestPairingCodeIsOneTimeAndExpires(t *testing.T) {
	ctx := context.Background()
	a, b, c := newDevice(t), newDevice(t), newDevice(t)
	pa := a.register(t, "ada@example.org")

	code, expires, err := a.App.PairCode(ctx, pa, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code, app.PairCodePrefix) || expires.Sub(a.App.Now()) > app.PairCodeTTL {
		t.Fatalf("code %q expires %v", code, expires)
	}
	pc, err := app.ParsePairCode(code)
	if err != nil || pc.PeerID != a.svc.PeerID() || len(pc.Addrs) == 0 {
		t.Fatalf("parsed %+v, %v", pc, err)
	}
	if _, err := b.App.Join(ctx, code, password, "b"); err != nil {
		t.Fatal(err)
	}
	// Used once: the same code fails cleanly on another device.
	_, err = c.App.Join(ctx, code, password, "c")
	appErr(t, err, "code_expired")
	if accts, _ := c.DB.Accounts(ctx); len(accts) != 0 {
		t.Fatal("a failed join left an account")
	}

	// Expired: refused by the joiner's clock before dialling...
	code, _, _ = a.App.PairCode(ctx, pa, "laptop")
	c.clock.Advance(app.PairCodeTTL + time.Second)
	_, err = c.App.Join(ctx, code, password, "c")
	appErr(t, err, "code_expired")
	// ...and by the host's clock when the joiner's is behind.
	c.clock.Advance(-app.PairCodeTTL - time.Second)
	a.clock.Advance(app.PairCodeTTL + time.Second)
	_, err = c.App.Join(ctx, code, password, "c")
	appErr(t, err, "code_expired")
	a.clock.Advance(-app.PairCodeTTL - time.Second)

	// A malformed code, a wrong password.
	_, err = c.App.Join(ctx, "spp-pair:not-base64!", password, "c")
	appErr(t, err, "invalid_code")
	code, _, _ = a.App.PairCode(ctx, pa, "laptop")
	_, err = c.App.Join(ctx, code, "not the password", "c")
	appErr(t, err, "invalid_credentials")
	if accts, _ := c.DB.Accounts(ctx); len(accts) != 0 {
		t.Fatal("a wrong password left an account")
	}
	// The host did not list the device that failed the password.
	ds, _ := a.App.Devices(ctx, pa)
	if len(ds) != 2 {
		t.Fatalf("host lists %d devices, want 2 (itself and b)", len(ds))
	}
}

// TestWrongSecretFailsWithoutSendingKeys tampers with the secret in a
// code: the joiner sees the host's proof fail and sends nothing more; the
// host never sends the account record.
func TestWrongSecretFailsWithoutSendingKeys(t *testing.T) {
	ctx := context.Background()
	a, c := newDevice(t), newDevice(t)
	pa := a.register(t, "ada@example.org")
	code, _, _ := a.App.PairCode(ctx, pa, "laptop")
	pc, _ := app.ParsePairCode(code)
	pc.Secret[0] ^= 1
	_, err := c.App.Join(ctx, pc.String(), password, "c")
	appErr(t, err, "pairing_failed")
	if strings.Contains(a.logs.String(), "device paired") {
		t.Fatal("host paired with a wrong secret")
	}
}

func TestPairCodeNeedsSync(t *testing.T) {
	d := newDevice(t)
	p := d.register(t, "ada@example.org")
	d.App.SetSyncer(nil)
	_, _, err := d.App.PairCode(context.Background(), p, "")
	appErr(t, err, "sync_off")
}
