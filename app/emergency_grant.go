package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// The break-the-glass grant (use case 5): a responder asks for a user's
// emergency information, by the user's e-mail (the API) or the emergency
// page's token (the page a QR code opens). GrantEmergency reads as its
// steps: check the request, find whom it names, count it against the
// limits, refuse what cannot pass (logged), open the configuration,
// verify the responder, log the grant before anything is opened, open
// what the responder sees, and record and announce the grant.

// GrantRequest is a responder's request for a user's emergency
// information: by the user's e-mail (the API) or by the emergency page's
// token (the page a QR code opens).
type GrantRequest struct {
	ResponderID string
	Reason      string
	// Condition is which of the person's conditions the responder
	// confirms applies (emergency_condition.go): required on the page and
	// the device when conditions are set; NoConditionApplies refuses.
	Condition string
	Email     string
	PageToken string
	Client    string // the client's address, for the log and the rate limit
	// What verifies the responder (app/responders.go): the secret of this
	// installation's registry, or a badge (a compact JWS) of a trusted
	// organization. Neither is logged, stored or sent anywhere.
	ResponderSecret     string
	ResponderCredential string
	// A picture of the badge's QR code (the page's upload), read only
	// after the rate limits have counted the attempt.
	ResponderCredentialImage []byte

	// onDevice names the user by id: set only by GrantOnDevice (the
	// device's lock screen, emergency_device.go), never from the API.
	onDevice string
}

// EmergencyGrant is what a granted responder sees.
type EmergencyGrant struct {
	LogID         string
	At            time.Time
	EmergencyInfo json.RawMessage // exactly as stored; null when none
	Fields        []Field         // the info_field fields, current values, in the user's order
	Responder     *Responder      // the registry's entry; nil when not registered
	// Notices are the trusted contacts' notices of the grant, as queued in
	// the outbox: what the responder is told of them says whether they
	// went out (App.Delivers, OutboxEntries), never that they did before.
	Notices []Notice
}

// Notice is one message queued in the outbox: its kind (KindEmail,
// KindSMS) and its id (OutboxEntry.ID).
type Notice struct {
	Kind, MessageID string
}

// ProfileFields is the grant's profile_fields member: name → current value.
func (g *EmergencyGrant) ProfileFields() map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(g.Fields))
	for _, f := range g.Fields {
		m[f.Name] = f.Value
	}
	return m
}

// attempt is one grant attempt as it is logged.
type attempt struct {
	userID, responderID, reason, client, via string
	condition                                string // the person's condition the responder confirmed
	responder                                *Responder
}

// GrantEmergency carries out a responder's request. Every attempt that
// names a known user lands in that user's tamper-evident log before
// anything is answered; a grant is logged before the information is
// opened, and notifies every trusted contact.
func (a *EmergencyService) GrantEmergency(ctx context.Context, req GrantRequest) (*EmergencyGrant, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	t, err := a.grantTarget(ctx, req)
	if err != nil {
		return nil, err
	}
	at := t.attempt(req)
	refuse := func(outcome string, e error) (*EmergencyGrant, error) {
		if _, err := a.logAttempt(ctx, at, outcome); err != nil {
			return nil, err
		}
		return nil, e
	}
	limited, err := a.grantLimits(ctx, req, t)
	if err != nil {
		if t.userID != "" && AsError(err).Kind == KindRateLimited {
			return refuse(OutcomeRateLimited, err)
		}
		return nil, err
	}
	if t.missing != nil || t.accessID == "" {
		return a.refuseUnconfigured(ctx, req, t, limited, refuse)
	}
	cfg, err := a.grantConfig(ctx, t)
	if errors.Is(err, ErrNotFound) {
		if limited != nil { // no proof can pass here: nothing to check
			return refuse(OutcomeRateLimited, limited)
		}
		return refuse(OutcomeUnavailable, errEmergencyUnavailable)
	}
	if err != nil {
		return nil, Internal(err)
	}
	if at.condition, err = req.confirmedCondition(cfg.criteria.Conditions); err != nil {
		if errors.Is(err, errConditionNotMet) {
			return refuse(OutcomeConditionNotMet, err)
		}
		return nil, err
	}
	if at.responder, err = a.verifyResponder(ctx, req, cfg.criteria.Responders == RespondersAny, limited); err != nil {
		if o := refusalOutcome(err); o != "" {
			return refuse(o, err)
		}
		return nil, err
	}
	// Granted: the log entry is written before anything is opened.
	entry, err := a.logAttempt(ctx, at, OutcomeGranted)
	if err != nil {
		return nil, err
	}
	if err := a.store.ClearFailures(ctx, t.limitKey); err != nil {
		return nil, Internal(err)
	}
	g, err := a.openGrant(ctx, t, cfg, entry, at)
	if err != nil {
		return nil, Internal(err)
	}
	a.cfg.Log.Info("emergency access granted", "user_id", t.userID, "log_id", entry.LogID)
	a.publishGrant(t.userID, entry) // events.go: the user's UI on this device notifies at once
	return g, nil
}

