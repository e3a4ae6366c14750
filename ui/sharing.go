package ui

// The Sharing screen: third parties' requests to approve or deny, sharing
// one field with a service as a QR code that proves it offline (and, at
// the user's choice, as an SD-JWT VC for a wallet), every service with
// what it sees now (show a share's code again, revoke), and the button
// that opens the Verify a code dialog (verify.go).

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/qr"
)

// SharingScreen is where the user decides what leaves the profile: third
// parties' pending requests (approve or deny), sharing one field with a
// service as a QR code that carries the share's signed credential
// ({public_url}/api/v1/verify#JWS: it verifies with no connection), and
// every service with what it can see now, each with a Revoke button.
type SharingScreen struct {
	shell *Shell

	choices []string          // the Field box's labels ("E-mail", "Age over 18")
	claims  map[string]string // the key each of them is shared under

	// Requests: a row per request, pending ones first; ApproveFor is how
	// long an approved request's share lasts.
	ApproveFor *widget.Select
	Requests   []*RequestRow
	requestBox *fyne.Container

	// Share one field with a service.
	Service     *widget.Entry
	Field       *widget.SelectEntry
	Expiry      *widget.Select
	Wallet      *widget.Check // wallet format: also issue an SD-JWT VC (dc+sd-jwt)
	ShareButton *widget.Button

	// Notices: what the last action in each part said, under it (the
	// requests, the share form, the services).
	RequestsNotice, ShareNotice, ServicesNotice *widget.Label

	// The QR code of the share made last (or shown again): the image, what
	// it proves and until when, who can open its link (Reach), and its
	// text (the verify page's URL with the signed code in the fragment),
	// selectable. Credential is the SD-JWT VC of a share made in wallet
	// format, to copy (credBox hides it otherwise).
	QR             *canvas.Image
	QRTitle        *widget.Label
	QRExpires      *widget.Label
	Reach          *ReachNote
	VerifyURL      *widget.Label
	CopyURL        *widget.Button
	Credential     *widget.Label
	CopyCredential *widget.Button
	credBox        *fyne.Container
	qrBox          *fyne.Container
	qrService      string // whose share the QR code is

	// Verify a code someone shows you (verify.go), in a dialog.
	VerifyButton *widget.Button
	Verify       *VerifyScreen

	// Services and what each can see now.
	Services   []*ServiceRow
	serviceBox *fyne.Container
}

// RequestRow is one third-party request on screen. Approve and Deny are
// nil once it is decided or expired.
type RequestRow struct {
	Request       *app.RequestView
	Text          *widget.Label
	Approve, Deny *widget.Button
}

// ServiceRow is one service on screen: what it sees now, its shares (each
// active one with a button that shows its QR code again and one that
// revokes that share alone) and Revoke, which ends everything the service
// holds (nil once revoked).
type ServiceRow struct {
	Access      app.ServiceAccess
	Text        *widget.Label
	Sees        *widget.Label
	ShowQR      map[string]*widget.Button // by share id, active shares only
	RevokeShare map[string]*widget.Button // by share id, active shares only
	Revoke      *widget.Button
}

// shareExpiryChoice is a lifetime offered for a share.
type shareExpiryChoice struct {
	label string
	d     time.Duration
}

// shareExpiries are the lifetimes offered for a share.
var shareExpiries = []shareExpiryChoice{
	{"1 hour", time.Hour},
	{"1 day", 24 * time.Hour},
	{"7 days", 7 * 24 * time.Hour},
	{"30 days", 30 * 24 * time.Hour},
	{"90 days", 90 * 24 * time.Hour},
}

const defaultShareExpiry = "7 days"

func shareExpiry(label string) time.Duration {
	if e, ok := find(shareExpiries, func(e shareExpiryChoice) bool { return e.label == label }); ok {
		return e.d
	}
	return app.DefaultShareTTL
}

// derivedClaims are offered besides the profile's fields: computed from the
// date of birth, they tell a service an age without the date.
var derivedClaims = []string{"age_over_18", "age_over_21", "age"}

