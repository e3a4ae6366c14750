package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/ui"
)

func ringsScreen(t *testing.T, u *ui.UI) *ui.RingsScreen {
	t.Helper()
	r, ok := u.Shell.Screen("Privacy rings").(*ui.RingsScreen)
	if !ok {
		t.Fatal("no Privacy rings screen")
	}
	t.Cleanup(func() {
		waitFor(t, "the rings screen to be idle", func() bool { return u.Shell == nil || u.Shell.Idle() })
	})
	ui.OnUI(func() { u.Shell.Select("Privacy rings") })
	waitFor(t, "the rings to load", func() bool { return u.Shell.Idle() && r.Ring(app.RingPublic) != nil })
	return r
}

// storedRing is a ring as the app has it now.
func storedRing(t *testing.T, a *app.App, p *app.Principal, name string) app.RingView {
	t.Helper()
	rs, err := a.Rings(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no ring %q in the store", name)
	return app.RingView{}
}

func listHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRingsShowAndMoveAField(t *testing.T) {
	u, env, _ := signedIn(t)
	r := ringsScreen(t, u)
	// What the app says is what the screen shows.
	waitFor(t, "the fields in their rings", func() bool {
		return strings.Contains(r.Ring(app.RingPublic).Fields.Text, "Name") &&
			strings.Contains(r.Ring(app.RingSemiPrivate).Fields.Text, "E-mail")
	})
	if r.Ring(app.RingRestricted) == nil || r.Ring(app.RingPrivate) == nil {
		t.Fatal("a built-in ring is missing")
	}
	// Fields by their labels, not their keys (issue 15 §3).
	if got := r.Ring(app.RingPublic).Fields.Text; got != "Fields: Handle, Name" || !listHas(r.MoveField.Options, "E-mail") {
		t.Fatalf("public ring %q, fields offered %v", got, r.MoveField.Options)
	}

	// Nothing chosen: a hint, no call.
	tap(r.Move)
	if u.Shell.Status.Text != "Choose a field and the ring to move it to." {
		t.Fatalf("status %q", u.Shell.Status.Text)
	}
	ui.OnUI(func() { r.MoveField.SetSelected("E-mail") })
	ui.OnUI(func() { r.MoveTo.SetSelected(app.RingRestricted) })
	tap(r.Move)
	waitFor(t, "email in restricted", func() bool {
		return strings.Contains(r.Ring(app.RingRestricted).Fields.Text, "E-mail") &&
			!strings.Contains(r.Ring(app.RingSemiPrivate).Fields.Text, "E-mail")
	})
	if got := storedRing(t, env.App, u.Principal(), app.RingRestricted); !listHas(got.Fields, "email") {
		t.Fatalf("store: restricted ring holds %v", got.Fields)
	}
	// A restricted field can no longer be shared.
	_, err := env.App.CreateShare(context.Background(), u.Principal(), app.ShareRequest{ServiceID: "shop.example", InfoField: "email"})
	if appErrorCode(err) != "field_restricted" {
		t.Fatalf("sharing a restricted field: %v", err)
	}
}

func TestRingsCreateCustomRing(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	if _, err := env.App.UpdateInfo(ctx, u.Principal(), []byte(`{"phone":"+15551234567"}`)); err != nil {
		t.Fatal(err)
	}
	r := ringsScreen(t, u)
	waitFor(t, "phone listed", func() bool { return u.Shell.Idle() && strings.Contains(r.Ring(app.RingPrivate).Fields.Text, "Phone") })

	// A ring must start with something in it.
	typeIn(r.NewName, "Family")
	tap(r.Create)
	if u.Shell.Status.Text != "Choose a field or a service to put in the new ring." {
		t.Fatalf("status %q", u.Shell.Status.Text)
	}
	ui.OnUI(func() { r.NewLevel.SetSelected(app.RingSemiPrivate) })
	ui.OnUI(func() { r.NewField.SetSelected("Phone") })
	tap(r.Create)
	waitFor(t, "the Family ring", func() bool {
		row := r.Ring("Family")
		return u.Shell.Idle() && row != nil && strings.Contains(row.Title.Text, "protected as semi-private") &&
			strings.Contains(row.Fields.Text, "Phone") &&
			!strings.Contains(r.Ring(app.RingPrivate).Fields.Text, "Phone")
	})
	got := storedRing(t, env.App, u.Principal(), "Family")
	if !got.Custom || got.Level != app.RingSemiPrivate || !listHas(got.Fields, "phone") {
		t.Fatalf("store: %+v", got)
	}
	// The new ring is offered as a destination and a role.
	if !listHas(r.MoveTo.Options, "Family") || !listHas(r.RoleRing.Options, "Family") {
		t.Fatalf("ring choices: %v / %v", r.MoveTo.Options, r.RoleRing.Options)
	}
	screenFitsPhone(t, u, "Privacy rings")

	// The same name again is refused on screen.
	typeIn(r.NewName, "family")
	ui.OnUI(func() { r.NewField.SetSelected("E-mail") })
	tap(r.Create)
	if u.Shell.Status.Text != "There is a ring named Family already." {
		t.Fatalf("status %q", u.Shell.Status.Text)
	}
}

func TestRingsGiveAServiceARole(t *testing.T) {
	u, env, _ := signedIn(t)
	ctx := context.Background()
	p := u.Principal()
	if _, err := env.App.UpdateInfo(ctx, p, []byte(`{"phone":"+15551234567"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.SetRing(ctx, p, app.RingRequest{Name: "Family", Level: app.RingSemiPrivate, Fields: []string{"phone"}}); err != nil {
		t.Fatal(err)
	}
	r := ringsScreen(t, u)
	waitFor(t, "the Family ring", func() bool { return u.Shell.Idle() && r.Ring("Family") != nil })

	typeIn(r.RoleService, "grocer.example")
	ui.OnUI(func() { r.RoleRing.SetSelected("Family") })
	tap(r.GiveRole)
	waitFor(t, "grocer.example holding Family", func() bool {
		row := r.Ring("Family")
		return row != nil && strings.Contains(row.Services.Text, "grocer.example")
	})
	if got := storedRing(t, env.App, p, "Family"); !listHas(got.Services, "grocer.example") {
		t.Fatalf("store: Family's services %v", got.Services)
	}
	// Through its role the service now sees Family's field (and the less
	// protected ones), never a private one.
	acc, err := env.App.Access(ctx, p)
	if err != nil || len(acc) != 1 || acc[0].Role != "Family" {
		t.Fatalf("access: %+v %v", acc, err)
	}
	seen := map[string]string{}
	for _, s := range acc[0].Sees {
		seen[s.Field] = s.Via
	}
	if seen["phone"] != "role" || seen["email"] != "role" || seen["name"] != "role" {
		t.Fatalf("grocer.example sees %v", seen)
	}
	// The service is now offered in the role and new-ring forms.
	waitFor(t, "service offered", func() bool { return listHas(r.ServiceChoices(), "grocer.example") })
}