// check trims the request and refuses a malformed one.
func (r *GrantRequest) check() error {
	r.ResponderID = strings.TrimSpace(r.ResponderID)
	r.Reason = strings.TrimSpace(r.Reason)
	r.Email = strings.TrimSpace(r.Email)
	page := r.PageToken != "" || r.onDevice != ""
	if r.ResponderID == "" || r.Reason == "" || (!page && r.Email == "") {
		if page {
			return errPageGrantMissing
		}
		return errGrantMissing
	}
	if !validText(r.ResponderID, 128) {
		return errResponderID
	}
	if len([]rune(r.Reason)) > maxReason {
		return errReasonTooLong
	}
	return nil
}

// grantTarget is whom a grant request names: the user and their emergency
// configuration (accessID "" when none), or, in missing, why it names
// nobody. Finding them opens no key material.
type grantTarget struct {
	userID, accessID string
	missing          error  // errGrantEmail or errEmergencyPage
	subject          string // what the per-profile limit counts
	limitKey         []byte
}

func (a *EmergencyService) grantTarget(ctx context.Context, req GrantRequest) (*grantTarget, error) {
	t := &grantTarget{}
	if req.onDevice != "" {
		t.userID = req.onDevice
		id, err := a.emergencyID(ctx, t.userID)
		if err != nil {
			return nil, Internal(err)
		}
		t.accessID = id
	} else if req.PageToken != "" {
		c, err := a.capabilityByToken(ctx, CapEmergency, req.PageToken)
		switch {
		case errors.Is(err, ErrNotFound):
			t.missing = errEmergencyPage
		case err != nil:
			return nil, Internal(err)
		default:
			t.userID, t.accessID = c.UserID, c.ID
		}
	} else {
		acct, err := a.store.AccountByEmail(ctx, a.emailMAC(req.Email))
		switch {
		case errors.Is(err, ErrNotFound):
			t.missing = errGrantEmail
		case err != nil:
			return nil, Internal(err)
		default:
			t.userID = acct.UserID
			if t.accessID, err = a.emergencyID(ctx, t.userID); err != nil {
				return nil, Internal(err)
			}
		}
	}
	// The per-profile limit counts per e-mail while it names nobody.
	t.subject = t.userID
	if t.missing != nil {
		t.subject = "unknown:" + normEmail(req.Email)
	}
	t.limitKey = a.LimitKey("emergency-profile", t.subject)
	return t, nil
}

// attempt is the request as the log records it.
func (t *grantTarget) attempt(req GrantRequest) attempt {
	at := attempt{userID: t.userID, responderID: req.ResponderID, reason: req.Reason, client: req.Client, via: "api"}
	switch {
	case req.onDevice != "":
		at.via = "device"
	case req.PageToken != "":
		at.via = "page"
	}
	return at
}

