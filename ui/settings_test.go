package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

// fakeNet answers the app's fetches as the network would: at
// home.example.org a device of the profile (the app itself proves it),
// at other.example.org a web server that is not this app, and nothing at
// any other host.
type fakeNet struct{ a *app.App }

func (n *fakeNet) fetch(ctx context.Context, raw string) (int, []byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case u.Host == "home.example.org" && u.Path == "/api/v1/healthz":
		proof, err := n.a.HostProof(ctx, u.Query().Get("profile"), u.Query().Get("nonce"))
		if err != nil {
			return 500, nil, err
		}
		b, _ := json.Marshal(map[string]string{"status": "success", "proof": proof})
		return 200, b, nil
	case u.Host == "home.example.org" && strings.HasPrefix(u.Path, app.ShareStatusPath):
		state, err := n.a.ShareState(ctx, strings.TrimPrefix(u.Path, app.ShareStatusPath))
		if err != nil {
			return 404, []byte(`{"status":"error"}`), nil
		}
		b, _ := json.Marshal(map[string]string{"status": "success", "state": state})
		return 200, b, nil
	case u.Host == "other.example.org":
		return 404, []byte("<html>Not found</html>"), nil
	}
	return 0, nil, errors.New("dial tcp: connect: connection refused")
}

// signedInOnNet is signedIn with the app's fetches going to a fakeNet.
func signedInOnNet(t *testing.T) *ui.UI {
	t.Helper()
	n := &fakeNet{}
	u, env, _ := signedInWith(t, app.Config{Fetch: n.fetch})
	n.a = env.App
	return u
}

func settingsScreen(t *testing.T, u *ui.UI) *ui.SettingsScreen {
	t.Helper()
	s := u.Shell.Settings
	t.Cleanup(func() {
		waitFor(t, "the settings screen to be idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	ui.OnUI(func() { u.Shell.Select("Settings") })
	waitFor(t, "the settings to load", func() bool { return u.Shell.Idle() && s.URLSource.Text != "" })
	return s
}

// setPublicURL types a public URL and saves it.
func setPublicURL(t *testing.T, u *ui.UI, s *ui.SettingsScreen, v string) {
	t.Helper()
	ui.OnUI(func() { s.PublicURL.SetText("") })
	typeIn(s.PublicURL, v)
	tap(s.SavePublicURL)
	waitFor(t, "the public URL saved", func() bool { return u.Shell.Idle() && strings.HasPrefix(u.Shell.Status.Text, "Public URL saved") })
}

// checkNow runs the reachability check and returns what it says.
func checkNow(t *testing.T, u *ui.UI, s *ui.SettingsScreen) string {
	t.Helper()
	tap(s.CheckReach)
	waitFor(t, "the check", func() bool { return u.Shell.Idle() && !s.CheckProgress.Visible() })
	if s.CheckReach.Disabled() {
		t.Fatal("Check now stays disabled")
	}
	return s.CheckResult.Text
}

func TestSettingsPublicURLAndReachabilityCheck(t *testing.T) {
	u := signedInOnNet(t)
	s := settingsScreen(t, u)
	if s.PublicURL.Text != "" || !strings.Contains(s.URLSource.Text, "No public URL is set") {
		t.Fatalf("a new profile's public URL: %q, %q", s.PublicURL.Text, s.URLSource.Text)
	}
	if !strings.HasPrefix(s.Reach.Text, "Only this device can open your codes and links") {
		t.Fatalf("reach: %q", s.Reach.Text)
	}
	if got := checkNow(t, u, s); got != "Nothing answers at http://127.0.0.1:8000: the connection was refused." {
		t.Fatalf("check with no public URL: %q", got)
	}

	// A wrong URL is the app's error, shown; nothing changes.
	ui.OnUI(func() { s.PublicURL.SetText("") })
	typeIn(s.PublicURL, "ftp://home.example.org")
	tap(s.SavePublicURL)
	waitFor(t, "the error", func() bool {
		return u.Shell.Status.Text == "That is not a web address this profile can be reached at: type it as https://name.example (no user name, ? or #)."
	})

	setPublicURL(t, u, s, "https://home.example.org/")
	if s.PublicURL.Text != "https://home.example.org" || !strings.Contains(s.URLSource.Text, "this profile's setting") ||
		s.Reach.Text != "Anyone can open your codes and links." {
		t.Fatalf("after saving: %q, %q, %q", s.PublicURL.Text, s.URLSource.Text, s.Reach.Text)
	}
	if got := checkNow(t, u, s); got != "Answered by a device of this profile at https://home.example.org." {
		t.Fatalf("check at the home node: %q", got)
	}

	setPublicURL(t, u, s, "https://other.example.org")
	if got := checkNow(t, u, s); got != "Something else answers at https://other.example.org: not this app (HTTP 404)." {
		t.Fatalf("check at another server: %q", got)
	}

	setPublicURL(t, u, s, "http://spp.lan:8000")
	if !strings.HasPrefix(s.Reach.Text, "Only devices on your network can open your codes and links") {
		t.Fatalf("reach of a .lan name: %q", s.Reach.Text)
	}
	if got := checkNow(t, u, s); !strings.HasPrefix(got, "Nothing answers at http://spp.lan:8000: ") {
		t.Fatalf("check where nothing answers: %q", got)
	}
	screenFitsPhone(t, u, "Settings")
}

// Every code then says who can open it: a share's, once the profile's
// public URL is one anyone reaches.
func TestSettingsPublicURLMakesCodesOpenToAnyone(t *testing.T) {
	u := signedInOnNet(t)
	setPublicURL(t, u, settingsScreen(t, u), "https://home.example.org")
	s := sharingScreen(t, u)
	typeIn(s.Service, "club.example")
	ui.OnUI(func() { s.Field.SetText("email") })
	tap(s.ShareButton)
	waitFor(t, "the share's code", func() bool { return strings.HasPrefix(s.VerifyURL.Text, "https://home.example.org/api/v1/verify#") })
	if s.Reach.Text.Text != "Anyone can open this." {
		t.Fatalf("who can open it: %q", s.Reach.Text.Text)
	}
}

func TestSettingsCheckWithoutNetworkClient(t *testing.T) {
	u, _, _ := signedIn(t)
	s := settingsScreen(t, u)
	if got := checkNow(t, u, s); got != "The check could not be made: this device cannot make the check (no HTTP client)." {
		t.Fatalf("check with no client: %q", got)
	}
}
