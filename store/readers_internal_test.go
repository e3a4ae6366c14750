package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// TestReadersStayOpen: reads that keep every reader connection busy at
// once give them back to be used again, not closed and opened anew by the
// next read (database/sql keeps two idle unless told otherwise).
func TestReadersStayOpen(t *testing.T) {
	db, acct, dek := openWithAccount(t)
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		var in atomic.Int32
		all := make(chan struct{}) // closed once every connection is in use
		for i := 0; i < 2*readConns; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.View(context.Background(), acct.UserID, dek, func(tx app.Tx) error {
					_, err := tx.IDs(app.EntityField)
					if in.Add(1) == readConns {
						close(all)
					}
					select {
					case <-all:
					case <-time.After(5 * time.Second):
						t.Error("the readers were never all in use at once")
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if s := db.r.Stats(); s.MaxIdleClosed != 0 || s.OpenConnections != readConns {
		t.Errorf("reader pool after busy reads: %d closed for want of idle room, %d open; want 0 and %d", s.MaxIdleClosed, s.OpenConnections, readConns)
	}
}
