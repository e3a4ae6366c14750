package ui

// The Health screen, in two tabs: Records — records by type (add,
// delete) and sharing chosen records or whole types with a doctor through
// a time-limited link and its QR code; Links — every link made, with who
// opened what, and when (show again, revoke), one tap away rather than
// under the forms.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// maxRecordShown bounds the characters of a record shown in the list.
const maxRecordShown = 300

// CommonRecordTypes are the record types offered before the user has any
// (and beside theirs after).
var CommonRecordTypes = []string{"allergies", "immunizations", "conditions", "medications", "lab_results", "vitals"}

// recordTypeLabel is how a record type is shown: its key with spaces for
// "_" and its first letter capital ("lab_results" → "Lab results"), as a
// field's (keyLabel, without the profile's own labels: a type is no field).
func recordTypeLabel(typ string) string {
	r := []rune(strings.ReplaceAll(typ, "_", " "))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// recordTypeKey is the type a typed label is stored as: lower case with
// each run of spaces, hyphens or underscores one "_" ("Lab results" →
// lab_results). What is no valid type (a digit first, other punctuation)
// is sent as it is, for the app to refuse.
func recordTypeKey(label string) string {
	parts := strings.FieldsFunc(strings.ToLower(label), func(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '_' })
	return strings.Join(parts, "_")
}

// HealthScreen lists the user's health records by type, adds and deletes
// them, and shares chosen records (or whole types) with a doctor through a
// time-limited link, shown with its QR code; in a tab of its own, the
// links list who opened what, and when, and revoke a link. What each
// action did shows in the notice beside it (Shell.at).
type HealthScreen struct {
	shell   *Shell
	records []*app.HealthRecord
	links   []*app.HealthLinkInfo
	mail    map[string]app.OutboxEntry // the outbox, by message id: what became of each link's e-mail
	// The types the type list offers, by their labels ("Lab results").
	typeOptions []string
	// What is ticked for sharing, kept across reloads.
	pickRecords map[string]bool
	pickTypes   map[string]bool

	// Parts: "Records" (the records, adding one, sharing with a doctor)
	// and "Links" (the links made and their openings, read-only but for
	// revoking: a tab of its own, so it is one tap away).
	Parts *container.AppTabs

	// Records, grouped by type; RecordsNotice says what deleting did.
	RecordsNotice *widget.Label
	Groups        *fyne.Container
	TypeChecks    map[string]*widget.Check  // by type: share every record of it (also later ones)
	RecordChecks  map[string]*widget.Check  // by record id: share this record
	RecordLabels  map[string]*widget.Label  // by record id
	DeleteButtons map[string]*widget.Button // by record id

	// Add a record.
	NewType   *widget.SelectEntry
	NewData   *widget.Entry
	Add       *widget.Button
	AddNotice *widget.Label // under Add: what adding did, or why it did not

	// Share with a doctor.
	Doctor      *widget.Entry
	Expires     *widget.Entry // YYYY-MM-DD: the link works through that day, in this device's time zone
	Passcode    *widget.Entry
	Share       *widget.Button
	ShareNotice *widget.Label // under Create link: what it did, or why it did not
	LinkView                  // the link just created, under Create link, hidden until then

	// Links; LinksNotice says what revoking did. Again is the link shown
	// again by its Show link (in a dialog), nil before.
	LinksNotice   *widget.Label
	Again         *LinkView
	Links         *fyne.Container
	LinkLabels    map[string]*widget.Label  // by link id: state, what it shares, its openings
	RevokeButtons map[string]*widget.Button // by link id
	ShowButtons   map[string]*widget.Button // by link id: show its link and QR code again
	MailLabels    map[string]*widget.Label  // by link id: what became of its e-mail to the doctor
}

// LinkView shows one doctor's link: what it is, what became of its e-mail
// to the doctor (with the way to Settings while it waits for a relay), its
// address (selectable) and its QR code, and who can open it.
type LinkView struct {
	LinkBox  *fyne.Container // all of it; hidden until a link is shown
	Link     *widget.Label   // the link's URL, selectable
	LinkInfo *widget.Label
	LinkQR   *canvas.Image
	LinkMail *widget.Label  // what became of the e-mail to the doctor
	FixMail  *widget.Button // to Settings, while no e-mail relay is set
	Reach    *ReachNote     // who can open the link
	linkMail string         // the shown link's e-mail (its outbox message id)
}

// newLinkView is a view of a link, hidden; fix runs on its FixMail.
func newLinkView(s *Shell, fix func()) LinkView {
	v := LinkView{Link: selectable(), LinkInfo: wrapped(""), LinkQR: newQRImage(220), Reach: newReachNote(s), LinkMail: wrapped("")}
	v.FixMail = widget.NewButtonWithIcon("Set up e-mail in Settings", theme.SettingsIcon(), fix)
	v.FixMail.Hide()
	v.LinkBox = container.NewVBox(v.LinkInfo, v.LinkMail, v.FixMail, v.Link, v.LinkQR, v.Reach.object())
	v.LinkBox.Hide()
	return v
}

func (h *HealthScreen) build() fyne.CanvasObject {
	h.pickRecords, h.pickTypes = map[string]bool{}, map[string]bool{}
	h.Groups = container.NewVBox()
	h.TypeChecks, h.RecordChecks = map[string]*widget.Check{}, map[string]*widget.Check{}
	h.RecordLabels, h.DeleteButtons = map[string]*widget.Label{}, map[string]*widget.Button{}

	h.typeOptions = labelsOf(CommonRecordTypes, recordTypeLabel)
	h.NewType = widget.NewSelectEntry(h.typeOptions)
	h.NewType.SetPlaceHolder("Allergies, Medications, Immunizations…")
	h.NewData = widget.NewMultiLineEntry()
	h.NewData.Wrapping = fyne.TextWrapWord
	h.NewData.SetMinRowsVisible(2)
	h.NewData.SetPlaceHolder(`Text, or JSON such as {"substance":"penicillin"}`)
	h.Add = widget.NewButtonWithIcon("Add record", theme.ContentAddIcon(), h.add)
	h.RecordsNotice, h.AddNotice, h.ShareNotice, h.LinksNotice = notice(), notice(), notice(), notice()

	h.Doctor = widget.NewEntry()
	h.Doctor.SetPlaceHolder("doctor@example.org")
	h.Expires = widget.NewEntry()
	h.Expires.SetPlaceHolder("YYYY-MM-DD")
	h.Expires.SetText(h.shell.u.app.Now().Add(app.DefaultLinkTTL).In(time.Local).Format(app.DateLayout))
	h.Passcode = widget.NewPasswordEntry()
	h.Passcode.SetPlaceHolder("optional")
	h.Share = primary("Create link", theme.MailSendIcon(), h.share)
	h.LinkView = newLinkView(h.shell, func() { h.shell.Select("Settings") })

	h.Links = container.NewVBox()
	h.LinkLabels, h.RevokeButtons, h.ShowButtons = map[string]*widget.Label{}, map[string]*widget.Button{}, map[string]*widget.Button{}
	h.MailLabels = map[string]*widget.Label{}

	h.Parts = container.NewAppTabs(
		container.NewTabItemWithIcon("Records", theme.ListIcon(), page(
			section("Health records", h.RecordsNotice, h.Groups),
			section("Add a record", form(formRow{"Type", h.NewType}, formRow{"Record", grown(h.NewData, 2)}), h.Add, h.AddNotice),
			section("Share with a doctor",
				wrapped("Tick records above, or a whole type (its later records too). The link is e-mailed to the doctor; under Links, each link says whether the e-mail went out, and who opened what, and when."),
				form(formRow{"Doctor's e-mail", h.Doctor}, formRow{"Works until", h.Expires}, formRow{"Passcode", h.Passcode}),
				// Under the form, not in the field, where it would be cut off on a phone.
				wrapped("A passcode is optional: 6 or more characters, which you tell the doctor yourself (it is not in the e-mail)."),
				h.Share,
				h.ShareNotice,
				h.LinkBox))),
		container.NewTabItemWithIcon("Links", theme.MailSendIcon(), page(
			section("Links", wrapped("Every link you made for a doctor: what it shares, until when, whether its e-mail went out, and each opening."),
				h.LinksNotice, h.Links))))
	h.Parts.OnSelected = func(*container.TabItem) { h.shell.at(nil) } // a notice speaks only beside its action
	return h.Parts
}

func (h *HealthScreen) refresh() { h.load("") }

// healthView is what the screen shows: the records and the links.
type healthView struct {
	records []*app.HealthRecord
	links   []*app.HealthLinkInfo
	mail    map[string]app.OutboxEntry
}

// load reloads records and links, then shows after in the status line.
func (h *HealthScreen) load(after string) {
	load(h.shell, "Loading your health records", h.fetch, func(v healthView) {
		h.records, h.links, h.mail = v.records, v.links, v.mail
		h.showRecords()
		h.showLinks()
		if after != "" {
			h.shell.say(after)
		}
	})
}

func (h *HealthScreen) fetch(ctx context.Context, pr *app.Principal) (v healthView, err error) {
	if v.records, err = h.shell.u.app.HealthRecords(ctx, pr, ""); err == nil {
		v.links, err = h.shell.u.app.HealthLinks(ctx, pr)
	}
	if err != nil {
		return v, err
	}
	entries, err := h.shell.u.app.OutboxEntries(ctx, pr)
	v.mail = map[string]app.OutboxEntry{}
	for _, e := range entries {
		v.mail[e.ID] = e
	}
	return v, err
}

// recordText is a record's data as shown: a JSON string as its text, an
// object as "Key: value" lines, a list as its items' lines, cut at
// maxRecordShown characters.
func recordText(r *app.HealthRecord) string {
	var s string
	if json.Unmarshal(r.Data, &s) != nil {
		if l := infoLines(r.Data); len(l) > 0 {
			s = strings.Join(l, "\n")
		} else {
			s = string(r.Data)
		}
	}
	if rs := []rune(s); len(rs) > maxRecordShown {
		s = string(rs[:maxRecordShown]) + "…"
	}
	return s
}

// byType returns the records' types, sorted, and the records of each.
func (h *HealthScreen) byType() ([]string, map[string][]*app.HealthRecord) {
	groups := map[string][]*app.HealthRecord{}
	for _, r := range h.records {
		groups[r.Type] = append(groups[r.Type], r)
	}
	types := make([]string, 0, len(groups))
	for t := range groups {
		types = append(types, t)
	}
	sort.Strings(types)
	return types, groups
}

func (h *HealthScreen) showRecords() {
	types, groups := h.byType()
	h.typeOptions = labelsOf(recordTypes(types), recordTypeLabel)
	h.NewType.SetOptions(h.typeOptions)
	clear(h.TypeChecks)
	clear(h.RecordChecks)
	clear(h.RecordLabels)
	clear(h.DeleteButtons)
	var rows []fyne.CanvasObject
	for _, t := range types {
		t := t
		tc := widget.NewCheck("", func(on bool) { h.pickTypes[t] = on })
		tc.Checked = h.pickTypes[t]
		h.TypeChecks[t] = tc
		n := len(groups[t])
		title := fmt.Sprintf("%s · %d record", recordTypeLabel(t), n)
		if n != 1 {
			title += "s"
		}
		rows = append(rows, container.NewBorder(nil, nil, tc, nil,
			widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})))
		for _, r := range groups[t] {
			id := r.ID
			rc := widget.NewCheck("", func(on bool) { h.pickRecords[id] = on })
			rc.Checked = h.pickRecords[id]
			l := widget.NewLabel(recordText(r))
			l.Wrapping = fyne.TextWrapBreak
			del := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { h.delete(id) })
			h.RecordChecks[id], h.RecordLabels[id], h.DeleteButtons[id] = rc, l, del
			rows = append(rows, container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel("  "), rc), del, l))
		}
	}
	// Forget picks of records and types that are gone.
	for id := range h.pickRecords {
		if h.RecordChecks[id] == nil {
			delete(h.pickRecords, id)
		}
	}
	for t := range h.pickTypes {
		if h.TypeChecks[t] == nil {
			delete(h.pickTypes, t)
		}
	}
	fill(h.Groups, "No health records yet: add one below.", rows)
}

