package ui

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
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

func init() {
	registerScreen(orderSharing, func(s *Shell) screen { return newSharingScreen(s) })
}

// SharingScreen is where the user decides what leaves the profile: third
// parties' pending requests (approve or deny), sharing one field with a
// service as a QR code that carries the share's verify URL, and every
// service with what it can see now, each with a Revoke button.
type SharingScreen struct {
	shell *Shell

	requests []*app.RequestView
	rings    []app.RingView
	access   []app.ServiceAccess
	choices  []string

	// Requests: a row per request, pending ones first; ApproveFor is how
	// long an approved request's share lasts.
	ApproveFor *widget.Select
	Requests   []*RequestRow
	requestBox *fyne.Container

	// Share one field with a service.
	Service     *widget.Entry
	Field       *widget.SelectEntry
	Expiry      *widget.Select
	ShareButton *widget.Button

	// The QR code of the share made last (or shown again): the image, its
	// expiry and its verify URL as selectable text.
	QR        *canvas.Image
	QRTitle   *widget.Label
	QRExpires *widget.Label
	VerifyURL *widget.Label
	CopyURL   *widget.Button
	qrBox     *fyne.Container
	qrService string // whose share the QR code is

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
// active one with a button that shows its QR code again) and Revoke (nil
// once revoked).
type ServiceRow struct {
	Access app.ServiceAccess
	Text   *widget.Label
	Sees   *widget.Label
	ShowQR map[string]*widget.Button // by share id, active shares only
	Revoke *widget.Button
}

// shareExpiries are the lifetimes offered for a share.
var shareExpiries = []struct {
	label string
	d     time.Duration
}{
	{"1 hour", time.Hour},
	{"1 day", 24 * time.Hour},
	{"7 days", 7 * 24 * time.Hour},
	{"30 days", 30 * 24 * time.Hour},
	{"90 days", 90 * 24 * time.Hour},
}

const defaultShareExpiry = "7 days"

func shareExpiry(label string) time.Duration {
	for _, e := range shareExpiries {
		if e.label == label {
			return e.d
		}
	}
	return app.DefaultShareTTL
}

// derivedClaims are offered besides the profile's fields: computed from the
// date of birth, they tell a service an age without the date.
var derivedClaims = []string{"age_over_18", "age_over_21", "age"}

// qrSize is the size asked of the QR codes the screens render (qr.PNG
// makes every module a whole number of pixels, so the image comes out
// near it); qrShownMax caps the size a code is shown at, so that it fits
// a phone-sized window.
const (
	qrSize     = 256
	qrShownMax = 360
)

func newSharingScreen(s *Shell) *SharingScreen { return &SharingScreen{shell: s} }

func (s *SharingScreen) title() string       { return "Sharing" }
func (s *SharingScreen) icon() fyne.Resource { return theme.MailSendIcon() }

func (s *SharingScreen) build() fyne.CanvasObject {
	var labels []string
	for _, e := range shareExpiries {
		labels = append(labels, e.label)
	}
	s.ApproveFor = widget.NewSelect(labels, nil)
	s.ApproveFor.SetSelected(defaultShareExpiry)
	s.requestBox = container.NewVBox()

	s.Service = widget.NewEntry()
	s.Service.SetPlaceHolder("shop.example.com")
	s.Field = widget.NewSelectEntry(nil)
	s.Field.SetPlaceHolder("email, age_over_18, …")
	s.Expiry = widget.NewSelect(labels, nil)
	s.Expiry.SetSelected(defaultShareExpiry)
	s.ShareButton = widget.NewButtonWithIcon("Share", theme.MailSendIcon(), s.share)
	s.ShareButton.Importance = widget.HighImportance
	hint := wrapped("The service gets a QR code to scan: it shows the field's current value, signed, until the share expires or you revoke it. Restricted fields are never shared.")

	s.QR = newQRCanvas()
	s.QRTitle = boldWrapped("")
	s.QRExpires = wrapped("")
	s.VerifyURL = widget.NewLabel("")
	s.VerifyURL.Selectable = true
	s.VerifyURL.Wrapping = fyne.TextWrapBreak
	s.CopyURL = widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), func() {
		s.shell.u.fyne.Clipboard().SetContent(s.VerifyURL.Text)
		s.shell.say("The verify link is on the clipboard.")
	})
	s.qrBox = container.NewVBox(s.QRTitle, container.NewCenter(s.QR), s.QRExpires, s.VerifyURL, s.CopyURL)
	s.qrBox.Hide()

	s.serviceBox = container.NewVBox()

	return container.NewVScroll(container.NewVBox(
		boldWrapped("Requests waiting for you"),
		widget.NewForm(widget.NewFormItem("Approve for", s.ApproveFor)),
		s.requestBox,
		widget.NewSeparator(),
		boldWrapped("Share one field with a service"),
		widget.NewForm(
			widget.NewFormItem("Service", s.Service),
			widget.NewFormItem("Field", s.Field),
			widget.NewFormItem("Expires in", s.Expiry),
		),
		hint,
		s.ShareButton,
		s.qrBox,
		widget.NewSeparator(),
		boldWrapped("Services and what each sees now"),
		s.serviceBox,
	))
}

