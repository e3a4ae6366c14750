package app

import (
	"context"
	"time"

	"github.com/secure-personal-profile/spp/crypto"
)

// Internals the external tests (package app_test) play an attacker with:
// an attacker who has read the source knows how views are keyed.
var (
	ViewKeyForTest = viewKey
	ViewADForTest  = viewAD
)

// CraftContainerForTest builds a profile container as an attacker who
// knows the format would: any ids, any cells, a passphrase of theirs.
func CraftContainerForTest(userID, profileID, email string, dek []byte, cells []Cell, passphrase string) ([]byte, error) {
	s := &snapshot{UserID: userID, ProfileID: profileID, Email: email, DEK: dek}
	for _, c := range cells {
		sc := snapshotCell{Entity: c.Entity, ID: c.ID, Field: c.Field, Data: c.Clear}
		if c.Value != nil {
			sc.Sealed, sc.Data, sc.Clear = true, c.Value, c.Clear
		}
		s.Cells = append(s.Cells, sc)
	}
	return sealContainer(s, passphrase, crypto.KDFParams{Time: 1, Memory: 64, Threads: 1}, time.Now())
}

// FieldIDForTest is the id of a profile field's entity.
func FieldIDForTest(dek []byte, name string) string { return nameID(dek, "field", name) }

// ServiceIDForTest is the id of a service's entity.
func ServiceIDForTest(dek []byte, serviceID string) string { return nameID(dek, "service", serviceID) }

// RederiveViewsForTest derives every view of the user from every cell,
// as a device that never derived them does.
func (a *App) RederiveViewsForTest(ctx context.Context, p *Principal) error {
	return a.core.store.Update(ctx, p.UserID, p.DEK, func(tx Tx) error { return a.core.deriveAll(tx, p.DEK) })
}