// recordTypes are the types offered: the user's, then the common ones
// they have not used.
func recordTypes(have []string) []string {
	out := append([]string(nil), have...)
	for _, t := range CommonRecordTypes {
		if !slices.Contains(have, t) {
			out = append(out, t)
		}
	}
	return out
}

// TypeOptions are the types the type list offers, by their labels.
func (h *HealthScreen) TypeOptions() []string { return h.typeOptions }

// ShownGroups is what the records list shows: per type, its heading and
// then its records' texts, in order.
func (h *HealthScreen) ShownGroups() [][]string {
	var out [][]string
	for _, o := range h.Groups.Objects {
		c, ok := o.(*fyne.Container)
		if !ok {
			continue
		}
		for _, in := range c.Objects {
			l, ok := in.(*widget.Label)
			if !ok {
				continue
			}
			if l.TextStyle.Bold {
				out = append(out, []string{l.Text})
			} else if len(out) > 0 {
				out[len(out)-1] = append(out[len(out)-1], l.Text)
			}
		}
	}
	return out
}

// recordData is the data as sent: JSON as typed when it is an object or
// array, else the text as a JSON string (as the emergency information).
func recordData(text string) json.RawMessage { return infoJSON(text) }

func (h *HealthScreen) add() {
	typ, data := recordTypeKey(h.NewType.Text), recordData(h.NewData.Text)
	// Else the app's "record_type,record_data must exist!".
	switch {
	case typ == "":
		h.shell.at(h.AddNotice).say("Choose the record's type first (or type one, e.g. Allergies).")
		return
	case data == nil:
		h.shell.at(h.AddNotice).say("Write the record first: text, or JSON.")
		return
	}
	h.shell.at(h.AddNotice).act("Adding the record", func(ctx context.Context, pr *app.Principal) error {
		_, _, err := h.shell.u.app.PutHealthRecord(ctx, pr, "", typ, data)
		return err
	}, func() {
		h.NewData.SetText("")
		h.load("Record added.")
	})
}