func (s *SharingScreen) refresh() {
	pr := s.shell.principal()
	if pr == nil {
		return
	}
	var (
		requests []*app.RequestView
		rings    []app.RingView
		access   []app.ServiceAccess
	)
	a := s.shell.u.app
	s.shell.run("Loading requests and services", func(ctx context.Context) error {
		var err error
		if requests, err = a.Requests(ctx, pr); err != nil {
			return err
		}
		if rings, err = a.Rings(ctx, pr); err != nil {
			return err
		}
		access, err = a.Access(ctx, pr)
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		s.requests, s.rings, s.access = requests, rings, access
		s.showRequests()
		s.showFieldChoices()
		s.showServices()
	})
}

// FieldChoices are the claims the Field box offers: the profile's fields
// that may leave it, then the age claims.
func (s *SharingScreen) FieldChoices() []string { return s.choices }

func (s *SharingScreen) showFieldChoices() {
	var opts []string
	for _, r := range s.rings {
		if r.Level != app.RingRestricted {
			opts = append(opts, r.Fields...)
		}
	}
	sort.Strings(opts)
	opts = append(opts, derivedClaims...)
	s.choices = opts
	s.Field.SetOptions(opts)
}

// Request returns the row of the newest request from a service for a
// field, or nil.
func (s *SharingScreen) Request(serviceID, field string) *RequestRow {
	for _, r := range s.Requests {
		if r.Request.ServiceID == serviceID && r.Request.InfoField == field {
			return r
		}
	}
	return nil
}

func (s *SharingScreen) showRequests() {
	rs := append([]*app.RequestView(nil), s.requests...)
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
			row.Approve = widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() { s.approve(id) })
			row.Approve.Importance = widget.HighImportance
			row.Deny = widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() { s.deny(id) })
			objs = append(objs, container.NewHBox(row.Approve, row.Deny))
		}
		objs = append(objs, widget.NewSeparator())
		s.Requests = append(s.Requests, row)
	}
	if len(objs) == 0 {
		objs = append(objs, wrapped("No third party has asked for anything."))
	}
	s.requestBox.Objects = objs
	s.requestBox.Refresh()
}

func requestText(r *app.RequestView) string {
	switch r.State {
	case app.RequestPending:
		return fmt.Sprintf("%s asks for your %s (asked %s; waits until %s).", r.ServiceID, r.InfoField, fmtWhen(r.CreatedAt), fmtWhen(r.ExpiresAt))
	case app.RequestExpired:
		return fmt.Sprintf("%s asked for your %s: expired %s, unanswered.", r.ServiceID, r.InfoField, fmtWhen(r.ExpiresAt))
	default:
		return fmt.Sprintf("%s asked for your %s: %s %s.", r.ServiceID, r.InfoField, r.State, fmtWhen(r.DecidedAt))
	}
}