// grantLimits counts the attempt. Per client address every attempt
// counts, known user or not, and over the limit it is refused (err). Per
// profile (per e-mail while it names nobody) the attempt is counted
// before any check, in one statement, so parallel attempts cannot all
// pass (as login's); a grant clears the count, so what accumulates is
// refusals. Over that limit the request is still checked (see
// GrantProfileLimit): limited is the refusal it gets unless it proves a
// responder.
func (a *EmergencyService) grantLimits(ctx context.Context, req GrantRequest, t *grantTarget) (limited, err error) {
	addrKey := a.LimitKey("emergency-address", addressSubject(req.Client))
	if err := a.ReserveAttempt(ctx, addrKey, GrantAddressLimit, GrantWindow); err != nil {
		return nil, err
	}
	limited = a.ReserveAttempt(ctx, t.limitKey, GrantProfileLimit, GrantWindow)
	if limited != nil && AsError(limited).Kind != KindRateLimited {
		return nil, limited
	}
	return limited, nil
}

// refuseUnconfigured answers a request that names nobody, or a user
// without emergency access. It costs the responder check a configured
// user's refusal costs (its Argon2id derivation where a secret is given),
// and is refused as rate-limited where that user would be, so that
// neither the time nor the answer tells which e-mails exist.
func (a *EmergencyService) refuseUnconfigured(ctx context.Context, req GrantRequest, t *grantTarget, limited error, refuse func(string, error) (*EmergencyGrant, error)) (*EmergencyGrant, error) {
	_, err := a.verifyResponder(ctx, req, false, limited)
	rateLimited := AsError(err).Kind == KindRateLimited
	switch {
	case t.missing != nil && rateLimited:
		return nil, err
	case t.missing != nil:
		return nil, t.missing
	case rateLimited:
		return refuse(OutcomeRateLimited, err)
	}
	return refuse(OutcomeNotConfigured, errNoEmergency)
}

// grantConfig is a user's emergency configuration as a grant needs it:
// the emergency key (this device's wrap of it; ErrNotFound when none),
// the criteria opened, and the information and contacts still sealed.
type grantConfig struct {
	ek                   []byte
	criteria             emergencyCriteria
	infoSealed, contacts []byte
}