func (h *HealthScreen) delete(id string) {
	h.shell.at(h.RecordsNotice).act("Deleting the record", func(ctx context.Context, pr *app.Principal) error {
		return h.shell.u.app.DeleteHealthRecord(ctx, pr, id)
	}, func() { h.load("Record deleted; links that named it show it no more.") })
}

func (h *HealthScreen) share() {
	// The chosen types, then the chosen records not already in a chosen type.
	var items []string
	types, groups := h.byType()
	inType := map[string]bool{}
	for _, t := range types {
		if h.pickTypes[t] {
			items = append(items, t)
			for _, r := range groups[t] {
				inType[r.ID] = true
			}
		}
	}
	for _, r := range h.records {
		if h.pickRecords[r.ID] && !inType[r.ID] {
			items = append(items, r.ID)
		}
	}
	h.shell.at(h.ShareNotice)
	if len(items) == 0 {
		h.shell.say("Tick the records or types to share first.")
		return
	}
	if strings.TrimSpace(h.Doctor.Text) == "" {
		h.shell.say("Type the doctor's e-mail address first.") // else the app's "doctor_email,… must exist!"
		return
	}
	sel, _ := json.Marshal(items)
	chosen, dated := dayEnd(h.Expires.Text, time.Local)
	expiration := h.Expires.Text
	if dated {
		expiration = chosen.Format(time.RFC3339)
	}
	req := app.LinkRequest{Records: sel, DoctorEmail: h.Doctor.Text, Expiration: expiration, Passcode: h.Passcode.Text}
	var link *app.HealthLink
	h.shell.act("Creating the link", func(ctx context.Context, pr *app.Principal) (err error) {
		link, err = h.shell.u.app.CreateLink(ctx, pr, req)
		return err
	}, func() {
		h.Passcode.SetText("")
		until := "working until " + untilText(link.ExpiresAt, time.Local)
		if dated && link.ExpiresAt.Before(chosen) {
			until += fmt.Sprintf(" (a link works for %d days at most)", app.MaxLinkTTL/(24*time.Hour))
		}
		h.showLink(&h.LinkView, link.URL, fmt.Sprintf("Link for %s, %s. You can also show this code:",
			strings.TrimSpace(req.DoctorEmail), until), link.EmailID)
		h.load("Link created, " + until + "; it is listed under Links, with who opens it.")
	})
}

