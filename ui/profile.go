package ui

// The My profile screen: every field with its value and ring; edit a
// value, move a field to another ring, add a field (typed by its label,
// the common ones suggested, a date of birth with a calendar), remove one
// (after a confirmation).

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// ProfileScreen lists every profile field with its value and ring, and
// edits one at a time: change its value, move it to another ring, add a
// field, remove one. A field is shown and typed by its label ("Home
// address") and stored by its key (home_address, fields.go); the common
// fields the profile lacks are suggested in Name. Changes are saved at
// once (the notice under the buttons and the status line say what was
// saved); every share, link and page
// reads the new value on its next read. Removing asks first.
type ProfileScreen struct {
	shell     *Shell
	fields    []app.Field
	rings     []string
	ringNames map[string]string // custom ring id → name
	suggested []string          // what Name offers

	List     *widget.List
	Name     *widget.SelectEntry // the field's label
	Value    *widget.Entry
	DOB      *widget.DateEntry // shown instead of Value for the date of birth
	Ring     *widget.Select
	Save     *widget.Button
	Remove   *widget.Button
	NewField *widget.Button
	Notice   *widget.Label // under the buttons: what Save or Remove did
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
			c.Objects[1].(*widget.Label).SetText(keyLabel(f.Name))
			c.Objects[2].(*widget.Label).SetText(p.ringName(f.Ring))
			c.Objects[0].(*widget.Label).SetText(f.Text())
		},
	)
	p.List.OnSelected = func(i widget.ListItemID) { p.edit(p.fields[i]) }

	p.suggested = p.suggestions()
	p.Name = widget.NewSelectEntry(p.suggested)
	p.Name.SetPlaceHolder("e.g. Home address")
	p.Name.OnChanged = func(string) { p.showValueWidget() }
	p.Value = widget.NewMultiLineEntry()
	p.Value.Wrapping = fyne.TextWrapWord
	p.Value.SetMinRowsVisible(2)
	p.DOB = widget.NewDateEntry()
	p.DOB.Hide()
	p.Ring = widget.NewSelect(builtinLevels, nil)
	p.Save = primary("Save", theme.DocumentSaveIcon(), p.save)
	p.Remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), p.remove)
	p.NewField = widget.NewButtonWithIcon("New", theme.ContentAddIcon(), func() {
		p.List.UnselectAll()
		p.edit(app.Field{Ring: app.RingPrivate, Value: json.RawMessage("null")})
	})
	p.Notice = notice()
	editor := container.NewVBox(
		form(formRow{"Field", p.Name}, formRow{"Value", container.NewStack(p.Value, p.DOB)}, formRow{"Ring", p.Ring}),
		container.NewHBox(p.Save, p.Remove, p.NewField),
		p.Notice,
	)
	return container.NewBorder(container.NewVBox(p.Who, widget.NewSeparator()), editor, nil, nil, p.List)
}

// edit shows a field in the editor.
func (p *ProfileScreen) edit(f app.Field) {
	p.shell.u.Touch()
	p.Name.SetText(keyLabel(f.Name))
	p.Value.SetText(f.Text())
	if d, err := time.Parse(app.DateLayout, f.Text()); err == nil {
		p.DOB.SetDate(&d)
	} else {
		p.DOB.SetDate(nil)
	}
	p.Ring.SetSelected(p.ringName(f.Ring))
}

// key is the key of the field named in the editor.
func (p *ProfileScreen) key() string { return fieldKey(p.Name.Text) }

// showValueWidget shows the calendar for a date of birth, else the text
// box.
func (p *ProfileScreen) showValueWidget() {
	if p.key() == "date_of_birth" {
		p.Value.Hide()
		p.DOB.Show()
	} else {
		p.DOB.Hide()
		p.Value.Show()
	}
}

// Suggested are the labels Name offers.
func (p *ProfileScreen) Suggested() []string { return p.suggested }