func (a *EmergencyService) grantConfig(ctx context.Context, t *grantTarget) (*grantConfig, error) {
	ek, err := a.emergencyKey(ctx, t.userID, t.accessID)
	if err != nil {
		return nil, err
	}
	cfg := &grantConfig{ek: ek}
	var critSealed []byte
	err = a.store.View(ctx, t.userID, nil, func(tx Tx) error {
		for field, dst := range map[string]*[]byte{"criteria": &critSealed, "info": &cfg.infoSealed, "contacts": &cfg.contacts} {
			c, ok, err := tx.Get(EntityEmergency, t.accessID, field)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("emergency configuration lacks %s", field)
			}
			*dst = c.Clear
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	critJSON, err := crypto.Open(ek, critSealed, emergencyAD(t.userID, t.accessID, "criteria"))
	if err != nil {
		return nil, fmt.Errorf("opening emergency criteria: %w", err)
	}
	if err := json.Unmarshal(critJSON, &cfg.criteria); err != nil {
		return nil, err
	}
	return cfg, nil
}

// openGrant opens, after the grant is logged, what the responder sees:
// the emergency information and the emergency view (the chosen fields,
// kept current by the write path, sealed under EK: capabilities.go); and
// records the grant for the user's devices and tells the trusted
// contacts.
func (a *EmergencyService) openGrant(ctx context.Context, t *grantTarget, cfg *grantConfig, entry *EmergencyLogEntry, at attempt) (*EmergencyGrant, error) {
	infoJSON, err := crypto.Open(cfg.ek, cfg.infoSealed, emergencyAD(t.userID, t.accessID, "info"))
	if err != nil {
		return nil, fmt.Errorf("opening emergency information: %w", err)
	}
	contactsJSON, err := crypto.Open(cfg.ek, cfg.contacts, emergencyAD(t.userID, t.accessID, "contacts"))
	if err != nil {
		return nil, fmt.Errorf("opening trusted contacts: %w", err)
	}
	var info emergencyInfo
	var contacts []string
	if err := json.Unmarshal(infoJSON, &info); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(contactsJSON, &contacts); err != nil {
		return nil, err
	}
	g := &EmergencyGrant{LogID: entry.LogID, At: entry.At, EmergencyInfo: info.EmergencyInfo, Responder: at.responder}
	if len(g.EmergencyInfo) == 0 {
		g.EmergencyInfo = json.RawMessage("null")
	}
	view, err := a.emergencyViewOf(ctx, t.userID, cfg.ek)
	if err != nil {
		return nil, err
	}
	g.Fields = view.Fields
	return g, a.recordGrant(ctx, t.userID, view.Name, contacts, entry, at, &g.Notices)
}

// recordGrant writes the grant for the user's own devices (they learn of
// it by sync, sealed to the user's inbox: no data key is open here) and
// queues the trusted contacts' notices, in one transaction.
func (a *EmergencyService) recordGrant(ctx context.Context, userID, name string, contacts []string, entry *EmergencyLogEntry, at attempt, notices *[]Notice) error {
	rec := map[string]string{
		"responder_id": at.responderID, "reason": at.reason, "client": at.client,
		"at": entry.At.Format(time.RFC3339Nano), "via": at.via,
	}
	if at.condition != "" {
		rec["condition"] = at.condition
	}
	if at.responder != nil {
		rec["responder_name"], rec["responder_organization"] = at.responder.Name, at.responder.Organization
	}
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ahead := a.sealAhead(userID, recJSON)
	return a.update(ctx, userID, nil, func(tx Tx) error {
		sealed, err := a.sealedToInbox(tx, ahead)
		if err != nil {
			return err
		}
		if err := tx.Put(Cell{Entity: EntityEmergencyGrant, ID: entry.LogID, Field: "sealed", Clear: sealed}); err != nil {
			return err
		}
		*notices = (*notices)[:0] // a retried transaction queues them again
		return a.notifyContacts(tx, userID, name, contacts, at, entry, notices)
	})
}

func (a *EmergencyService) notifyContacts(tx Tx, userID, name string, contacts []string, at attempt, entry *EmergencyLogEntry, notices *[]Notice) error {
	who := "a person who lists you as a trusted contact"
	if name != "" {
		who = name
	}
	responder := at.responderID
	verified := "not verified (the person's criteria allow any responder)"
	if r := at.responder; r != nil {
		verified = r.verification()
		if r.Name != "" || r.Organization != "" {
			responder += " (" + strings.Trim(r.Name+", "+r.Organization, ", ") + ")"
		}
	}
	when := entry.At.Format("2006-01-02 15:04:05 MST")
	cond := ""
	if at.condition != "" {
		cond = "\nCondition confirmed: " + at.condition
	}
	text := fmt.Sprintf(`Emergency access to the Secure Personal Profile of %s was granted.

Responder: %s
Responder status: %s
Reason given: %s%s
Time: %s
Client address: %s
Log entry: %s

You receive this message because you are one of this person's trusted
contacts. Every access is logged; the person can review the log in the app.
`, who, responder, verified, at.reason, cond, when, at.client, entry.LogID)
	for _, c := range contacts {
		n := Notice{Kind: KindEmail}
		var err error
		if ValidEmail(c) {
			n.MessageID, err = a.enqueueEmailID(tx, userID, Email{To: c, Subject: "Emergency access granted to the profile of " + who, Text: text})
		} else {
			n.Kind = KindSMS
			n.MessageID, err = a.enqueueSMS(tx, userID, SMS{To: c, Text: fmt.Sprintf("Emergency access to the profile of %s was granted to responder %s at %s. Reason: %s", who, responder, when, at.reason)})
		}
		if err != nil {
			return err
		}
		*notices = append(*notices, n)
	}
	return nil
}