func (s *SharingScreen) approve(id string) {
	pr := s.shell.principal()
	if pr == nil {
		return
	}
	ttl := shareExpiry(s.ApproveFor.Selected)
	var sh *app.Share
	s.shell.run("Approving the request", func(ctx context.Context) (err error) {
		sh, err = s.shell.u.app.ApproveRequest(ctx, pr, id, ttl)
		return err
	}, func(err error) {
		if err == nil {
			s.shell.say(fmt.Sprintf("Approved: %s can verify your %s until %s.", sh.ServiceID, sh.InfoField, fmtWhen(sh.ExpiresAt)))
		}
		s.refresh()
	})
}

func (s *SharingScreen) deny(id string) {
	pr := s.shell.principal()
	if pr == nil {
		return
	}
	s.shell.run("Denying the request", func(ctx context.Context) error {
		return s.shell.u.app.DenyRequest(ctx, pr, id)
	}, func(err error) {
		if err == nil {
			s.shell.say("Denied: the third party is told so and gets nothing.")
		}
		s.refresh()
	})
}

// share creates a share from the form and shows its QR code.
func (s *SharingScreen) share() {
	pr := s.shell.principal()
	if pr == nil {
		return
	}
	req := app.ShareRequest{
		ServiceID: strings.TrimSpace(s.Service.Text),
		InfoField: strings.TrimSpace(s.Field.Text),
		ExpiresIn: shareExpiry(s.Expiry.Selected),
	}
	var (
		sh  *app.Share
		png []byte
	)
	s.shell.run("Sharing "+req.InfoField, func(ctx context.Context) error {
		var err error
		if sh, err = s.shell.u.app.CreateShare(ctx, pr, req); err != nil {
			return err
		}
		png, _ = qr.PNG(sh.VerifyURL, qrSize) // nil when too long: the link is shown alone
		return nil
	}, func(err error) {
		if err != nil {
			return
		}
		s.showQR(sh.ServiceID, fmt.Sprintf("Your %s for %s", sh.InfoField, sh.ServiceID), sh.VerifyURL, png, sh.ExpiresAt)
		s.shell.say(fmt.Sprintf("Shared your %s with %s.", sh.InfoField, sh.ServiceID))
		s.refresh()
	})
}

// showShareQR shows an existing share's QR code again.
func (s *SharingScreen) showShareQR(serviceID string, v app.ShareView) {
	pr := s.shell.principal()
	if pr == nil {
		return
	}
	var (
		url string
		png []byte
	)
	s.shell.run("Making the QR code", func(ctx context.Context) error {
		var err error
		if url, err = s.shell.u.app.QRURL(ctx, pr, app.QRShare, v.ShareID); err != nil {
			return err
		}
		png, _ = qr.PNG(url, qrSize)
		return nil
	}, func(err error) {
		if err == nil {
			s.showQR(serviceID, fmt.Sprintf("Your %s for %s", v.InfoField, serviceID), url, png, v.ExpiresAt)
		}
	})
}

func (s *SharingScreen) showQR(serviceID, title, url string, png []byte, expires time.Time) {
	s.qrService = serviceID
	s.QRTitle.SetText(title)
	if png != nil {
		setQRPNG(s.QR, "share-qr.png", png)
		s.QR.Show()
	} else {
		s.QR.Hide()
	}
	s.QRExpires.SetText("Valid until " + fmtWhen(expires) + ". Show the code to the service, or send it the link.")
	s.VerifyURL.SetText(url)
	s.qrBox.Show()
}

// ServiceRow returns the row of a service, or nil.
func (s *SharingScreen) ServiceRow(serviceID string) *ServiceRow {
	for _, r := range s.Services {
		if r.Access.ServiceID == serviceID {
			return r
		}
	}
	return nil
}