// dayEnd is the end of the day typed as YYYY-MM-DD in loc (the midnight
// after it), the instant a link chosen to work "until" that day stops;
// false when typed is no such date.
func dayEnd(typed string, loc *time.Location) (time.Time, bool) {
	d, err := time.ParseInLocation(app.DateLayout, strings.TrimSpace(typed), loc)
	if err != nil {
		return time.Time{}, false
	}
	return d.AddDate(0, 0, 1), true
}

// untilText says until when a link works, in loc: one that stops at a
// midnight works through the day before, "the end of 2026-12-15" (as the
// day was chosen); any other, its day and time, "2026-12-15 18:30".
func untilText(t time.Time, loc *time.Location) string {
	lt := t.In(loc)
	if lt.Hour() == 0 && lt.Minute() == 0 && lt.Second() == 0 && lt.Nanosecond() == 0 {
		return "the end of " + lt.AddDate(0, 0, -1).Format(app.DateLayout)
	}
	return lt.Format(app.DateLayout + " 15:04")
}

// showLink shows a link's URL and its QR code in v, and what became of
// its e-mail to the doctor (mailID, its outbox message); false (and the
// notice says so) when the code cannot be drawn.
func (h *HealthScreen) showLink(v *LinkView, url, info, mailID string) bool {
	if !drawQR(v.LinkQR, "health-link-qr.png", url) {
		h.shell.say("The QR code could not be drawn.")
		return false
	}
	v.Link.SetText(url)
	v.LinkInfo.SetText(info)
	v.linkMail = mailID
	h.showLinkMail(v)
	v.Reach.show(url)
	v.LinkBox.Show()
	return true
}

