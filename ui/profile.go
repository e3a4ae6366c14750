package ui

// The My profile screen: every field with its value and ring; edit a
// value, move a field to another ring, add a field, remove one.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// ProfileScreen lists every profile field with its value and ring, and
// edits one at a time: change its value, move it to another ring, add a
// field, remove one. Changes are saved at once; every share, link and page
// reads the new value on its next read.
type ProfileScreen struct {
	shell     *Shell
	fields    []app.Field
	rings     []string
	ringNames map[string]string // custom ring id → name

	List     *widget.List
	Name     *widget.Entry
	Value    *widget.Entry
	Ring     *widget.Select
	Save     *widget.Button
	Remove   *widget.Button
	NewField *widget.Button
	Who      *widget.Label
}

func (p *ProfileScreen) build() fyne.CanvasObject {
	p.Who = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.List = widget.NewList(
		func() int { return len(p.fields) },
		func() fyne.CanvasObject {
			name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			value := widget.NewLabel("")
			value.Truncation = fyne.TextTruncateEllipsis
			ring := widget.NewLabel("")
			return container.NewBorder(nil, nil, name, ring, value)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			f := p.fields[i]
			c := o.(*fyne.Container)
			c.Objects[1].(*widget.Label).SetText(f.Name)
			c.Objects[2].(*widget.Label).SetText(p.ringName(f.Ring))
			c.Objects[0].(*widget.Label).SetText(f.Text())
		},
	)
	p.List.OnSelected = func(i widget.ListItemID) { p.edit(p.fields[i]) }

	p.Name = widget.NewEntry()
	p.Name.SetPlaceHolder("field_name")
	p.Value = widget.NewMultiLineEntry()
	p.Value.Wrapping = fyne.TextWrapWord
	p.Value.SetMinRowsVisible(2)
	p.Ring = widget.NewSelect(builtinLevels, nil)
	p.Save = primary("Save", theme.DocumentSaveIcon(), p.save)
	p.Remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), p.remove)
	p.NewField = widget.NewButtonWithIcon("New", theme.ContentAddIcon(), func() {
		p.List.UnselectAll()
		p.edit(app.Field{Ring: app.RingPrivate, Value: json.RawMessage("null")})
	})
	editor := container.NewVBox(
		form(formRow{"Field", p.Name}, formRow{"Value", p.Value}, formRow{"Ring", p.Ring}),
		container.NewHBox(p.Save, p.Remove, p.NewField),
	)
	return container.NewBorder(container.NewVBox(p.Who, widget.NewSeparator()), editor, nil, nil, p.List)
}

// edit shows a field in the editor.
func (p *ProfileScreen) edit(f app.Field) {
	p.shell.u.Touch()
	p.Name.SetText(f.Name)
	p.Value.SetText(f.Text())
	p.Ring.SetSelected(p.ringName(f.Ring))
}

// ringName is how a field's ring is shown: a built-in level as it is, a
// custom ring by its name.
func (p *ProfileScreen) ringName(ring string) string {
	if n, ok := p.ringNames[ring]; ok {
		return n
	}
	return ring
}

// profileView is what the screen shows: the fields and the rings (their
// names, and custom rings' names by id).
type profileView struct {
	fields    []app.Field
	rings     []string
	ringNames map[string]string
}

func (p *ProfileScreen) refresh() { load(p.shell, "Loading your profile", p.fetch, p.show) }

func (p *ProfileScreen) fetch(ctx context.Context, pr *app.Principal) (v profileView, err error) {
	if v.fields, err = p.shell.u.app.Fields(ctx, pr); err != nil {
		return v, err
	}
	rs, err := p.shell.u.app.Rings(ctx, pr)
	v.ringNames = map[string]string{}
	for _, r := range rs {
		v.rings = append(v.rings, r.Name)
		if r.RingID != "" {
			v.ringNames[r.RingID] = r.Name
		}
	}
	return v, err
}

func (p *ProfileScreen) show(v profileView) {
	p.fields = v.fields
	p.ringNames = v.ringNames
	if len(v.rings) > 0 {
		p.rings = v.rings
		p.Ring.SetOptions(v.rings)
	}
	var name, email string
	for _, f := range v.fields {
		switch f.Name {
		case "name":
			name = f.Text()
		case "email":
			email = f.Text()
		}
	}
	p.Who.SetText(strings.TrimSpace(fmt.Sprintf("%s <%s>", name, email)))
	p.List.Refresh()
}

// Field returns the field shown with the given name (for tests and the
// other screens), and whether it is there.
func (p *ProfileScreen) Field(name string) (app.Field, bool) {
	return find(p.fields, func(f app.Field) bool { return f.Name == name })
}

func (p *ProfileScreen) save() {
	name := strings.ToLower(strings.TrimSpace(p.Name.Text))
	value, _ := json.Marshal(p.Value.Text)
	ring := p.Ring.Selected
	old, existed := p.Field(name)
	oldRing := p.ringName(old.Ring)
	text := p.Value.Text
	p.shell.act("Saving "+name, func(ctx context.Context, pr *app.Principal) error {
		a := p.shell.u.app
		if !existed || old.Text() != text {
			if _, err := a.UpdateInfo(ctx, pr, json.RawMessage(`{"`+name+`":`+string(value)+`}`)); err != nil {
				return err
			}
		}
		if ring != "" && ring != oldRing {
			if _, err := a.SetRing(ctx, pr, app.RingRequest{Name: ring, Fields: []string{name}}); err != nil {
				return err
			}
		}
		return nil
	}, func() {
		p.shell.say("Saved " + name + ".")
		p.refresh()
	})
}

func (p *ProfileScreen) remove() {
	name := strings.TrimSpace(p.Name.Text)
	if _, ok := p.Field(name); !ok {
		p.shell.say("Choose a field to remove.")
		return
	}
	p.shell.act("Removing "+name, func(ctx context.Context, pr *app.Principal) error {
		return p.shell.u.app.RemoveField(ctx, pr, name)
	}, func() {
		p.shell.say("Removed " + name + ".")
		p.List.UnselectAll()
		p.edit(app.Field{Ring: app.RingPrivate, Value: json.RawMessage("null")})
		p.refresh()
	})
}
