package ui

// The Emergency screen: what a responder sees and who may see it, the
// trusted contacts told of every grant, the emergency card (previewed
// exactly as it is saved as PNG or PDF to print: emergency_card.go), and
// the access log with its hash chain checked.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// Responder choices of the criteria, as shown.
const (
	respondersVerifiedLabel = "Verified responders only"
	respondersAnyLabel      = "Any responder"
)

// Texts of the card and the log's chain check.
const (
	CardHint     = "Scan in an emergency"
	ChainOK      = "Log checked"
	ChainBroken  = "Log broken"
	grantTitle   = "Emergency access granted"
	cardFileName = "emergency-card.png"
	cardPDFName  = "emergency-card.pdf"
)

// EmergencyScreen sets emergency access up (the profile fields and the
// information a responder sees, who may see it, the trusted contacts told
// of every grant), shows the emergency QR card to print, and the access
// log with its hash chain checked. A grant on this device refreshes the
// log and raises a system notification.
type EmergencyScreen struct {
	shell  *Shell
	config *app.EmergencyConfig // as last loaded; nil when not set up
	shown  string               // the configuration the form was last filled from (JSON)
	name   string               // the profile's name, for the card
	fields []app.Field          // the profile's fields, for the card's facts
	reach  string               // who can open the card's QR code (app.Reachability)

	cardPNG   []byte            // the card as previewed and saved
	cardLines []string          // the text on it
	prefilled map[string]string // the facts' texts as last taken from the profile

	// Set-up.
	Fields     *widget.CheckGroup // the profile fields a responder sees, by their labels ("E-mail")
	fieldKeys  map[string]string  // the key of each of Fields' labels
	Info       *widget.Entry      // free text (or JSON) shown to a responder
	Responders *widget.RadioGroup
	Conditions *widget.Entry // one per line
	Contacts   *widget.Entry // e-mail addresses or phone numbers, one per line
	Save       *widget.Button
	SaveNotice *widget.Label // under Save: what saving did, or why it did not
	State      *widget.Label

	// The card.
	Card    *fyne.Container // hidden until emergency access is set up
	Preview *canvas.Image   // the card, exactly as it is saved
	Reach   *widget.Label   // who can open the card's QR code
	SetURL  *widget.Button  // opens Settings, where the public URL is set
	URL     *widget.Label
	// The facts printed on the card in plain text, as the user chooses
	// (FactName, FactBloodType, …), each with its text (prefilled from the
	// profile, editable).
	Facts      *widget.CheckGroup
	FactValue  map[string]*widget.Entry
	SaveCard   *widget.Button // as PNG
	SavePDF    *widget.Button
	CardNotice *widget.Label // under the two: where the card was saved, or why not

	// The access log.
	Chain *widget.Label   // "Log checked: …" or "Log broken at entry …"
	Log   *fyne.Container // one label per entry, newest first
	// Parts: "Set up" (the card and the form) and "Access log" (read-only,
	// in a tab of its own so it is one tap away, not under a long form).
	Parts *container.AppTabs
}

func (e *EmergencyScreen) build() fyne.CanvasObject {
	e.Fields = widget.NewCheckGroup(nil, nil)
	e.Info = widget.NewMultiLineEntry()
	e.Info.Wrapping = fyne.TextWrapWord
	e.Info.SetMinRowsVisible(3)
	e.Info.SetPlaceHolder("Blood type, allergies, medication, conditions…")
	e.Responders = widget.NewRadioGroup([]string{respondersVerifiedLabel, respondersAnyLabel}, nil)
	e.Responders.Required = true
	e.Responders.SetSelected(respondersVerifiedLabel)
	e.Conditions = widget.NewMultiLineEntry()
	e.Conditions.Wrapping = fyne.TextWrapWord
	e.Conditions.SetPlaceHolder("One condition per line, e.g. unconscious")
	e.Contacts = widget.NewMultiLineEntry()
	e.Contacts.Wrapping = fyne.TextWrapWord
	e.Contacts.SetPlaceHolder("One e-mail address or phone number per line")
	e.Save = primary("Save emergency access", theme.DocumentSaveIcon(), e.save)
	e.SaveNotice = notice()
	e.State = wrapped("")

	e.buildCard()
	e.CardNotice = notice()
	for _, b := range []*widget.Button{e.SaveCard, e.SavePDF} {
		tapped := b.OnTapped
		b.OnTapped = func() {
			e.shell.at(e.CardNotice)
			tapped()
		}
	}

	e.Chain = boldWrapped("")
	e.Log = container.NewVBox()

	if pr := e.shell.principal(); pr != nil {
		events, stop := e.shell.u.app.Subscribe(pr.UserID)
		e.shell.onClose(stop)
		go func() {
			for ev := range events {
				fyne.Do(func() {
					doneMu.Lock()
					defer doneMu.Unlock()
					e.event(ev)
				})
			}
		}()
	}

	e.Parts = container.NewAppTabs(container.NewTabItemWithIcon("Set up", theme.SettingsIcon(), page(
		section("Emergency card", e.State, e.Card, e.CardNotice),
		section("Set up",
			wrapped("A responder who scans your card sees the information and fields chosen here, when your criteria allow; every access is logged, and your trusted contacts are told."),
			widget.NewLabel("Profile fields a responder sees:"),
			e.Fields,
			form(formRow{"Information", grown(e.Info, 3)}, formRow{"Who may see it", e.Responders},
				formRow{"Conditions", grown(e.Conditions, 3)}, formRow{"Trusted contacts", grown(e.Contacts, 3)}),
			e.Save, e.SaveNotice))),
		container.NewTabItemWithIcon("Access log", theme.ListIcon(), page(section("Access log", e.Chain, e.Log))))
	e.Parts.OnSelected = func(*container.TabItem) { e.shell.at(nil) } // a notice speaks only beside its action
	return e.Parts
}

