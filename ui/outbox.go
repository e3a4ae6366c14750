package ui

// The Devices screen's outbox section: whether this device sends e-mail
// (SMTP) and text messages, and what waits in the outbox, and why.

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/secure-personal-profile/spp/app"
)

// OutboxSection says how messages leave this device, and lists what the
// outbox holds.
type OutboxSection struct {
	shell *Shell

	Delivery *widget.Label
	Outbox   []*widget.Label // one per entry shown
	box      *fyne.Container
}

// deliveredShown bounds the delivered entries listed.
const deliveredShown = 10

func (o *OutboxSection) build(s *Shell) fyne.CanvasObject {
	o.shell = s
	o.Delivery = wrapped("")
	o.box = container.NewVBox()
	return section("Outgoing mail", o.Delivery, o.box)
}

// refresh lists what the outbox holds again.
func (o *OutboxSection) refresh() {
	load(o.shell, "Loading the outbox", func(ctx context.Context, pr *app.Principal) ([]app.OutboxEntry, error) {
		return o.shell.u.app.OutboxEntries(ctx, pr)
	}, o.show)
}

// show shows how this device delivers, and the outbox's entries.
func (o *OutboxSection) show(entries []app.OutboxEntry) {
	a := o.shell.u.app
	var lines []string
	if a.Delivers(app.KindEmail) {
		lines = append(lines, "E-mail leaves this device through the SMTP relay it was started with.")
	} else {
		lines = append(lines, "No SMTP relay is set up on this device: e-mail waits in the outbox until the app runs with --smtp-addr and --smtp-from.")
	}
	if !a.Delivers(app.KindSMS) {
		lines = append(lines, "Text messages wait in the outbox: this device has no SMS gateway.")
	}
	o.Delivery.SetText(strings.Join(lines, " "))

	o.Outbox = nil
	var objs []fyne.CanvasObject
	delivered := 0
	for _, e := range entries {
		if e.Status == "delivered" {
			if delivered == deliveredShown {
				continue
			}
			delivered++
		}
		l := wrapped(outboxText(e))
		o.Outbox = append(o.Outbox, l)
		objs = append(objs, l)
	}
	fill(o.box, "Nothing waits to be sent.", objs)
}

func outboxText(e app.OutboxEntry) string {
	what := e.Kind
	switch e.Kind {
	case app.KindEmail:
		what = "E-mail"
	case app.KindSMS:
		what = "Text message"
	case app.KindWebhook:
		what = "Webhook event"
	}
	if e.To != "" {
		what += " to " + e.To
	}
	if e.Status == "delivered" {
		return fmt.Sprintf("%s: delivered %s.", what, fmtWhen(e.DeliveredAt))
	}
	if e.Status == "failed" {
		// Failed for good (e.g. a webhook to an address this device
		// refuses): say why, in words, and that nothing more happens.
		why := strings.TrimPrefix(e.LastError, e.Kind+": ")
		if why == "" {
			why = "refused"
		}
		return fmt.Sprintf("%s: failed for good: %s (%s); it will not be tried again.", what, why, fmtWhen(e.FailedAt))
	}
	s := fmt.Sprintf("%s: waiting since %s", what, fmtWhen(e.CreatedAt))
	if e.Attempts > 0 {
		s += fmt.Sprintf(", %d attempt(s)", e.Attempts)
	}
	if e.LastError != "" {
		s += "; " + e.LastError
	}
	if !e.NextAt.IsZero() {
		s += "; next try " + fmtWhen(e.NextAt)
	}
	return s + "."
}
