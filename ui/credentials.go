package ui

// The Credentials screen: the user's licences, ID cards and other
// documents; add one from a photo (told when it repeats one already
// added), see what was read and the verification's result, then confirm
// or reject it; confirming may fill the profile's fields, shown before
// and after first.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// credentialType is a document type as shown and as sent.
type credentialType struct{ label, typ string }

// credentialTypes are the document types offered, as shown and as sent:
// a licence or ID card is read from its barcode and verified; the others
// are kept as unverified documents.
var credentialTypes = []credentialType{
	{"Driver's licence", app.CredentialDriversLicense},
	{"ID card", app.CredentialIDCard},
	{"Passport", "passport"},
	{"Other", "other"},
}

func credentialLabel(typ string) string {
	if t, ok := find(credentialTypes, func(t credentialType) bool { return t.typ == typ }); ok {
		return t.label
	}
	return typ
}

// credentialImageTypes are the file types the open dialog offers.
var credentialImageTypes = []string{".png", ".jpg", ".jpeg", ".gif", ".webp"}

// CredentialsScreen lists the user's credentials and adds one from a photo
// of the document (an image file, or the camera on a phone): a licence's
// barcode is read and verified, and the user sees what was read and the
// verification's result, then confirms (optionally filling the profile's
// name and address) or rejects it.
type CredentialsScreen struct {
	shell   *Shell
	creds   []*app.Credential
	current *app.Credential // the credential shown in the details
	loads   int             // loads started, and photos added since (see load)

	Type     *widget.Select
	FromFile *widget.Button
	Camera   *widget.Button // shown only where the device has a camera (a phone)
	Reading  *widget.ProgressBarInfinite
	Age      *widget.Label // the date of birth age claims use, and where it comes from
	Added    *widget.Label // under the add buttons: what reading the photo found
	List     *widget.List
	None     *widget.Label // in the list's place while there is no credential

	// Details of the chosen credential.
	Heading      *widget.Label
	Fields       *widget.Label // what was read from the document, one per line
	Verification *widget.Label
	Problems     *widget.Label
	Fill         *widget.Check // confirm fills the profile's name and address
	Confirm      *widget.Button
	Reject       *widget.Button
	Notice       *widget.Label // under Confirm and Reject: what they did
}

func (c *CredentialsScreen) build() fyne.CanvasObject {
	c.Type = widget.NewSelect(labelsOf(credentialTypes, func(t credentialType) string { return t.label }), nil)
	c.Type.SetSelected(credentialTypes[0].label)
	c.FromFile = primary("Add from image file…", theme.FileImageIcon(), c.chooseFile)
	c.Camera = widget.NewButtonWithIcon("Take a photo", theme.MediaPhotoIcon(), c.takePhoto)
	if !fyne.CurrentDevice().IsMobile() {
		c.Camera.Hide()
	}
	c.Reading = widget.NewProgressBarInfinite()
	c.Reading.Stop()
	c.Reading.Hide()
	c.Age = wrapped("")
	c.Added = notice()

	c.List = widget.NewList(
		func() int { return len(c.creds) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(credentialSummary(c.creds[i]))
		},
	)
	c.List.OnSelected = func(i widget.ListItemID) {
		c.shell.u.Touch()
		if c.current == nil || c.current.ID != c.creds[i].ID {
			c.Notice.Hide() // it spoke of the credential shown before
		}
		c.show(c.creds[i])
	}

	c.Heading = boldWrapped("Choose a credential, or add one.")
	c.Fields = wrapped("")
	c.Fields.Selectable = true
	c.Verification = wrapped("")
	c.Problems = wrapped("")
	c.Fill = widget.NewCheck("Fill my profile with the name and address", nil)
	c.Confirm = primary("Confirm", theme.ConfirmIcon(), c.confirm)
	c.Reject = widget.NewButtonWithIcon("Reject", theme.CancelIcon(), c.reject)
	c.Reject.Importance = widget.DangerImportance
	c.Notice = notice()
	c.show(nil)

	add := container.NewVBox(
		form(formRow{"Document", c.Type}),
		c.FromFile,
		c.Camera,
		c.Reading,
		c.Added,
		c.Age,
	)
	details := container.NewVScroll(container.NewVBox(
		c.Heading,
		c.Fields,
		c.Verification,
		c.Problems,
		c.Fill,
		container.NewHBox(c.Confirm, c.Reject),
		c.Notice,
	))
	c.None = wrapped("No credentials yet: add a photo of your licence, ID card or another document above.")
	c.None.Hide()
	split := container.NewVSplit(container.NewStack(c.List, container.NewVBox(c.None)), details)
	split.Offset = 0.35
	return container.NewBorder(add, nil, nil, nil, split)
}