// event handles an event of the signed-in user (on the UI goroutine).
func (e *EmergencyScreen) event(ev app.Event) {
	if ev.Kind != app.EventEmergencyGrant {
		return
	}
	who := ev.ResponderID
	if d := strings.Trim(ev.ResponderName+", "+ev.ResponderOrganization, ", "); d != "" {
		who += " (" + d + ")"
	}
	status := "not a verified responder; your criteria allow any"
	if ev.ResponderVerified {
		status = "verified"
	}
	e.shell.u.fyne.SendNotification(fyne.NewNotification(grantTitle,
		fmt.Sprintf("Responder %s, %s, was shown your emergency information at %s. See Emergency → Access log.", who, status, ev.At.Local().Format("15:04"))))
	e.load(grantTitle + " to " + who + ".")
}

func isNoEmergency(err error) bool {
	var ae *app.Error
	return errors.As(err, &ae) && ae.Code == "no_emergency_access"
}

func (e *EmergencyScreen) refresh() { e.load("") }

// emergencyView is what the screen shows: the profile's fields (to
// choose from), the configuration (nil when not set up) and the log.
type emergencyView struct {
	fields []app.Field
	config *app.EmergencyConfig
	log    *app.EmergencyLog
}

// load reloads the configuration and the log, then shows after in the
// status line.
func (e *EmergencyScreen) load(after string) {
	load(e.shell, "Loading emergency access", e.fetch, func(v emergencyView) {
		var labels []string
		e.name = ""
		e.fields = v.fields
		e.fieldKeys = map[string]string{}
		for _, f := range v.fields {
			l := keyLabel(f.Name)
			labels = append(labels, l)
			e.fieldKeys[l] = f.Name
			if f.Name == "name" {
				e.name = f.Text()
			}
		}
		e.Fields.Options = labels
		e.Fields.Refresh()
		e.showConfig(v.config)
		e.showLog(v.log)
		if after != "" {
			e.shell.say(after)
		}
	})
}

func (e *EmergencyScreen) fetch(ctx context.Context, pr *app.Principal) (v emergencyView, err error) {
	a := e.shell.u.app
	if v.fields, err = a.Fields(ctx, pr); err != nil {
		return v, err
	}
	if v.config, err = a.EmergencyConfig(ctx, pr); err != nil && !isNoEmergency(err) {
		return v, err
	}
	v.log, err = a.EmergencyLog(ctx, pr)
	return v, err
}

// showConfig shows the card and, when the stored configuration changed
// since the form was last filled, fills the form from it (so that edits
// in progress survive switching tabs).
func (e *EmergencyScreen) showConfig(cfg *app.EmergencyConfig) {
	e.config = cfg
	if cfg == nil {
		e.State.SetText("Emergency access is not set up: choose what a responder sees below, then save.")
		e.Card.Hide()
		return
	}
	e.State.SetText("Print this card and keep it with your ID. What you see is what it prints.")
	b, _ := json.Marshal(cfg)
	changed := string(b) != e.shown
	e.showCard(cfg, changed)
	if !changed {
		return
	}
	e.shown = string(b)
	for _, k := range cfg.InfoField {
		if _, ok := e.fieldKeys[keyLabel(k)]; !ok && e.fieldKeys != nil {
			e.fieldKeys[keyLabel(k)] = k // a field no longer in the profile
		}
	}
	e.Fields.SetSelected(keyLabels(cfg.InfoField))
	info := ""
	var s string
	if json.Unmarshal(cfg.EmergencyInfo, &s) == nil {
		info = s
	} else if string(cfg.EmergencyInfo) != "null" {
		info = string(cfg.EmergencyInfo)
	}
	e.Info.SetText(info)
	if cfg.Responders == app.RespondersAny {
		e.Responders.SetSelected(respondersAnyLabel)
	} else {
		e.Responders.SetSelected(respondersVerifiedLabel)
	}
	e.Conditions.SetText(strings.Join(cfg.Conditions, "\n"))
	e.Contacts.SetText(strings.Join(cfg.TrustedContacts, "\n"))
}