// suggestions are the labels of the common fields the profile lacks.
func (p *ProfileScreen) suggestions() []string {
	var out []string
	for _, f := range commonFields {
		if _, ok := p.Field(f.key); !ok {
			out = append(out, f.label)
		}
	}
	return out
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

func (p *ProfileScreen) refresh() { p.reload("") }

// reload reloads the fields, then shows after in the status line (a save's
// notice, which the reload would otherwise clear).
func (p *ProfileScreen) reload(after string) {
	load(p.shell, "Loading your profile", p.fetch, func(v profileView) {
		p.show(v)
		if after != "" {
			p.shell.say(after)
		}
	})
}

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
	p.suggested = p.suggestions()
	p.Name.SetOptions(p.suggested)
	p.List.Refresh()
}

// Field returns the field shown with the given name (for tests and the
// other screens), and whether it is there.
func (p *ProfileScreen) Field(name string) (app.Field, bool) {
	return find(p.fields, func(f app.Field) bool { return f.Name == name })
}

// value is the editor's value as saved: a date of birth as YYYY-MM-DD
// (false, and the user told, when the date typed is none).
func (p *ProfileScreen) value() (string, bool) {
	if !p.DOB.Visible() {
		return p.Value.Text, true
	}
	if p.DOB.Date == nil {
		if strings.TrimSpace(p.DOB.Text) != "" {
			p.shell.at(p.Notice).say(codeMessages["invalid_date_of_birth"])
			return "", false
		}
		return "", true
	}
	return p.DOB.Date.Format(app.DateLayout), true
}

func (p *ProfileScreen) save() {
	label := strings.TrimSpace(p.Name.Text)
	name := p.key()
	if name == "" {
		p.shell.at(p.Notice).say("Type the field's name first, e.g. Home address.")
		return
	}
	if !app.ValidFieldName(name) {
		p.shell.at(p.Notice).say(codeMessages["invalid_field_name"])
		return
	}
	text, ok := p.value()
	if !ok {
		return
	}
	update, _ := json.Marshal(map[string]string{name: text})
	ring := p.Ring.Selected
	old, existed := p.Field(name)
	oldRing := p.ringName(old.Ring)
	moved := existed && ring != "" && ring != oldRing
	p.shell.at(p.Notice).act("Saving "+label, func(ctx context.Context, pr *app.Principal) error {
		a := p.shell.u.app
		if !existed || old.Text() != text {
			if _, err := a.UpdateInfo(ctx, pr, update); err != nil {
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
		msg := "Saved: " + keyLabel(name)
		if moved {
			msg += ", now in " + ring
		}
		p.reload(msg + ".")
	})
}

// remove asks whether to remove the field in the editor, then removes it.
func (p *ProfileScreen) remove() {
	name := p.key()
	f, ok := p.Field(name)
	if !ok {
		p.shell.at(p.Notice).say("Choose a field to remove.")
		return
	}
	label := keyLabel(name)
	what := "It is deleted from your profile"
	if v := f.Text(); v != "" {
		what = fmt.Sprintf("Its value (%s) is deleted from your profile", ellipsis(v, 60))
	}
	d := dialog.NewConfirm("Remove "+label+"?", what+": shares, links and pages that showed it show nothing from now on. This cannot be undone.", func(yes bool) {
		if yes {
			p.removeNow(name, label)
		}
	}, p.shell.window())
	d.SetConfirmText("Remove")
	d.SetDismissText("Keep")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (p *ProfileScreen) removeNow(name, label string) {
	p.shell.at(p.Notice).act("Removing "+label, func(ctx context.Context, pr *app.Principal) error {
		return p.shell.u.app.RemoveField(ctx, pr, name)
	}, func() {
		p.List.UnselectAll()
		p.edit(app.Field{Ring: app.RingPrivate, Value: json.RawMessage("null")})
		p.reload("Removed: " + label + ".")
	})
}

// ellipsis cuts s to at most n runes, marking the cut.
func ellipsis(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