// listed shows the list anew, or that it is empty.
func (c *CredentialsScreen) listed() {
	c.List.Refresh()
	if len(c.creds) == 0 {
		c.None.Show()
	} else {
		c.None.Hide()
	}
}

// credentialSummary is a credential's line in the list.
func credentialSummary(cr *app.Credential) string {
	return fmt.Sprintf("%s · %s · %s · %s", credentialLabel(cr.Type), cr.Status, cr.Verification, cr.CreatedAt.Local().Format("2006-01-02 15:04"))
}

func (c *CredentialsScreen) refresh() { c.load("") }

// credentialsView is what the screen shows: the credentials, and which
// date of birth age claims use.
type credentialsView struct {
	creds []*app.Credential
	age   string
}

// load reloads the list, then shows after in the status line. A list
// read before a photo was added since (a drop switches to this screen,
// whose refresh then races the photo's reading) is not shown: it would
// take the new credential away.
func (c *CredentialsScreen) load(after string) {
	c.loads++
	n := c.loads
	load(c.shell, "Loading your credentials", c.fetch, func(v credentialsView) {
		if n != c.loads {
			if after != "" {
				c.shell.say(after)
			}
			return
		}
		c.creds = v.creds
		c.Age.SetText(v.age)
		c.listed()
		if c.current != nil {
			c.show(c.find(c.current.ID))
		}
		if after != "" {
			c.shell.say(after)
		}
	})
}

func (c *CredentialsScreen) fetch(ctx context.Context, pr *app.Principal) (v credentialsView, err error) {
	if v.creds, err = c.shell.u.app.Credentials(ctx, pr); err == nil {
		v.age, err = c.ageText(ctx, pr)
	}
	return v, err
}

// ageText says which date of birth age claims use; it runs off the UI
// goroutine.
func (c *CredentialsScreen) ageText(ctx context.Context, pr *app.Principal) (string, error) {
	a := c.shell.u.app
	dob, fromCredential, ok, err := a.BirthDate(ctx, pr)
	if err != nil {
		return "", err
	}
	if !ok {
		return "Age claims: no date of birth yet (confirm a verified licence, or add a Date of birth to your profile).", nil
	}
	from := "your profile's Date of birth (self-declared)"
	if fromCredential {
		from = "a confirmed, verified credential"
	}
	return fmt.Sprintf("Age claims use the date of birth %s (age %d), from %s.", dob.Format(app.DateLayout), app.AgeOn(dob, a.Now()), from), nil
}

func (c *CredentialsScreen) find(id string) *app.Credential {
	cr, _ := find(c.creds, func(cr *app.Credential) bool { return cr.ID == id })
	return cr
}

// Credential returns the listed credential with the given id, or nil.
func (c *CredentialsScreen) Credential(id string) *app.Credential { return c.find(id) }

// Current is the credential shown in the details, or nil.
func (c *CredentialsScreen) Current() *app.Credential { return c.current }

// selectedType is the credential_type sent for the chosen document type.
func (c *CredentialsScreen) selectedType() string {
	t, _ := find(credentialTypes, func(t credentialType) bool { return t.label == c.Type.Selected })
	return t.typ
}

func (c *CredentialsScreen) chooseFile() {
	openFile(c.shell, storage.NewExtensionFileFilter(credentialImageTypes), c.addFile)
}