// showLog lists the log's entries, newest first, under the chain's check.
func (e *EmergencyScreen) showLog(l *app.EmergencyLog) {
	n := len(l.Entries)
	switch {
	case !l.Verified:
		e.Chain.SetText(fmt.Sprintf("%s at entry %d: the log was altered after it was written.", ChainBroken, l.BrokenAt))
	case n == 0:
		e.Chain.SetText(ChainOK + ": no one has asked for your emergency information on this device.")
	case n == 1:
		e.Chain.SetText(ChainOK + ": 1 entry, not altered.")
	default:
		e.Chain.SetText(fmt.Sprintf("%s: %d entries, none altered.", ChainOK, n))
	}
	var rows []fyne.CanvasObject
	for i := n - 1; i >= 0; i-- {
		rows = append(rows, wrapped(logLine(l.Entries[i])))
	}
	fill(e.Log, "", rows)
}

// LogLines are the log's entries as shown, newest first.
func (e *EmergencyScreen) LogLines() []string {
	var out []string
	for _, o := range e.Log.Objects {
		if l, ok := o.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return out
}

func logLine(en *app.EmergencyLogEntry) string {
	at := en.At.Local().Format("2006-01-02 15:04:05")
	if en.Unreadable {
		return fmt.Sprintf("#%d · %s · unreadable entry", en.Seq, at)
	}
	who := en.ResponderID
	if d := strings.Trim(en.ResponderName+", "+en.ResponderOrganization, ", "); d != "" {
		who += " (" + d + ")"
	}
	if en.Verified {
		who += ", verified"
	} else {
		who += ", not verified"
	}
	line := fmt.Sprintf("#%d · %s · %s · responder %s · %s · reason: %s", en.Seq, at, outcomeWords(en.Outcome), who, viaWords(en.Via, en.Client), en.Reason)
	if en.Condition != "" {
		line += " · condition confirmed: " + en.Condition
	}
	return line
}

// outcomeWords says how an attempt ended, as a person reads it rather than
// the log's code (not_verified).
func outcomeWords(outcome string) string {
	switch outcome {
	case app.OutcomeGranted:
		return "granted"
	case app.OutcomeNotVerified:
		return "refused: responder not verified"
	case app.OutcomeConditionNotMet:
		return "refused: the responder confirmed none of your conditions"
	case app.OutcomeRateLimited:
		return "refused: too many attempts"
	case app.OutcomeNotConfigured:
		return "refused: emergency access was not set up"
	case app.OutcomeUnavailable:
		return "refused: emergency access was not yet available on that device"
	}
	return outcome
}

// viaWords says where an attempt came from: the API or the emergency page
// (from the client's address), or a device's lock screen.
func viaWords(via, client string) string {
	switch via {
	case "api":
		return "through the API from " + client
	case "page":
		return "on the emergency page from " + client
	case "device":
		return "on a device's lock screen"
	}
	return "via " + via + " from " + client
}

// lines splits a multi-line entry into its non-empty, trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// infoJSON is the emergency information as sent: JSON as typed when it is
// an object or array, else the text as a JSON string; nil when empty.
func infoJSON(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil
	}
	if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(t)
	return b
}

func (e *EmergencyScreen) save() {
	responders := app.RespondersVerified
	if e.Responders.Selected == respondersAnyLabel {
		responders = app.RespondersAny
	}
	conditions := lines(e.Conditions.Text)
	if conditions == nil {
		conditions = []string{}
	}
	crit, _ := json.Marshal(map[string]any{"responders": responders, "conditions": conditions})
	contacts := lines(e.Contacts.Text)
	if contacts == nil {
		contacts = []string{}
	}
	contactsJSON, _ := json.Marshal(contacts)
	fields := []string{}
	for _, l := range e.Fields.Selected {
		k, ok := e.fieldKeys[l]
		if !ok {
			k = fieldKey(l)
		}
		fields = append(fields, k)
	}
	fieldsJSON, _ := json.Marshal(fields)
	if infoJSON(e.Info.Text) == nil && len(fields) == 0 {
		// Else the app's "emergency_info must exist!".
		e.shell.at(e.SaveNotice).say("Write what a responder should know (blood type, allergies, medication…), or tick a profile field they may see, first.")
		return
	}
	setup := app.EmergencySetup{
		TrustedContacts: contactsJSON,
		EmergencyInfo:   infoJSON(e.Info.Text),
		Criteria:        crit,
		InfoField:       fieldsJSON,
	}
	var created bool
	e.shell.at(e.SaveNotice).act("Saving emergency access", func(ctx context.Context, pr *app.Principal) error {
		acc, err := e.shell.u.app.SetupEmergency(ctx, pr, setup)
		if err == nil {
			created = acc.Created
		}
		return err
	}, func() {
		e.shown = "" // fill the form from what was stored
		if created {
			e.load("Emergency access is set up: print your card.")
		} else {
			e.load("Emergency access saved; your card stays the same.")
		}
	})
}