func (s *SharingScreen) build() fyne.CanvasObject {
	labels := labelsOf(shareExpiries, func(e shareExpiryChoice) string { return e.label })
	s.ApproveFor = widget.NewSelect(labels, nil)
	s.ApproveFor.SetSelected(defaultShareExpiry)
	s.requestBox = container.NewVBox()

	s.Service = widget.NewEntry()
	s.Service.SetPlaceHolder("shop.example.com")
	s.Field = widget.NewSelectEntry(nil)
	s.Field.SetPlaceHolder("E-mail, Age over 18, …")
	s.Expiry = widget.NewSelect(labels, nil)
	s.Expiry.SetSelected(defaultShareExpiry)
	s.Wallet = widget.NewCheck("Wallet format (SD-JWT VC)", nil)
	s.ShareButton = primary("Share", theme.MailSendIcon(), s.share)
	s.RequestsNotice, s.ShareNotice, s.ServicesNotice = notice(), notice(), notice()

	s.QR = newQRImage(qrSize)
	s.QRTitle = boldWrapped("")
	s.QRExpires = wrapped("")
	s.Reach = newReachNote(s.shell)
	s.VerifyURL = selectable()
	s.CopyURL = copyButton(s.shell, "Copy link", s.VerifyURL, "The code's link is on the clipboard.")
	s.Credential = selectable()
	s.CopyCredential = copyButton(s.shell, "Copy credential", s.Credential, "The SD-JWT VC is on the clipboard.")
	s.credBox = container.NewVBox(
		boldWrapped("Wallet format"),
		wrapped("The same claim as an SD-JWT VC (dc+sd-jwt), for a wallet or a verifier that reads that format: copy it to them. The QR code above stays the offline code."),
		s.Credential, s.CopyCredential)
	s.credBox.Hide()
	s.qrBox = container.NewVBox(s.QRTitle, container.NewCenter(s.QR), s.QRExpires, s.Reach.object(), s.VerifyURL, s.CopyURL, s.credBox)
	s.qrBox.Hide()

	s.Verify = &VerifyScreen{shell: s.shell}
	s.VerifyButton = widget.NewButtonWithIcon("Verify a code…", theme.SearchIcon(), s.Verify.open)

	s.serviceBox = container.NewVBox()

	// A third party's request shows at once (app events), with a system
	// notification.
	if pr := s.shell.principal(); pr != nil {
		events, stop := s.shell.u.app.Subscribe(pr.UserID)
		s.shell.onClose(stop)
		go func() {
			for ev := range events {
				fyne.Do(func() {
					doneMu.Lock()
					defer doneMu.Unlock()
					s.event(ev)
				})
			}
		}()
	}

	return page(
		section("Requests waiting for you", form(formRow{"Approve for", s.ApproveFor}), s.RequestsNotice, s.requestBox),
		section("Share one field with a service",
			form(formRow{"Service", s.Service}, formRow{"Field", s.Field}, formRow{"Expires in", s.Expiry}),
			s.Wallet,
			wrapped("The service gets a QR code to scan: the field's current value, signed by your profile's key, which it checks by itself with no connection to you, until the share expires or you revoke it. Restricted fields are never shared."),
			s.ShareButton,
			s.ShareNotice,
			s.qrBox),
		section("Services and what each sees now", s.ServicesNotice, s.serviceBox),
		section("Someone shows you a code", wrapped("Check a share code's signature, who it is for and until when."), container.NewHBox(s.VerifyButton)),
	)
}

// sharingView is what the screen shows: the requests, the rings (whose
// fields may be shared) and every service's access.
type sharingView struct {
	requests []*app.RequestView
	rings    []app.RingView
	access   []app.ServiceAccess
}

func (s *SharingScreen) refresh() {
	load(s.shell, "Loading requests and services", s.fetch, func(v sharingView) {
		s.showRequests(v.requests)
		s.showFieldChoices(v.rings)
		s.showServices(v.access)
	})
}

func (s *SharingScreen) fetch(ctx context.Context, pr *app.Principal) (v sharingView, err error) {
	a := s.shell.u.app
	if v.requests, err = a.Requests(ctx, pr); err != nil {
		return v, err
	}
	if v.rings, err = a.Rings(ctx, pr); err != nil {
		return v, err
	}
	v.access, err = a.Access(ctx, pr)
	return v, err
}

// FieldChoices are the claims the Field box offers, by their labels: the
// profile's fields that may leave it, then the age claims.
func (s *SharingScreen) FieldChoices() []string { return s.choices }

func (s *SharingScreen) showFieldChoices(rings []app.RingView) {
	var opts []string
	for _, r := range rings {
		if r.Level != app.RingRestricted {
			opts = append(opts, r.Fields...)
		}
	}
	sort.Strings(opts)
	opts = append(opts, derivedClaims...)
	s.choices, s.claims = keyLabels(opts), map[string]string{}
	for i, l := range s.choices {
		s.claims[l] = opts[i]
	}
	s.Field.SetOptions(s.choices)
}

// Request returns the row of the newest request from a service for a
// field, or nil.
func (s *SharingScreen) Request(serviceID, field string) *RequestRow {
	r, _ := find(s.Requests, func(r *RequestRow) bool {
		return r.Request.ServiceID == serviceID && r.Request.InfoField == field
	})
	return r
}