// takePhoto opens the phone's image picker, from which the camera or the
// photo library gives the picture (Fyne has no direct camera API).
func (c *CredentialsScreen) takePhoto() {
	openFile(c.shell, storage.NewMimeTypeFileFilter([]string{"image/*"}), c.addFile)
}

// addFile adds a credential from the image file chosen.
func (c *CredentialsScreen) addFile(r fyne.URIReadCloser) { c.add(r) }

// AddImage adds a credential of the chosen type from an image's bytes: what
// the file dialog and the camera feed. The photo is read off the UI
// goroutine, with progress shown; the result is shown when done.
func (c *CredentialsScreen) AddImage(image []byte) {
	c.add(io.NopCloser(bytes.NewReader(image)))
}

// add adds a credential from the photo r (the file dialog's, the
// camera's), which it closes.
func (c *CredentialsScreen) add(r io.ReadCloser) {
	if !c.canAdd() {
		r.Close()
		return
	}
	c.read([]photo{{open: func() (io.ReadCloser, error) { return r, nil }}}, false)
}

// photo is a picture of a document to add: its file's name (a dropped
// file's; "" for the file dialog's and the camera's, whose errors name no
// file) and how to open it.
type photo struct {
	name string
	open func() (io.ReadCloser, error)
}

// photoAdded is what adding one photo did: the credential made, or why not.
type photoAdded struct {
	name string
	cred *app.Credential
	err  error
}

// canAdd says why no photo can be added now (in the notice under the add
// buttons), else true.
func (c *CredentialsScreen) canAdd() bool {
	if c.shell.principal() == nil || c.selectedType() == "" {
		c.shell.at(c.Added).say("Choose the kind of document first.")
		return false
	}
	return true
}

// Drop adds a credential of the chosen type from each picture among the
// files dropped on the window (a PNG, JPEG, GIF or WebP file, as the file
// dialog offers), one after another, the way the file dialog's file is;
// the notice under the add buttons says how many were added and why any
// other was not ("notes.txt is not a picture: …").
func (c *CredentialsScreen) Drop(uris []fyne.URI) {
	if len(uris) == 0 {
		return
	}
	c.shell.u.Touch()
	if c.FromFile.Disabled() {
		c.shell.at(c.Added).say("Still reading a photo: drop the file again when it is done.")
		return
	}
	if !c.canAdd() {
		return
	}
	var photos []photo
	var refused []string
	for _, u := range uris {
		if !slices.Contains(credentialImageTypes, strings.ToLower(u.Extension())) {
			refused = append(refused, notAPicture(u.Name()))
			continue
		}
		photos = append(photos, photo{name: u.Name(), open: func() (io.ReadCloser, error) { return storage.Reader(u) }})
	}
	if len(photos) == 0 {
		msg := strings.Join(refused, "\n")
		if len(uris) > 1 {
			msg = fmt.Sprintf("None of the %d dropped files was added.\n%s", len(uris), msg)
		}
		c.shell.at(c.Added).say(msg)
		return
	}
	c.read(photos, true, refused...)
}

// notAPicture is said of a dropped file that is no picture.
func notAPicture(name string) string {
	return name + " is not a picture: drop a photo of the document (PNG, JPEG, GIF or WebP)."
}

