package ui

// The responder's screen, opened from the lock screen's "Emergency
// information" button with no one signed in (as a phone's Medical ID): a
// responder names themselves, gives a reason and their proof (a secret,
// or a badge as text or a picture of its QR code), and on a grant sees
// the person's emergency information in large type. The grant is the
// domain's (app.GrantOnDevice): the same criteria, proof and hash-chained
// log as the API's, and the trusted contacts are told. The rest of the
// profile stays locked, and the screen goes back to the lock screen after
// ResponderIdle without a touch.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// ResponderIdle is how long the responder's screen stays without a touch
// before the lock screen comes back (whatever auto-lock is set to).
const ResponderIdle = 3 * time.Minute

// EmergencyButtonLabel is the lock screen's button.
const EmergencyButtonLabel = "Emergency information"

// ResponderScreen is the lock screen's emergency flow.
type ResponderScreen struct {
	u        *UI
	profiles []app.DeviceEmergencyProfile
	badgePNG []byte // a picture of a badge's QR code, when one was chosen

	// Whose information (a choice only when the device holds several).
	Person      *widget.Select
	PersonLabel *widget.Label
	// The request.
	ResponderID, Reason *widget.Entry
	// Which of the person's conditions applies (shown, and required, when
	// the person set conditions; NoneApplies refuses).
	Condition      *widget.RadioGroup
	ConditionLabel *widget.Label
	Secret         *widget.Entry // the responder's secret
	Badge          *widget.Entry // or a badge's text
	BadgeImage     *widget.Button
	Show, Back     *widget.Button
	Status         *widget.Label
	Progress       *widget.ProgressBarInfinite
	Form           *fyne.Container

	// What a grant shows.
	Result    *fyne.Container
	Info      *widget.RichText // the name, the information and the fields, in large type
	Responder *widget.Label    // who was let in, and why
	Told      *widget.Label    // what became of the trusted contacts' notices, kept current until they leave
	Done      *widget.Button
	granted   *app.DeviceGrant // the grant shown

	content fyne.CanvasObject
	scroll  *container.Scroll
}

// showResponder opens the responder's screen over the lock screen.
func (u *UI) showResponder() {
	if u.Principal() != nil {
		return
	}
	r := &ResponderScreen{u: u}
	r.content = r.build()
	u.mu.Lock()
	u.responding = true
	u.lastActivity = u.Now()
	u.mu.Unlock()
	u.Responder = r
	u.window.SetContent(r.content)
	r.loadProfiles()
}

// closeResponder forgets what the responder's screen showed and shows
// the lock screen again.
func (u *UI) closeResponder() {
	u.mu.Lock()
	u.responding = false
	u.mu.Unlock()
	u.Responder = nil
	u.window.SetContent(u.startScreen())
	u.Start.Tabs.SelectIndex(0)
	u.Start.Status.SetText("Locked.")
}

