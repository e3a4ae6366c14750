package ui

// The Privacy rings screen: which field sits in which ring and which
// services hold each ring as their role; move fields, create custom rings,
// give a service a ring as its role.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// RingsScreen shows which field sits in which privacy ring and which
// services hold each ring as their role; it moves fields, creates custom
// rings on a built-in base level, and gives a service a ring as its role.
type RingsScreen struct {
	shell *Shell

	rings    []app.RingView
	fields   []string          // the fields' labels, as the Field boxes offer them
	keys     map[string]string // a field's label → its key
	services []string

	// Rings: a row per ring, built-in rings first.
	Rings   []*RingRow
	ringBox *fyne.Container

	// Move a field to a ring.
	MoveField *widget.Select
	MoveTo    *widget.Select
	Move      *widget.Button
	Moved     *widget.Label // under Move: what it did

	// Create a custom ring: its name, base level, and the first field
	// and/or service placed in it (a ring holds at least one).
	NewName    *widget.Entry
	NewLevel   *widget.Select
	NewField   *widget.Select
	NewService *widget.SelectEntry
	Create     *widget.Button
	Created    *widget.Label // under Create ring: what it did

	// Give a service a ring as its role.
	RoleService *widget.SelectEntry
	RoleRing    *widget.Select
	GiveRole    *widget.Button
	Given       *widget.Label // under Give role: what it did
}

// RingRow is one ring on screen.
type RingRow struct {
	Ring     app.RingView
	Title    *widget.Label
	Fields   *widget.Label
	Services *widget.Label
}

var builtinLevels = []string{app.RingPublic, app.RingSemiPrivate, app.RingPrivate, app.RingRestricted}

func (r *RingsScreen) build() fyne.CanvasObject {
	r.ringBox = container.NewVBox()

	r.MoveField = widget.NewSelect(nil, nil)
	r.MoveField.PlaceHolder = "(choose a field)"
	r.MoveTo = widget.NewSelect(builtinLevels, nil)
	r.MoveTo.PlaceHolder = "(choose a ring)"
	r.Move = widget.NewButtonWithIcon("Move", theme.NavigateNextIcon(), r.move)

	r.NewName = widget.NewEntry()
	r.NewName.SetPlaceHolder("Family")
	r.NewLevel = widget.NewSelect(builtinLevels, nil)
	r.NewLevel.SetSelected(app.RingPrivate)
	r.NewField = widget.NewSelect(nil, nil)
	r.NewField.PlaceHolder = "(none)"
	r.NewService = widget.NewSelectEntry(nil)
	r.NewService.SetPlaceHolder("(none)")
	r.Create = widget.NewButtonWithIcon("Create ring", theme.ContentAddIcon(), r.create)

	r.RoleService = widget.NewSelectEntry(nil)
	r.RoleService.SetPlaceHolder("shop.example.com")
	r.RoleRing = widget.NewSelect(builtinLevels, nil)
	r.RoleRing.PlaceHolder = "(choose a ring)"
	r.GiveRole = widget.NewButtonWithIcon("Give role", theme.ConfirmIcon(), r.giveRole)
	r.Moved, r.Created, r.Given = notice(), notice(), notice()

	return page(
		section("",
			wrapped("Each field sits in a ring. A service sees the fields of the ring it holds as its role and of every less protected ring; restricted fields never leave through a role or a share."),
			r.ringBox),
		section("Move a field", form(formRow{"Field", r.MoveField}, formRow{"To ring", r.MoveTo}), r.Move, r.Moved),
		section("New custom ring",
			wrapped("A custom ring protects its fields like its base level. It starts with a field or a service (or both)."),
			form(formRow{"Name", r.NewName}, formRow{"Base level", r.NewLevel},
				formRow{"Field", r.NewField}, formRow{"Service", r.NewService}),
			r.Create, r.Created),
		section("Give a service a role", form(formRow{"Service", r.RoleService}, formRow{"Ring", r.RoleRing}), r.GiveRole, r.Given),
	)
}

// ringsView is what the screen shows: the rings, and the services with
// access now.
type ringsView struct {
	rings  []app.RingView
	access []app.ServiceAccess
}

func (r *RingsScreen) refresh() { load(r.shell, "Loading your rings", r.fetch, r.show) }

func (r *RingsScreen) fetch(ctx context.Context, pr *app.Principal) (v ringsView, err error) {
	if v.rings, err = r.shell.u.app.Rings(ctx, pr); err == nil {
		v.access, err = r.shell.u.app.Access(ctx, pr)
	}
	return v, err
}

// ServiceChoices are the services the Service boxes offer: those with
// access now.
func (r *RingsScreen) ServiceChoices() []string { return r.services }