// read adds a credential of the chosen type from each photo, one after
// another off the UI goroutine, with progress shown; the results are
// listed and the last one shown when done. A dropped file's outcome names
// the file, with refused (the dropped files that are no pictures) among
// them; a single photo from the file dialog or the camera says its error
// as any action does.
func (c *CredentialsScreen) read(photos []photo, dropped bool, refused ...string) {
	pr := c.shell.principal()
	typ := c.selectedType()
	c.Notice.Hide() // what it says was about the credential shown before
	c.FromFile.Disable()
	c.Camera.Disable()
	c.Reading.Show()
	c.Reading.Start()
	var results []photoAdded
	var age string
	what := "Reading the photo of your " + strings.ToLower(c.Type.Selected)
	if len(photos) > 1 {
		what = fmt.Sprintf("Reading %d photos", len(photos))
	}
	c.shell.at(c.Added).run(what, func(ctx context.Context) error {
		added := false
		for _, p := range photos {
			cr, err := c.addPhoto(ctx, pr, typ, p)
			results = append(results, photoAdded{name: p.name, cred: cr, err: err})
			added = added || err == nil
			if err != nil && !dropped {
				return err
			}
		}
		if !added {
			return nil
		}
		var err error
		age, err = c.ageText(ctx, pr)
		return err
	}, func(err error) {
		c.Reading.Stop()
		c.Reading.Hide()
		c.FromFile.Enable()
		c.Camera.Enable()
		if err != nil {
			return
		}
		var last *app.Credential
		for _, r := range results {
			if r.cred == nil {
				continue
			}
			c.loads++                     // a list read in flight may predate it (see load)
			if c.find(r.cred.ID) == nil { // a reload meanwhile may have listed it
				c.creds = append(c.creds, r.cred)
			}
			last = r.cred
		}
		if last != nil {
			c.Age.SetText(age)
			c.listed()
			if i := slices.IndexFunc(c.creds, func(cr *app.Credential) bool { return cr.ID == last.ID }); i >= 0 {
				c.List.Select(i)
			}
			c.show(last)
		}
		if dropped {
			c.shell.say(droppedWords(typ, results, refused))
			return
		}
		if last == nil {
			return
		}
		if d := last.Duplicate; d != nil {
			c.shell.say(duplicateWords(last.Type, d.CreatedAt))
			return
		}
		c.shell.say("Read. Check what was found, then confirm or reject.")
	})
}

// addPhoto adds a credential of type typ from the photo p; it runs off the
// UI goroutine.
func (c *CredentialsScreen) addPhoto(ctx context.Context, pr *app.Principal, typ string, p photo) (*app.Credential, error) {
	r, err := p.open()
	if err != nil {
		return nil, errUnreadableFile
	}
	defer r.Close()
	image, err := readAllLimited(r, app.MaxCredentialImage)
	if err == io.ErrShortBuffer {
		return nil, app.E(app.KindTooLarge, "image_too_large", fmt.Sprintf("The image is larger than %d MB.", app.MaxCredentialImage>>20))
	}
	if err != nil {
		return nil, errUnreadableFile
	}
	if len(image) == 0 { // else the app's "credential_type,credential_image must exist!"
		return nil, errEmptyFile
	}
	return c.shell.u.app.AddCredential(ctx, pr, typ, image)
}

// errUnreadableFile is a photo's file that could not be opened or read.
var errUnreadableFile = app.E(app.KindInvalid, "unreadable_file", "The file could not be read.")

// errEmptyFile is a photo's file with nothing in it: no picture, as the
// user reads it.
var errEmptyFile = app.E(app.KindInvalid, "not_an_image", "The file is empty.")

// duplicateWords says that a credential repeats one added before.
func duplicateWords(typ string, before time.Time) string {
	return fmt.Sprintf("You already added this %s on %s: reject this copy unless you mean to keep both.", documentWord(typ), fmtWhen(before))
}

// droppedWords says what adding the dropped files did: how many were
// added as documents of type typ, then a line for each that was not
// (refused: those that are no pictures) and for each copy of a document
// added before.
func droppedWords(typ string, results []photoAdded, refused []string) string {
	word := documentWord(typ)
	var added []string
	var lines []string
	for _, r := range results {
		switch {
		case r.cred != nil:
			added = append(added, r.name)
			if d := r.cred.Duplicate; d != nil {
				lines = append(lines, r.name+": "+duplicateWords(r.cred.Type, d.CreatedAt))
			}
		case errCode(r.err) == "not_an_image":
			lines = append(lines, notAPicture(r.name))
		case errCode(r.err) == "unreadable_file":
			lines = append(lines, r.name+" could not be read: check that the file is still there and that you may open it.")
		default:
			lines = append(lines, r.name+": "+message(r.err))
		}
	}
	lines = append(lines, refused...)
	total := len(results) + len(refused)
	var head string
	switch n := len(added); {
	case total == 1 && n == 1:
		head = fmt.Sprintf("Added the %s from the dropped file %s. Check what was found, then confirm or reject.", word, added[0])
	case total == 1:
		return strings.Join(lines, "\n")
	case n == 0:
		head = fmt.Sprintf("None of the %d dropped files was added.", total)
	case n == total:
		head = fmt.Sprintf("Added the %d dropped files as %ss: %s. Check what was found, then confirm or reject.", n, word, strings.Join(added, ", "))
	default:
		head = fmt.Sprintf("Added %d of the %d dropped files as %ss: %s. Check what was found, then confirm or reject.", n, total, word, strings.Join(added, ", "))
	}
	return strings.Join(append([]string{head}, lines...), "\n")
}