func (r *ResponderScreen) build() fyne.CanvasObject {
	touch := func(string) { r.u.Touch() }
	r.Status = wrapped("")
	r.Progress = widget.NewProgressBarInfinite()
	r.Progress.Stop()
	r.Progress.Hide()
	r.PersonLabel = boldWrapped("")
	r.Person = widget.NewSelect(nil, func(string) {
		r.u.Touch()
		if p, ok := r.chosen(); ok {
			r.showConditions(p)
		}
	})
	r.Person.PlaceHolder = "Whose information? (the name on this device)"
	r.Person.Hide()
	r.ResponderID = widget.NewEntry()
	r.ResponderID.SetPlaceHolder("Your responder id, e.g. EMT-7")
	r.Reason = widget.NewEntry()
	r.Reason.SetPlaceHolder("e.g. found unconscious")
	r.ConditionLabel = boldWrapped("")
	r.ConditionLabel.Hide()
	r.Condition = widget.NewRadioGroup(nil, func(string) { r.u.Touch() })
	r.Condition.Hide()
	r.Secret = widget.NewPasswordEntry()
	r.Secret.SetPlaceHolder("Your responder secret, if you have one")
	r.Badge = widget.NewMultiLineEntry()
	r.Badge.Wrapping = fyne.TextWrapBreak
	r.Badge.SetMinRowsVisible(2)
	r.Badge.SetPlaceHolder("Or your badge's text (eyJ…)")
	for _, e := range []*widget.Entry{r.ResponderID, r.Reason, r.Secret, r.Badge} {
		e.OnChanged = touch
	}
	r.BadgeImage = widget.NewButtonWithIcon("Read the badge from a picture…", theme.FileImageIcon(), r.chooseBadgeImage)
	r.Show = primary("Show emergency information", theme.WarningIcon(), r.grant)
	r.Show.Disable()
	r.Back = widget.NewButtonWithIcon("Back to the lock screen", theme.NavigateBackIcon(), r.u.closeResponder)
	r.Form = container.NewVBox(
		r.PersonLabel, r.Person,
		wrapped("Emergency responders: say who you are and why. Every request is logged, and the person's trusted contacts are told of every access."),
		form(formRow{"Responder id", r.ResponderID}, formRow{"Reason", r.Reason}),
		r.ConditionLabel, r.Condition,
		form(formRow{"Secret", r.Secret}, formRow{"Badge", r.Badge}),
		r.BadgeImage,
		r.Show,
	)

	r.Info = widget.NewRichText()
	r.Info.Wrapping = fyne.TextWrapWord
	r.Responder = wrapped("")
	r.Told = wrapped("")
	r.Done = primary("Done: lock again", theme.LogoutIcon(), r.u.closeResponder)
	r.Result = container.NewVBox(r.Info, widget.NewSeparator(), r.Responder, r.Told,
		wrapped(fmt.Sprintf("The rest of the profile stays locked. This screen returns to the lock screen after %d minutes without a touch.", int(ResponderIdle/time.Minute))),
		r.Done)
	r.Result.Hide()

	title := widget.NewLabelWithStyle(EmergencyButtonLabel, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	body := container.NewVBox(title, r.Form, r.Result, r.Progress, r.Status, r.Back)
	r.scroll = container.NewVScroll(container.NewPadded(container.New(&maxWidth{Width: 560}, body)))
	return r.scroll
}

// window, say and run make the screen a host for the file dialogs.
func (r *ResponderScreen) window() fyne.Window { return r.u.window }

func (r *ResponderScreen) say(text string) { r.Status.SetText(text) }

func (r *ResponderScreen) run(what string, work func(ctx context.Context) error, done func(err error)) {
	r.u.Touch()
	r.Status.SetText(what + "…")
	r.Progress.Show()
	r.Progress.Start()
	r.Show.Disable()
	go func() {
		err := work(context.Background())
		fyne.Do(func() {
			doneMu.Lock()
			defer doneMu.Unlock()
			r.Progress.Stop()
			r.Progress.Hide()
			if len(r.profiles) > 0 {
				r.Show.Enable()
			}
			if err != nil {
				r.Status.SetText(message(err))
			} else {
				r.Status.SetText("")
			}
			done(err)
		})
	}()
}

// loadProfiles finds whose emergency information this device holds.
func (r *ResponderScreen) loadProfiles() {
	var ps []app.DeviceEmergencyProfile
	r.run("Looking for emergency information on this device", func(ctx context.Context) (err error) {
		ps, err = r.u.app.EmergencyProfiles(ctx)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		r.profiles = ps
		switch len(ps) {
		case 0:
			r.PersonLabel.SetText("No one has set up emergency information on this device.")
			r.Show.Disable()
		case 1:
			r.PersonLabel.SetText("Emergency information of " + personName(ps[0]) + ".")
			r.showConditions(ps[0])
			r.Show.Enable()
		default:
			r.PersonLabel.SetText("This device holds the emergency information of several people: choose whose.")
			r.Person.Options = personLabels(ps)
			r.Person.Show()
			r.Person.Refresh()
			r.Show.Enable()
		}
		r.scroll.Refresh() // the labels' heights at the window's width
	})
}

// NoneApplies is the condition choice that says none of the person's
// conditions applies: the grant is refused (and logged).
const NoneApplies = "None of these applies"

// showConditions asks which of the person's conditions applies; nothing
// when the person set none.
func (r *ResponderScreen) showConditions(p app.DeviceEmergencyProfile) {
	r.Condition.Selected = ""
	if len(p.Conditions) == 0 {
		r.Condition.Options = nil
		r.Condition.Hide()
		r.ConditionLabel.Hide()
		return
	}
	r.ConditionLabel.SetText("This person allows access only when one of these applies: which one?")
	r.ConditionLabel.Show()
	r.Condition.Options = append(append([]string(nil), p.Conditions...), NoneApplies)
	r.Condition.Show()
	r.Condition.Refresh()
}

// personName is how the screen names a person.
func personName(p app.DeviceEmergencyProfile) string {
	if p.Name == "" {
		return "this device's owner"
	}
	return p.Name
}

// personLabels are the people's names as offered, a number added where
// two share one.
func personLabels(ps []app.DeviceEmergencyProfile) []string {
	out := make([]string, len(ps))
	seen := map[string]int{}
	for i, p := range ps {
		n := personName(p)
		seen[n]++
		if seen[n] > 1 {
			n = fmt.Sprintf("%s (%d)", n, seen[n])
		}
		out[i] = n
	}
	return out
}

// chosen is the person the request names, false when none is chosen.
func (r *ResponderScreen) chosen() (app.DeviceEmergencyProfile, bool) {
	switch {
	case len(r.profiles) == 1:
		return r.profiles[0], true
	case len(r.profiles) > 1:
		if i := slices.Index(r.Person.Options, r.Person.Selected); i >= 0 {
			return r.profiles[i], true
		}
	}
	return app.DeviceEmergencyProfile{}, false
}

func (r *ResponderScreen) chooseBadgeImage() {
	openFile(r, storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".gif"}), func(rc fyne.URIReadCloser) {
		readFile(r, rc, 8<<20, func(name string, b []byte) { r.SetBadgeImage(name, b) })
	})
}