// showLinkMail says what became of the e-mail of the link v shows, with
// the way to Settings while it waits for a relay.
func (h *HealthScreen) showLinkMail(v *LinkView) {
	text, noRelay := h.mailText(v.linkMail)
	v.LinkMail.SetText(text)
	if noRelay {
		v.FixMail.Show()
	} else {
		v.FixMail.Hide()
	}
}

// showAgain shows a listed link again, in a dialog: its address, its QR
// code, who can open it and what became of its e-mail.
func (h *HealthScreen) showAgain(l *app.HealthLinkInfo) {
	var d dialog.Dialog
	v := newLinkView(h.shell, func() {
		d.Hide()
		h.shell.Select("Settings")
	})
	if !h.showLink(&v, l.URL, fmt.Sprintf("Link for %s (%s), until %s:", l.DoctorEmail, l.State, untilText(l.ExpiresAt, time.Local)), l.EmailID) {
		return
	}
	h.Again = &v
	d = dialog.NewCustom("Link for "+l.DoctorEmail, "Close", container.NewVScroll(v.LinkBox), h.shell.window())
	d.Resize(fyne.NewSize(min(h.shell.window().Canvas().Size().Width-24, 520), min(h.shell.window().Canvas().Size().Height-24, 640)))
	d.Show()
}

// mailText says what became of a link's e-mail to the doctor (id, its
// outbox message): sent and when, waiting and why, or failed. noRelay is
// true while it waits because this device has no e-mail relay.
func (h *HealthScreen) mailText(id string) (text string, noRelay bool) {
	if id == "" {
		return "", false
	}
	relay := h.shell.u.app.Delivers(app.KindEmail)
	e, ok := h.mail[id]
	switch {
	case ok && e.Status == "delivered":
		return "E-mail to the doctor: sent " + fmtWhen(e.DeliveredAt) + ".", false
	case ok && e.Status == "failed":
		why := strings.TrimPrefix(e.LastError, "email: ")
		if why == "" {
			why = "refused"
		}
		return fmt.Sprintf("E-mail to the doctor: failed (%s), %s; it will not be tried again: give the doctor the link or the code yourself.", why, fmtWhen(e.FailedAt)), false
	case !relay:
		return "E-mail to the doctor: waiting (no e-mail relay on this device). Set one in Settings, or give the doctor the link or the code yourself.", true
	case ok && e.LastError != "":
		return fmt.Sprintf("E-mail to the doctor: waiting (%s); next try %s.", e.LastError, fmtWhen(e.NextAt)), false
	case ok:
		return "E-mail to the doctor: being sent now.", false
	}
	return "", false // not in this device's outbox (made on another device)
}