// documentWord is how a sentence names a document of type typ.
func documentWord(typ string) string {
	switch typ {
	case app.CredentialDriversLicense:
		return "licence"
	case app.CredentialIDCard:
		return "ID card"
	}
	return "document"
}

// show puts a credential in the details (nil: none chosen).
func (c *CredentialsScreen) show(cr *app.Credential) {
	defer func() {
		c.current = cr
		// An empty line takes no room between the heading and the buttons.
		for _, l := range []*widget.Label{c.Fields, c.Verification, c.Problems} {
			if l.Text == "" {
				l.Hide()
			} else {
				l.Show()
			}
		}
	}()
	if cr == nil {
		c.Heading.SetText("Choose a credential, or add one.")
		for _, l := range []*widget.Label{c.Fields, c.Verification, c.Problems} {
			l.SetText("")
		}
		c.Fill.Hide()
		c.Confirm.Disable()
		c.Reject.Disable()
		return
	}
	heading := credentialLabel(cr.Type) + " — " + cr.Status
	if cr.ConfirmedAt != nil {
		heading += " on " + cr.ConfirmedAt.Local().Format("2006-01-02 15:04")
	}
	c.Heading.SetText(heading)
	fields := extractedLines(cr.Extracted)
	if fields == "" {
		fields = "Nothing is read from this kind of document; the image is kept."
	}
	c.Fields.SetText(fields)
	c.Verification.SetText("Verification: " + verificationText(cr.Verification))
	if len(cr.Problems) > 0 {
		c.Problems.SetText("Problems:\n• " + strings.Join(cr.Problems, "\n• "))
	} else {
		c.Problems.SetText("")
	}
	if hasFillable(cr.Extracted) && cr.Status == app.CredentialPending {
		c.Fill.Show()
	} else {
		c.Fill.Hide()
	}
	if cr.Status == app.CredentialPending {
		c.Confirm.Enable()
	} else {
		c.Confirm.Disable()
	}
	c.Reject.Enable()
}

func verificationText(v string) string {
	switch v {
	case app.VerificationVerified:
		return "verified — the barcode was read and every check passed"
	case app.VerificationExpired:
		return "expired — genuine, but past its expiry date; it vouches for no age"
	case app.VerificationFailed:
		return "FAILED — see the problems below"
	case app.VerificationUnverified:
		return "unverified — this kind of document has no barcode standard to check"
	}
	return v
}

// extracted is what the screen shows of a document's extracted fields.
type extracted struct {
	First    string `json:"first_name"`
	Middle   string `json:"middle_name"`
	Last     string `json:"last_name"`
	DOB      string `json:"date_of_birth"`
	Issued   string `json:"issue_date"`
	Expires  string `json:"expiry_date"`
	Number   string `json:"document_number"`
	Issuer   string `json:"issuer"`
	Document string `json:"document_type"`
	Address  struct {
		Street     string `json:"street"`
		City       string `json:"city"`
		State      string `json:"state"`
		PostalCode string `json:"postal_code"`
		Country    string `json:"country"`
	} `json:"address"`
}

func (e extracted) name() string {
	return strings.Join(strings.Fields(e.First+" "+e.Middle+" "+e.Last), " ")
}