// SetBadgeImage takes a picture of the responder's badge QR code (the
// file dialog's choice; tests call it).
func (r *ResponderScreen) SetBadgeImage(name string, b []byte) {
	r.u.Touch()
	if _, err := qr.Decode(b); err != nil {
		r.badgePNG = nil
		r.say("No badge could be read from " + name + ".")
		return
	}
	r.badgePNG = b
	r.say("Badge read from " + name + ".")
}

// grant asks for the chosen person's emergency information.
func (r *ResponderScreen) grant() {
	p, ok := r.chosen()
	if !ok {
		r.say("Choose whose emergency information first.")
		return
	}
	if strings.TrimSpace(r.ResponderID.Text) == "" || strings.TrimSpace(r.Reason.Text) == "" { // else the app's "responder_id,reason must exist!"
		r.say("Type your responder id and the reason you need the information.")
		return
	}
	cond := r.Condition.Selected
	if len(p.Conditions) > 0 && cond == "" {
		r.say("Choose which of the person's conditions applies (or that none does) first.")
		return
	}
	if cond == NoneApplies {
		cond = app.NoConditionApplies
	}
	req := app.GrantRequest{
		ResponderID:              r.ResponderID.Text,
		Reason:                   r.Reason.Text,
		Condition:                cond,
		ResponderSecret:          strings.TrimSpace(r.Secret.Text),
		ResponderCredential:      strings.TrimSpace(r.Badge.Text),
		ResponderCredentialImage: r.badgePNG,
	}
	var g *app.DeviceGrant
	r.run("Asking for the emergency information", func(ctx context.Context) (err error) {
		g, err = r.u.app.GrantOnDevice(ctx, p.UserID, req)
		return err
	}, func(err error) {
		r.Secret.SetText("")
		if err != nil {
			return
		}
		r.showGrant(g)
	})
}

// showGrant shows what the grant opened, in large type.
func (r *ResponderScreen) showGrant(g *app.DeviceGrant) {
	large := widget.RichTextStyle{SizeName: theme.SizeNameSubHeadingText, Inline: false}
	label := widget.RichTextStyle{SizeName: theme.SizeNameSubHeadingText, TextStyle: fyne.TextStyle{Bold: true}, Inline: true}
	name := g.Name
	if name == "" {
		name = "Emergency information"
	}
	segs := []widget.RichTextSegment{&widget.TextSegment{Text: name, Style: widget.RichTextStyleHeading}}
	for _, l := range infoLines(g.EmergencyInfo) {
		if k, v, ok := strings.Cut(l, ": "); ok && len(k) <= 40 {
			segs = append(segs, &widget.TextSegment{Text: k + ": ", Style: label})
			l = v
		}
		segs = append(segs, &widget.TextSegment{Text: l, Style: large})
	}
	for _, f := range g.Fields {
		if f.Name == "name" && f.Text() == g.Name {
			continue // the heading already
		}
		segs = append(segs, &widget.TextSegment{Text: fieldLabel(f.Name) + ": ", Style: label},
			&widget.TextSegment{Text: f.Text(), Style: large})
	}
	r.Info.Segments = segs
	r.Info.Refresh()

	who := g.Responder
	switch {
	case who != nil && (who.Name != "" || who.Organization != ""):
		r.Responder.SetText("Verified responder: " + strings.Trim(who.Name+", "+who.Organization, ", ") + ". This access is logged.")
	case who != nil:
		r.Responder.SetText("Verified responder. This access is logged.")
	default:
		r.Responder.SetText("Not a verified responder: this person allows any responder. This access is logged.")
	}
	r.granted = g
	r.Told.SetText(toldText(r.u.app, g.Notices, nil))
	go r.watchTold(g)
	r.ResponderID.SetText("")
	r.Reason.SetText("")
	r.Badge.SetText("")
	r.badgePNG = nil
	r.Form.Hide()
	r.Result.Show()
	r.Back.Hide()
	r.scroll.ScrollToTop()
	r.scroll.Refresh()
}

