package app

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// The person's conditions (issue 15 §6): an emergency setup with
// conditions ("unconscious") lets a responder in only when the responder
// confirms which of them applies. The responder's page and the device's
// lock screen show the conditions and require the choice; "none applies"
// (NoConditionApplies) is refused and logged as condition_not_met; the
// log records the condition confirmed. An API grant by e-mail may leave
// the condition out (legacy clients send none): it is then logged without
// one.

// NoConditionApplies is the condition a responder gives when none of the
// person's conditions applies: the grant is refused.
const NoConditionApplies = "none"

// OutcomeConditionNotMet is the log's outcome of a responder who said
// that none of the person's conditions applies.
const OutcomeConditionNotMet = "condition_not_met"

var (
	errConditionMissing = E(KindInvalid, "condition_missing", "condition must exist: confirm which of the person's conditions applies!")
	errConditionUnknown = E(KindInvalid, "invalid_condition", "condition is not one of the person's conditions!")
	errConditionNotMet  = E(KindForbidden, "condition_not_met", "none of the person's conditions applies, so access is refused (and logged); call the emergency services if the person needs help!")
)

// confirmedCondition checks the request's condition against the
// person's: it returns the condition as the person wrote it ("" when the
// person set none, or a legacy API grant gave none).
func (r *GrantRequest) confirmedCondition(conditions []string) (string, error) {
	c := strings.TrimSpace(r.Condition)
	if len(conditions) == 0 {
		return "", nil // nothing to confirm: any condition given is ignored
	}
	if strings.EqualFold(c, NoConditionApplies) {
		return "", errConditionNotMet
	}
	if c == "" {
		if r.PageToken != "" || r.onDevice != "" {
			return "", errConditionMissing
		}
		return "", nil // a legacy API client
	}
	if i := slices.IndexFunc(conditions, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), c) }); i >= 0 {
		return conditions[i], nil
	}
	return "", errConditionUnknown
}

// EmergencyPageConditions are the conditions of the person whose
// emergency page token opens, for the page to ask which applies (none:
// empty).
func (a *EmergencyService) EmergencyPageConditions(ctx context.Context, token string) ([]string, error) {
	if err := a.EmergencyPageExists(ctx, token); err != nil {
		return nil, err
	}
	c, err := a.capabilityByToken(ctx, CapEmergency, token)
	if err != nil {
		return nil, Internal(err)
	}
	return a.conditionsOf(ctx, &grantTarget{userID: c.UserID, accessID: c.ID})
}

// conditionsOf opens the person's conditions with this device's wrap of
// the emergency key; none when this device cannot open them.
func (a *EmergencyService) conditionsOf(ctx context.Context, t *grantTarget) ([]string, error) {
	cfg, err := a.grantConfig(ctx, t)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, Internal(err)
	}
	return cfg.criteria.Conditions, nil
}