func (s *SharingScreen) showServices() {
	s.Services = nil
	var objs []fyne.CanvasObject
	now := s.shell.u.app.Now()
	for _, sa := range s.access {
		row := &ServiceRow{Access: sa, ShowQR: map[string]*widget.Button{}}
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
			objs = append(objs, container.NewBorder(nil, nil, nil, b, line))
		}
		if sa.RevokedAt.IsZero() {
			svc := sa.ServiceID
			row.Revoke = twoTapButton("Revoke", "Tap again to revoke "+svc, theme.DeleteIcon(), func() { s.revoke(svc) })
			objs = append(objs, row.Revoke)
		}
		objs = append(objs, widget.NewSeparator())
		s.Services = append(s.Services, row)
	}
	if len(objs) == 0 {
		objs = append(objs, wrapped("No service has anything from you."))
	}
	s.serviceBox.Objects = objs
	s.serviceBox.Refresh()
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
		parts = append(parts, fmt.Sprintf("%s (%s, since %s)", x.Field, how, fmtWhen(x.Since)))
	}
	return "Sees now: " + strings.Join(parts, "; ") + "."
}

func shareLine(v app.ShareView) string {
	switch v.State {
	case "revoked":
		return fmt.Sprintf("%s: revoked %s", v.InfoField, fmtWhen(v.RevokedAt))
	case "expired":
		return fmt.Sprintf("%s: expired %s", v.InfoField, fmtWhen(v.ExpiresAt))
	default:
		return fmt.Sprintf("%s: shared until %s", v.InfoField, fmtWhen(v.ExpiresAt))
	}
}

func (s *SharingScreen) revoke(serviceID string) {
	pr := s.shell.principal()
	if pr == nil {
		return
	}
	var n int
	s.shell.run("Revoking "+serviceID, func(ctx context.Context) (err error) {
		n, err = s.shell.u.app.RevokeAccess(ctx, pr, serviceID)
		return err
	}, func(err error) {
		if err == nil {
			s.shell.say(fmt.Sprintf("Revoked %s: %d grant(s) ended; its codes no longer verify.", serviceID, n))
			if s.qrService == serviceID {
				s.qrBox.Hide() // the code shown no longer verifies
			}
		}
		s.refresh()
	})
}

// newQRCanvas is an image that shows a QR code.
func newQRCanvas() *canvas.Image {
	img := canvas.NewImageFromResource(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSize(qrSize, qrSize))
	return img
}

// setQRPNG shows a QR code's PNG in img at its own pixel size, one image
// pixel per screen pixel, so that every module stays sharp; a code larger
// than qrShownMax is scaled down smoothly to fit.
func setQRPNG(img *canvas.Image, name string, b []byte) {
	side := float32(qrSize)
	img.ScaleMode = canvas.ImageScalePixels
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err == nil {
		side = float32(cfg.Width)
		if cfg.Width > qrShownMax {
			side = qrShownMax
			img.ScaleMode = canvas.ImageScaleSmooth
		}
	}
	img.SetMinSize(fyne.NewSize(side, side))
	img.Resource = fyne.NewStaticResource(name, b)
	img.Refresh()
}

// twoTapButton acts on a second tap only: the first turns it into a
// warning that says what the next tap does.
func twoTapButton(label, confirm string, icon fyne.Resource, act func()) *widget.Button {
	var b *widget.Button
	armed := false
	b = widget.NewButtonWithIcon(label, icon, func() {
		if !armed {
			armed = true
			b.SetText(confirm)
			b.Importance = widget.DangerImportance
			b.Refresh()
			return
		}
		armed = false
		b.SetText(label)
		b.Importance = widget.MediumImportance
		b.Refresh()
		act()
	})
	return b
}

// fmtWhen shows a time to the user, in local time.
func fmtWhen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2 Jan 2006 15:04")
}