func (s *SharingScreen) showRequests(requests []*app.RequestView) {
	rs := append([]*app.RequestView(nil), requests...)
	// Pending first, then the most recent decisions.
	sort.SliceStable(rs, func(i, j int) bool {
		pi, pj := rs[i].State == app.RequestPending, rs[j].State == app.RequestPending
		if pi != pj {
			return pi
		}
		return rs[i].CreatedAt.After(rs[j].CreatedAt)
	})
	const decidedShown = 10
	s.Requests = nil
	var objs []fyne.CanvasObject
	decided := 0
	for _, r := range rs {
		if r.State != app.RequestPending {
			if decided == decidedShown {
				continue
			}
			decided++
		}
		row := &RequestRow{Request: r, Text: wrapped(requestText(r))}
		objs = append(objs, row.Text)
		if r.State == app.RequestPending {
			id := r.ID
			row.Approve = primary("Approve", theme.ConfirmIcon(), func() { s.approve(id) })
			row.Deny = widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() { s.deny(id) })
			objs = append(objs, container.NewHBox(row.Approve, row.Deny))
		}
		objs = append(objs, widget.NewSeparator())
		s.Requests = append(s.Requests, row)
	}
	fill(s.requestBox, "No third party has asked for anything.", objs)
}

// requestTitle is the notification of a new request.
const requestTitle = "New request"

// event handles an event of the signed-in user (on the UI goroutine): a
// new request is notified and shown.
func (s *SharingScreen) event(ev app.Event) {
	if ev.Kind != app.EventRequest {
		return
	}
	s.shell.u.fyne.SendNotification(fyne.NewNotification(requestTitle, requestNotice(ev)))
	s.refresh()
}

// requestNotice is the notification's text: "(unverified)" unless the
// requester's callback proved its domain.
func requestNotice(ev app.Event) string {
	if ev.RequesterVerified {
		return fmt.Sprintf("%s asks for your %s (verified: %s answered a challenge). See Sharing.", ev.ServiceID, claimLabel(ev.InfoField), ev.RequesterDomain)
	}
	return fmt.Sprintf("%s (unverified) asks for your %s. See Sharing.", ev.ServiceID, claimLabel(ev.InfoField))
}

// unverified is said of a requester that proved no domain: anyone may
// give any service id.
const unverified = "Unverified: anyone can ask under any name."

// requesterText says who asks, as far as the device could check: a
// domain that answered the request's challenge, or unverified (and why).
func requesterText(r *app.RequestView) string {
	switch {
	case r.RequesterVerified:
		return fmt.Sprintf("Verified: %s answered a challenge.", r.RequesterDomain)
	case r.RequesterCheck == app.RequesterCheckRunning:
		return fmt.Sprintf("%s Checking whether %s answers a challenge…", unverified, r.RequesterDomain)
	case r.RequesterCheck == app.RequesterCheckFailed:
		return fmt.Sprintf("%s %s did not prove it asks: %s.", unverified, r.RequesterDomain, r.RequesterProblem)
	}
	return unverified
}

func requestText(r *app.RequestView) string {
	switch r.State {
	case app.RequestPending:
		return fmt.Sprintf("%s asks for your %s (asked %s; waits until %s). %s", r.ServiceID, claimLabel(r.InfoField), fmtWhen(r.CreatedAt), fmtWhen(r.ExpiresAt), requesterText(r))
	case app.RequestExpired:
		return fmt.Sprintf("%s asked for your %s: expired %s, unanswered.", r.ServiceID, claimLabel(r.InfoField), fmtWhen(r.ExpiresAt))
	default:
		return fmt.Sprintf("%s asked for your %s: %s %s.", r.ServiceID, claimLabel(r.InfoField), r.State, fmtWhen(r.DecidedAt))
	}
}

func (s *SharingScreen) approve(id string) {
	ttl := shareExpiry(s.ApproveFor.Selected)
	var sh *app.Share
	s.shell.at(s.RequestsNotice).change("Approving the request", func(ctx context.Context, pr *app.Principal) (err error) {
		sh, err = s.shell.u.app.ApproveRequest(ctx, pr, id, ttl)
		return err
	}, func() string {
		return fmt.Sprintf("Approved: %s can verify your %s until %s.", sh.ServiceID, claimLabel(sh.InfoField), fmtWhen(sh.ExpiresAt))
	}, s.refresh)
}

