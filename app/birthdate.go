package app

import (
	"context"
	"time"
)

// BirthDate is the date of birth age claims use for the principal (see
// DateOfBirth): fromCredential tells whether a confirmed, verified
// credential vouches for it; ok is false when there is none.
func (a *ProfileService) BirthDate(ctx context.Context, p *Principal) (dob time.Time, fromCredential, ok bool, err error) {
	err = a.store.View(ctx, p.UserID, p.DEK, func(tx Tx) error {
		var err error
		dob, fromCredential, ok, err = DateOfBirth(tx)
		return err
	})
	if err != nil {
		return time.Time{}, false, false, Internal(err)
	}
	return dob, fromCredential, ok, nil
}