// Ring returns the row of the ring with that name, or nil.
func (r *RingsScreen) Ring(name string) *RingRow {
	row, _ := find(r.Rings, func(row *RingRow) bool { return row.Ring.Name == name })
	return row
}

func (r *RingsScreen) show(v ringsView) {
	r.rings = v.rings
	r.fields, r.keys = nil, map[string]string{}
	for _, ring := range v.rings {
		for _, k := range ring.Fields {
			r.fields = append(r.fields, keyLabel(k))
			r.keys[keyLabel(k)] = k
		}
	}
	sort.Strings(r.fields)
	r.services = nil
	for _, sa := range v.access {
		if sa.RevokedAt.IsZero() {
			r.services = append(r.services, sa.ServiceID)
		}
	}

	r.Rings = nil
	var objs []fyne.CanvasObject
	var names []string
	for _, v := range r.rings {
		names = append(names, v.Name)
		title := v.Name
		if v.Custom {
			title += " (custom, protected as " + v.Level + ")"
		}
		fields := "No fields."
		if len(v.Fields) > 0 {
			labels := keyLabels(v.Fields)
			sort.Strings(labels)
			fields = "Fields: " + strings.Join(labels, ", ")
		}
		services := "No service holds this ring as its role."
		if len(v.Services) > 0 {
			services = "Role of: " + strings.Join(v.Services, ", ")
		}
		row := &RingRow{Ring: v, Title: boldWrapped(title), Fields: wrapped(fields), Services: wrapped(services)}
		r.Rings = append(r.Rings, row)
		objs = append(objs, row.Title, row.Fields, row.Services, widget.NewSeparator())
	}
	fill(r.ringBox, "", objs)

	r.MoveField.SetOptions(r.fields)
	r.MoveTo.SetOptions(names)
	r.RoleRing.SetOptions(names)
	r.NewField.SetOptions(append([]string{""}, r.fields...))
	r.NewService.SetOptions(r.services)
	r.RoleService.SetOptions(r.services)
}

// setRing runs one SetRing and reloads; what it did shows in the notice
// under its button.
func (r *RingsScreen) setRing(near *widget.Label, what, done string, req app.RingRequest, after func()) {
	r.shell.at(near).act(what, func(ctx context.Context, pr *app.Principal) error {
		_, err := r.shell.u.app.SetRing(ctx, pr, req)
		return err
	}, func() {
		r.shell.say(done)
		if after != nil {
			after()
		}
		r.refresh()
	})
}

func (r *RingsScreen) move() {
	field, ring := r.MoveField.Selected, r.MoveTo.Selected
	if field == "" || ring == "" {
		r.shell.at(r.Moved).say("Choose a field and the ring to move it to.")
		return
	}
	r.setRing(r.Moved, "Moving "+field, fmt.Sprintf("Moved %s to %s.", field, ring),
		app.RingRequest{Name: ring, Fields: []string{r.keys[field]}}, nil)
}

func (r *RingsScreen) create() {
	name := strings.TrimSpace(r.NewName.Text)
	if name == "" {
		r.shell.at(r.Created).say("Give the new ring a name.")
		return
	}
	if app.BuiltinRing(strings.ToLower(name)) {
		r.shell.at(r.Created).say(name + " is a built-in ring; choose another name.")
		return
	}
	for _, v := range r.rings {
		if strings.EqualFold(v.Name, name) {
			r.shell.at(r.Created).say("There is a ring named " + v.Name + " already.")
			return
		}
	}
	req := app.RingRequest{Name: name, Level: r.NewLevel.Selected}
	if f := r.NewField.Selected; f != "" {
		req.Fields = []string{r.keys[f]}
	}
	if s := strings.TrimSpace(r.NewService.Text); s != "" {
		req.Services = []string{s}
	}
	if len(req.Fields) == 0 && len(req.Services) == 0 {
		r.shell.at(r.Created).say("Choose a field or a service to put in the new ring.")
		return
	}
	r.setRing(r.Created, "Creating "+name, fmt.Sprintf("Created the ring %s, protected as %s.", name, req.Level), req, func() {
		r.NewName.SetText("")
		r.NewField.ClearSelected()
		r.NewService.SetText("")
	})
}

func (r *RingsScreen) giveRole() {
	svc, ring := strings.TrimSpace(r.RoleService.Text), r.RoleRing.Selected
	if svc == "" || ring == "" {
		r.shell.at(r.Given).say("Choose a service and the ring to give it.")
		return
	}
	r.setRing(r.Given, "Giving "+svc+" a role", fmt.Sprintf("%s now holds the %s ring.", svc, ring),
		app.RingRequest{Name: ring, Services: []string{svc}}, nil)
}