func (s *SharingScreen) deny(id string) {
	s.shell.at(s.RequestsNotice).change("Denying the request", func(ctx context.Context, pr *app.Principal) error {
		return s.shell.u.app.DenyRequest(ctx, pr, id)
	}, func() string { return "Denied: the third party is told so and gets nothing." }, s.refresh)
}

// share creates a share from the form and shows its QR code.
func (s *SharingScreen) share() {
	req := app.ShareRequest{
		ServiceID: strings.TrimSpace(s.Service.Text),
		InfoField: s.claimKey(s.Field.Text),
		ExpiresIn: shareExpiry(s.Expiry.Selected),
	}
	if s.Wallet.Checked {
		req.Format = app.ShareFormatSDJWT
	}
	if msg := shareMissing(req); msg != "" {
		s.shell.at(s.ShareNotice).say(msg) // else the app's "service_id,info_field must exist!"
		return
	}
	var (
		sh   *app.Share
		code string
		png  []byte
	)
	s.shell.at(s.ShareNotice).act("Sharing your "+claimLabel(req.InfoField), func(ctx context.Context, pr *app.Principal) error {
		var err error
		if sh, err = s.shell.u.app.CreateShare(ctx, pr, req); err != nil {
			return err
		}
		// The QR code carries the offline code, as when shown again.
		if code, err = s.shell.u.app.ShareCode(ctx, pr, sh.ShareID); err != nil {
			return err
		}
		png, _ = qr.PNG(code, qrSize) // nil when too long: the code is shown as text alone
		return nil
	}, func() {
		s.showQR(sh.ServiceID, sh.InfoField, code, png, sh.ExpiresAt)
		if req.Format == app.ShareFormatSDJWT {
			s.Credential.SetText(sh.Credential)
			s.credBox.Show()
		}
		s.shell.say(fmt.Sprintf("Shared your %s with %s.", claimLabel(sh.InfoField), sh.ServiceID))
		s.refresh()
	})
}

// shareMissing says what the share form lacks ("" when nothing).
func shareMissing(req app.ShareRequest) string {
	switch {
	case req.ServiceID == "" && req.InfoField == "":
		return "Type the service's name (e.g. shop.example) and choose what to share first."
	case req.ServiceID == "":
		return fmt.Sprintf("Type the name of the service to share your %s with (e.g. shop.example) first.", claimLabel(req.InfoField))
	case req.InfoField == "":
		return fmt.Sprintf("Choose what to share with %s first (e.g. E-mail, Age over 18).", req.ServiceID)
	}
	return ""
}

// claimKey is the key of the claim typed or chosen in the Field box: an
// offered label's, else the label as a key (fieldKey).
func (s *SharingScreen) claimKey(text string) string {
	text = strings.TrimSpace(text)
	if k, ok := s.claims[text]; ok {
		return k
	}
	return fieldKey(text)
}

// showShareQR shows an existing share's QR code again.
func (s *SharingScreen) showShareQR(serviceID string, v app.ShareView) {
	var (
		url string
		png []byte
	)
	s.shell.act("Making the QR code", func(ctx context.Context, pr *app.Principal) (err error) {
		if url, err = s.shell.u.app.QRURL(ctx, pr, app.QRShare, v.ShareID); err == nil {
			png, _ = qr.PNG(url, qrSize)
		}
		return err
	}, func() {
		s.showQR(serviceID, v.InfoField, url, png, v.ExpiresAt)
	})
}

// showQR shows the code of a share of claim with serviceID: its QR code
// (png; nil: the code is too long for one, its text alone is shown).
func (s *SharingScreen) showQR(serviceID, claim, code string, png []byte, expires time.Time) {
	s.qrService = serviceID
	s.QRTitle.SetText(fmt.Sprintf("Your %s for %s", claimLabel(claim), serviceID))
	s.Credential.SetText("") // a share made in wallet format shows it (share)
	s.credBox.Hide()
	if png != nil {
		setQRPNG(s.QR, "share-qr.png", png)
		s.QR.Show()
	} else {
		s.QR.Hide()
	}
	s.QRExpires.SetText(fmt.Sprintf("This code proves your %s to %s by itself; no connection needed. Valid until %s; should you revoke it, a verifier that checks its live status sees so. Show it to the service, or send it the link.", claimLabel(claim), serviceID, fmtWhen(expires)))
	s.Reach.show(code)
	s.VerifyURL.SetText(code)
	s.qrBox.Show()
}

// ServiceRow returns the row of a service, or nil.
func (s *SharingScreen) ServiceRow(serviceID string) *ServiceRow {
	r, _ := find(s.Services, func(r *ServiceRow) bool { return r.Access.ServiceID == serviceID })
	return r
}

