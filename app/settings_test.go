package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

func TestReachability(t *testing.T) {
	for u, want := range map[string]string{
		"http://127.0.0.1:8000":         app.ReachThisDevice,
		"http://localhost:8000":         app.ReachThisDevice,
		"http://[::1]:8000":             app.ReachThisDevice,
		"http://192.168.1.20:8000":      app.ReachLocalNetwork,
		"http://10.0.0.5":               app.ReachLocalNetwork,
		"http://[fd00::5]":              app.ReachLocalNetwork,
		"http://homebox":                app.ReachLocalNetwork,
		"http://homebox.local":          app.ReachLocalNetwork,
		"https://profile.home.arpa":     app.ReachLocalNetwork,
		"https://profile.example.org":   app.ReachAnyone,
		"https://203.0.113.7":           app.ReachAnyone,
		"https://grace.example.net/spp": app.ReachAnyone,
		"http://100.101.102.103":        app.ReachLocalNetwork, // carrier-grade NAT / tailnet
	} {
		if got := app.Reachability(u); got != want {
			t.Errorf("Reachability(%s) = %s, want %s", u, got, want)
		}
	}
}

func TestNormalisePublicURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://profile.example.org/":      "https://profile.example.org",
		" https://profile.example.org/spp/": "https://profile.example.org/spp",
		"":                                  "",
	} {
		if got, err := app.NormalisePublicURL(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"ftp://x.example", "https://", "https://u:p@x.example", "https://x.example/?q=1", "https://x.example/#f", "profile.example.org", "javascript:alert(1)"} {
		if _, err := app.NormalisePublicURL(bad); app.AsError(err).Code != "invalid_public_url" {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// TestPublicURLIsTheProfiles: once the profile has a public URL, every
// link made for it starts with it, whatever this device's own base is;
// cleared, the device's base comes back.
func TestPublicURLIsTheProfiles(t *testing.T) {
	env := storetest.New(t, app.Config{PublicURL: "http://127.0.0.1:8000"})
	ctx := context.Background()
	p := newUser(t, env, "home@example.org")
	s, err := env.App.Settings(ctx, p)
	if err != nil || s.Source != app.URLFromDefault || s.Reachable != app.ReachThisDevice {
		t.Fatalf("before: %+v %v", s, err)
	}
	s, err = env.App.SetPublicURL(ctx, p, "https://profile.example.org/")
	if err != nil || s.PublicURL != "https://profile.example.org" || s.Source != app.URLFromProfile || s.Reachable != app.ReachAnyone {
		t.Fatalf("set: %+v %v", s, err)
	}
	if _, err := env.App.UpdateInfo(ctx, p, json.RawMessage(`{"phone":"+15550007777"}`)); err != nil {
		t.Fatal(err)
	}
	sh, err := env.App.CreateShare(ctx, p, app.ShareRequest{ServiceID: "acme", InfoField: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := env.App.SetPublic(ctx, p, json.RawMessage(`"hi"`), "true")
	if err != nil {
		t.Fatal(err)
	}
	em, err := env.App.SetupEmergency(ctx, p, app.EmergencySetup{TrustedContacts: json.RawMessage(`["kin@example.org"]`), EmergencyInfo: json.RawMessage(`"x"`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.App.PutHealthRecord(ctx, p, "", "allergies", json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	link, err := env.App.CreateLink(ctx, p, app.LinkRequest{Records: json.RawMessage(`"allergies"`), DoctorEmail: "dr@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	qr, err := env.App.QRURL(ctx, p, app.QRLink, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	for what, u := range map[string]string{"verify URL": sh.VerifyURL, "public link": pub, "emergency page": em.URL, "health link": link.URL, "link QR": qr} {
		if !strings.HasPrefix(u, "https://profile.example.org/api/v1/") && !strings.HasPrefix(u, "https://profile.example.org/shl#shlink:/") {
			t.Errorf("%s = %s", what, u)
		}
	}
	if urls, err := env.App.PublicURLs(ctx); err != nil || len(urls) != 1 || urls[0] != "https://profile.example.org" {
		t.Errorf("PublicURLs = %v %v", urls, err)
	}
	if _, err := env.App.SetPublicURL(ctx, p, "ftp://nope"); app.AsError(err).Code != "invalid_public_url" {
		t.Errorf("bad URL: %v", err)
	}
	s, err = env.App.SetPublicURL(ctx, p, "")
	if err != nil || s.PublicURL != "http://127.0.0.1:8000" || s.Source != app.URLFromDefault {
		t.Fatalf("cleared: %+v %v", s, err)
	}
	if u, _ := env.App.QRURL(ctx, p, app.QRLink, link.ID); !strings.HasPrefix(u, "http://127.0.0.1:8000/") {
		t.Errorf("after clearing: %s", u)
	}
}