// selectorText names what a link shares.
func (h *HealthScreen) selectorText(s app.LinkSelector) string {
	if s.Type != "" {
		return "every record under " + recordTypeLabel(s.Type)
	}
	for _, r := range h.records {
		if r.ID == s.RecordID {
			t := recordText(r)
			if rs := []rune(t); len(rs) > 40 {
				t = string(rs[:40]) + "…"
			}
			return recordTypeLabel(r.Type) + ": " + t
		}
	}
	return "a deleted record"
}

// linkText is a link's summary, what it shares, and its openings.
func (h *HealthScreen) linkText(l *app.HealthLinkInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s · %s · until %s", l.DoctorEmail, l.State, untilText(l.ExpiresAt, time.Local))
	if l.Passcode {
		b.WriteString(" · passcode")
	}
	var what []string
	for _, s := range l.Records {
		what = append(what, h.selectorText(s))
	}
	b.WriteString("\nShares: " + strings.Join(what, "; "))
	if len(l.Openings) == 0 {
		b.WriteString("\nNot opened yet.")
	}
	for _, o := range l.Openings {
		at := o.At.Local().Format("2006-01-02 15:04:05")
		from := o.Client
		if o.UserAgent != "" {
			from += " (" + o.UserAgent + ")"
		}
		switch o.Outcome {
		case app.LinkOpened:
			n := len(o.Records)
			fmt.Fprintf(&b, "\nOpened %s from %s: %d record", at, from, n)
			if n != 1 {
				b.WriteString("s")
			}
			var names []string
			for _, id := range o.Records {
				names = append(names, h.selectorText(app.LinkSelector{RecordID: id}))
			}
			if len(names) > 0 {
				b.WriteString(" (" + strings.Join(names, "; ") + ")")
			}
		case app.LinkWrongPasscode:
			fmt.Fprintf(&b, "\nWrong passcode %s from %s", at, from)
		case app.LinkLockedNow:
			fmt.Fprintf(&b, "\nLocked after too many wrong passcodes, %s from %s", at, from)
		default:
			fmt.Fprintf(&b, "\n%s %s from %s", o.Outcome, at, from)
		}
	}
	return b.String()
}

func (h *HealthScreen) showLinks() {
	clear(h.LinkLabels)
	clear(h.RevokeButtons)
	clear(h.ShowButtons)
	clear(h.MailLabels)
	if h.LinkBox.Visible() {
		h.showLinkMail(&h.LinkView)
	}
	if h.Again != nil {
		h.showLinkMail(h.Again)
	}
	var rows []fyne.CanvasObject
	for _, l := range h.links {
		l := l
		text := wrapped(h.linkText(l))
		revoke := widget.NewButtonWithIcon("Revoke", theme.CancelIcon(), func() { h.revoke(l.ID) })
		revoke.Importance = widget.DangerImportance
		if l.State != "active" {
			revoke.Disable()
		}
		show := widget.NewButtonWithIcon("Show link", theme.VisibilityIcon(), func() { h.showAgain(l) })
		h.LinkLabels[l.ID], h.RevokeButtons[l.ID], h.ShowButtons[l.ID] = text, revoke, show
		row := container.NewVBox(text)
		if mt, noRelay := h.mailText(l.EmailID); mt != "" {
			ml := wrapped(mt)
			h.MailLabels[l.ID] = ml
			row.Add(ml)
			if noRelay && l.State == "active" {
				row.Add(container.NewHBox(widget.NewButtonWithIcon("Set up e-mail in Settings", theme.SettingsIcon(), func() { h.shell.Select("Settings") })))
			}
		}
		row.Add(container.NewHBox(show, revoke))
		row.Add(widget.NewSeparator())
		rows = append(rows, row)
	}
	fill(h.Links, "No links yet.", rows)
}

func (h *HealthScreen) revoke(id string) {
	h.shell.at(h.LinksNotice).act("Revoking the link", func(ctx context.Context, pr *app.Principal) error {
		return h.shell.u.app.RevokeLink(ctx, pr, id)
	}, func() { h.load("Link revoked: it opens no more.") })
}