func (s *SharingScreen) showServices(access []app.ServiceAccess) {
	s.Services = nil
	var objs []fyne.CanvasObject
	now := s.shell.u.app.Now()
	for _, sa := range access {
		row := &ServiceRow{Access: sa, ShowQR: map[string]*widget.Button{}, RevokeShare: map[string]*widget.Button{}}
		title := sa.ServiceID
		if sa.Name != "" {
			title += " (" + sa.Name + ")"
		}
		var info []string
		if sa.Role != "" {
			info = append(info, "Role: "+sa.Role+" ring.")
		}
		if !sa.RevokedAt.IsZero() {
			info = append(info, "Access revoked "+fmtWhen(sa.RevokedAt)+".")
		}
		if sa.Webhook {
			info = append(info, "Told of changes by webhook.")
		}
		row.Text = wrapped(strings.Join(info, " "))
		row.Sees = wrapped(seesText(sa))
		objs = append(objs, boldWrapped(title))
		if len(info) > 0 {
			objs = append(objs, row.Text)
		}
		objs = append(objs, row.Sees)
		for _, v := range sa.Shares {
			line := wrapped(shareLine(v))
			if v.State != "active" || !now.Before(v.ExpiresAt) {
				objs = append(objs, line)
				continue
			}
			v, svc := v, sa.ServiceID
			b := widget.NewButtonWithIcon("QR", theme.VisibilityIcon(), func() { s.showShareQR(svc, v) })
			row.ShowQR[v.ShareID] = b
			rb := twoTapButton("Revoke", "Tap again", theme.DeleteIcon(), func() { s.revokeShare(svc, v) })
			row.RevokeShare[v.ShareID] = rb
			objs = append(objs, container.NewBorder(nil, nil, nil, container.NewHBox(b, rb), line))
		}
		if sa.RevokedAt.IsZero() {
			svc := sa.ServiceID
			row.Revoke = twoTapButton("Revoke everything "+svc+" holds", "Tap again to revoke all of "+svc, theme.DeleteIcon(), func() { s.revoke(svc) })
			objs = append(objs, row.Revoke)
		}
		objs = append(objs, widget.NewSeparator())
		s.Services = append(s.Services, row)
	}
	fill(s.serviceBox, "No service has anything from you.", objs)
}

func seesText(sa app.ServiceAccess) string {
	if len(sa.Sees) == 0 {
		return "Sees nothing now."
	}
	var parts []string
	for _, x := range sa.Sees {
		how := "shared"
		if x.Via == "role" {
			how = "through its role"
		}
		parts = append(parts, fmt.Sprintf("%s (%s, since %s)", keyLabel(x.Field), how, fmtWhen(x.Since)))
	}
	return "Sees now: " + strings.Join(parts, "; ") + "."
}

func shareLine(v app.ShareView) string {
	switch v.State {
	case "revoked":
		return fmt.Sprintf("%s: revoked %s", keyLabel(v.InfoField), fmtWhen(v.RevokedAt))
	case "expired":
		return fmt.Sprintf("%s: expired %s", keyLabel(v.InfoField), fmtWhen(v.ExpiresAt))
	default:
		return fmt.Sprintf("%s: shared until %s", keyLabel(v.InfoField), fmtWhen(v.ExpiresAt))
	}
}

func (s *SharingScreen) revoke(serviceID string) {
	var n int
	s.shell.at(s.ServicesNotice).change("Revoking "+serviceID, func(ctx context.Context, pr *app.Principal) (err error) {
		n, err = s.shell.u.app.RevokeAccess(ctx, pr, serviceID)
		return err
	}, func() string {
		if s.qrService == serviceID {
			s.qrBox.Hide() // the code shown no longer verifies
		}
		return fmt.Sprintf("Revoked %s: %d grant(s) ended; its codes no longer verify.", serviceID, n)
	}, s.refresh)
}

// revokeShare ends one share of a service; its other shares and its role
// stay.
func (s *SharingScreen) revokeShare(serviceID string, v app.ShareView) {
	var n int
	s.shell.at(s.ServicesNotice).change("Revoking your "+claimLabel(v.InfoField)+" for "+serviceID, func(ctx context.Context, pr *app.Principal) (err error) {
		n, err = s.shell.u.app.RevokeServiceShare(ctx, pr, serviceID, v.ShareID)
		return err
	}, func() string {
		if n == 0 {
			return fmt.Sprintf("Your %s for %s had already ended.", claimLabel(v.InfoField), serviceID)
		}
		return fmt.Sprintf("Revoked your %s for %s: that code no longer verifies; %s keeps what else you gave it.", claimLabel(v.InfoField), serviceID, serviceID)
	}, s.refresh)
}