func (e extracted) address() string {
	var parts []string
	for _, s := range []string{e.Address.Street, e.Address.City, strings.TrimSpace(e.Address.State + " " + e.Address.PostalCode), e.Address.Country} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func hasFillable(raw json.RawMessage) bool {
	var e extracted
	return json.Unmarshal(raw, &e) == nil && (e.name() != "" || e.address() != "")
}

// extractedLines lists what was read from a document, one "Label: value"
// per line ("" when nothing was read).
func extractedLines(raw json.RawMessage) string {
	var e extracted
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	var lines []string
	for _, kv := range [][2]string{
		{"Name", e.name()},
		{"Date of birth", e.DOB},
		{"Address", e.address()},
		{"Document number", e.Number},
		{"Issued", e.Issued},
		{"Expires", e.Expires},
		{"Issuer", e.Issuer},
	} {
		if kv[1] != "" {
			lines = append(lines, kv[0]+": "+kv[1])
		}
	}
	return strings.Join(lines, "\n")
}

// confirm confirms the credential shown; when it fills the profile, the
// fields it would write are shown first, before and after, and nothing is
// written unless the user agrees.
func (c *CredentialsScreen) confirm() {
	cr := c.current
	if cr == nil {
		return
	}
	c.Added.Hide() // what it says was about reading the photo
	if !c.Fill.Visible() || !c.Fill.Checked {
		c.confirmNow(cr, false)
		return
	}
	var plan []app.FillChange
	c.shell.at(c.Notice).act("Comparing with your profile", func(ctx context.Context, pr *app.Principal) (err error) {
		plan, err = c.shell.u.app.FillPreview(ctx, pr, cr.ID)
		return err
	}, func() {
		if len(plan) == 0 {
			c.confirmNow(cr, true)
			return
		}
		d := dialog.NewConfirm("Fill your profile?", fillLines(plan), func(yes bool) {
			if yes {
				c.confirmNow(cr, true)
			} else {
				c.shell.at(c.Notice).say("Nothing was changed.")
			}
		}, c.shell.window())
		d.SetConfirmText("Fill and confirm")
		d.SetDismissText("Cancel")
		d.Show()
	})
}

// fillLines says, one line a field, what filling the profile changes:
// "Home address: 1 Old Road → 123 MAIN ST, …".
func fillLines(plan []app.FillChange) string {
	lines := []string{"These fields of your profile will read:"}
	for _, f := range plan {
		switch {
		case f.IsNew:
			lines = append(lines, fmt.Sprintf("%s (new): %s", keyLabel(f.Field), f.New))
		case f.Old == f.New:
			lines = append(lines, fmt.Sprintf("%s: %s (unchanged)", keyLabel(f.Field), f.New))
		case f.Old == "":
			lines = append(lines, fmt.Sprintf("%s: (empty) → %s", keyLabel(f.Field), f.New))
		default:
			lines = append(lines, fmt.Sprintf("%s: %s → %s", keyLabel(f.Field), f.Old, f.New))
		}
	}
	return strings.Join(lines, "\n")
}

func (c *CredentialsScreen) confirmNow(cr *app.Credential, fill bool) {
	var confirmed *app.Credential
	var filled []string
	var age string
	c.shell.at(c.Notice).act("Confirming", func(ctx context.Context, pr *app.Principal) (err error) {
		if confirmed, filled, err = c.shell.u.app.ConfirmCredential(ctx, pr, cr.ID, fill); err == nil {
			age, err = c.ageText(ctx, pr)
		}
		return err
	}, func() {
		msg := "Confirmed."
		if len(filled) > 0 {
			msg += " Filled from the document: " + strings.Join(keyLabels(filled), ", ") + "."
		}
		c.Age.SetText(age)
		c.Fill.SetChecked(false)
		c.show(confirmed)
		c.load(msg)
	})
}

func (c *CredentialsScreen) reject() {
	cr := c.current
	if cr == nil {
		return
	}
	c.Added.Hide()
	c.shell.at(c.Notice).act("Rejecting", func(ctx context.Context, pr *app.Principal) error {
		return c.shell.u.app.RejectCredential(ctx, pr, cr.ID)
	}, func() {
		c.List.UnselectAll()
		c.show(nil)
		c.load("Rejected: the document and its image are deleted.")
	})
}
