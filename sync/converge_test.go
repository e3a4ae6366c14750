package p2psync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/secure-personal-profile/spp/app"
)

// TestConvergenceOverLibp2p: three devices paired over 127.0.0.1 make
// concurrent edits, deletes and ring changes in random order while
// connections drop at random; all end with identical state. (The store's
// TestConvergenceProperty runs many more seeds in memory.)
func TestConvergenceOverLibp2p(t *testing.T) {
	for seed := range 3 {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(seed), 99))
			a, b, c := newDevice(t), newDevice(t), newDevice(t)
			pa := a.register(t, "ada@example.org")
			pb := b.join(t, a, pa, "b")
			pc := c.join(t, a, pa, "c")
			devs := []*device{a, b, c}
			ps := []*app.Principal{pa, pb, pc}
			fields := []string{"city", "phone", "note", "nickname", "website"}
			rings := []string{app.RingPublic, app.RingSemiPrivate, app.RingPrivate, app.RingRestricted}

			// Concurrent writers, one per device.
			done := make(chan error, len(devs))
			for i := range devs {
				seedI := r.Uint64()
				go func() {
					rr := rand.New(rand.NewPCG(seedI, uint64(i)))
					d, p := devs[i], ps[i]
					for step := range 40 {
						name := fields[rr.IntN(len(fields))]
						var err error
						switch rr.IntN(4) {
						case 0, 1:
							b, _ := json.Marshal(map[string]any{name: fmt.Sprintf("%d-%d-%d", i, step, rr.IntN(1000))})
							_, err = d.App.UpdateInfo(ctx, p, b)
						case 2:
							b, _ := json.Marshal(map[string]any{name: nil})
							_, err = d.App.UpdateInfo(ctx, p, b)
						default:
							_, err = d.App.SetRing(ctx, p, app.RingRequest{Name: rings[rr.IntN(len(rings))], Fields: []string{name}})
						}
						if err != nil {
							done <- err
							return
						}
						if rr.IntN(8) == 0 {
							// A random disconnect: drop every connection to another device.
							other := devs[(i+1+rr.IntN(len(devs)-1))%len(devs)]
							d.svc.Host().Network().ClosePeer(peer.ID(other.svc.Host().ID()))
						}
					}
					done <- nil
				}()
			}
			for range devs {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			converged(t, pa.UserID, a, b, c)
			fa, _ := a.App.Fields(ctx, pa)
			for i, d := range devs[1:] {
				fd, _ := d.App.Fields(ctx, ps[i+1])
				if fmt.Sprint(fa) != fmt.Sprint(fd) {
					t.Fatalf("fields differ:\n%v\n%v", fa, fd)
				}
			}
		})
	}
}