// InfoText is what the grant shows, as plain text (tests read it).
func (r *ResponderScreen) InfoText() string {
	if !r.Result.Visible() {
		return ""
	}
	return r.Info.String()
}

// toldEvery is how often the responder's screen reads again what became
// of the trusted contacts' notices, until they all left.
const toldEvery = 2 * time.Second

// watchTold keeps the notices' status current while the grant is shown,
// until every notice was delivered or failed.
func (r *ResponderScreen) watchTold(g *app.DeviceGrant) {
	for {
		if done := r.RefreshTold(); done {
			return
		}
		time.Sleep(toldEvery)
		if open := fyneGet(func() bool { return r.u.Responder == r && r.granted == g }); !open {
			return
		}
	}
}

// fyneGet runs f on the UI goroutine and returns its result.
func fyneGet[T any](f func() T) T {
	var v T
	fyne.DoAndWait(func() {
		doneMu.Lock()
		defer doneMu.Unlock()
		v = f()
	})
	return v
}

// RefreshTold reads what became of the shown grant's notices and shows
// it; done is true when none still waits (tests call it).
func (r *ResponderScreen) RefreshTold() (done bool) {
	g := fyneGet(func() *app.DeviceGrant { return r.granted })
	if g == nil {
		return true
	}
	entries, err := r.u.app.GrantNotices(context.Background(), g)
	if err != nil {
		return true
	}
	done = true
	for _, e := range entries {
		if e.Status == "waiting" {
			done = false
		}
	}
	fyne.DoAndWait(func() {
		doneMu.Lock() // one widget change at a time (see doneMu)
		defer doneMu.Unlock()
		if r.granted == g {
			r.Told.SetText(toldText(r.u.app, g.Notices, entries))
		}
	})
	return done
}

// toldText says what became of the trusted contacts' notices (entries:
// their outbox entries, nil before they were read): sent and when,
// waiting and why (no relay on this device, the relay's last error), or
// failed; never "told" before a notice left.
func toldText(a *app.App, notices []app.Notice, entries []app.OutboxEntry) string {
	if len(notices) == 0 {
		return "This person has no trusted contacts to tell."
	}
	byID := map[string]app.OutboxEntry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	var parts []string
	for _, k := range []struct{ kind, by, none string }{
		{app.KindEmail, "e-mail", "this device has no mail relay"},
		{app.KindSMS, "text message", "this device has no SMS gateway"},
	} {
		var sent, failed, waiting int
		var last time.Time
		why := ""
		for _, n := range notices {
			if n.Kind != k.kind {
				continue
			}
			e, ok := byID[n.MessageID]
			switch {
			case ok && e.Status == "delivered":
				sent++
				if e.DeliveredAt.After(last) {
					last = e.DeliveredAt
				}
			case ok && e.Status == "failed":
				failed++
			default:
				waiting++
				if ok && e.LastError != "" {
					why = e.LastError
				}
			}
		}
		if sent > 0 {
			parts = append(parts, fmt.Sprintf("%s by %s (sent %s)", count(sent, "contact"), k.by, fmtWhen(last)))
		}
		if waiting > 0 {
			how := "queued, being sent now"
			switch {
			case !a.Delivers(k.kind):
				how = "queued: " + k.none + ", so it waits in the outbox"
			case why != "":
				how = "waiting: " + why + "; it is tried again"
			}
			parts = append(parts, fmt.Sprintf("%s by %s (%s)", count(waiting, "contact"), k.by, how))
		}
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%s by %s (failed; not tried again)", count(failed, "contact"), k.by))
		}
	}
	return "This person's trusted contacts: " + strings.Join(parts, "; ") + "."
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// fieldLabel is a field's name as shown: "blood_type" → "Blood type".
func fieldLabel(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// infoLines are the emergency information's lines as shown: a text by
// its lines, an object's members as "Key: value" (in order of key), a
// list's items; nothing for null.
func infoLines(raw json.RawMessage) []string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case string:
		out = lines(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, fieldLabel(k)+": "+plain(x[k]))
		}
	case []any:
		for _, e := range x {
			out = append(out, plain(e))
		}
	default:
		out = []string{plain(x)}
	}
	return out
}

// plain is a JSON value as text: a string as it is, a list joined by
// commas, anything else as JSON.
func plain(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plain(e)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
