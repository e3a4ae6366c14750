package p2psync_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/secure-personal-profile/spp/app"
)

// writeOps makes n operations on d in transactions of 1,000.
func writeOps(b *testing.B, d *device, p *app.Principal, n int) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n; {
		k := min(1000, n-done)
		err := d.DB.Update(ctx, p.UserID, p.DEK, func(tx app.Tx) error {
			for i := range k {
				v := fmt.Sprintf(`"value %d"`, done+i)
				if err := tx.Put(app.Cell{Entity: "field", ID: fmt.Sprintf("bench_%d", (done+i)%2000), Field: "value", Value: []byte(v)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += k
	}
}

// BenchmarkConverge10kOps: the time for two paired devices to converge
// after one made 10,000 operations while the other was offline: from the
// offline device's sync service starting (connection, handshake,
// anti-entropy, apply) to it holding every operation. Target: under 1 s.
func BenchmarkConverge10kOps(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	b.StopTimer()
	for range b.N {
		a, d := newDevice(b), newDevice(b)
		pa := a.register(b, "ada@example.org")
		d.join(b, a, pa, "b")
		d.svc.Close()
		writeOps(b, a, pa, n)
		want, _ := a.DB.OpsVector(ctx, pa.UserID)
		committed := make(chan struct{}, 1)
		remove := d.DB.OnCommit(func(string) {
			select {
			case committed <- struct{}{}:
			default:
			}
		})
		b.StartTimer()
		d.start(b)
		for {
			got, _ := d.DB.OpsVector(ctx, pa.UserID)
			if got[a.DB.DeviceID()] == want[a.DB.DeviceID()] {
				break
			}
			select {
			case <-committed:
			case <-time.After(100 * time.Millisecond):
			}
		}
		b.StopTimer()
		remove()
		if a.digest(b, pa.UserID) != d.digest(b, pa.UserID) {
			b.Fatal("not converged")
		}
		a.svc.Close()
		d.svc.Close()
	}
	b.ReportMetric(float64(n), "ops/converge")
}

// BenchmarkChangeDelay: the delay from a change committed through the app
// on one device to its arrival (committed) on the other, both online on
// loopback. Reports the median and the 99th percentile. Target: median
// under 50 ms.
func BenchmarkChangeDelay(b *testing.B) {
	ctx := context.Background()
	a, d := newDevice(b), newDevice(b)
	pa := a.register(b, "ada@example.org")
	pd := d.join(b, a, pa, "b")
	a.set(b, pa, map[string]any{"warmup": 1})
	eventually(b, 10*time.Second, "a session", func() bool { return d.field(b, pd, "warmup") == "1" })
	arrived := make(chan struct{}, 16)
	remove := d.DB.OnCommit(func(string) {
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	defer remove()
	var delays []time.Duration
	for i := 0; b.Loop(); i++ {
		for len(arrived) > 0 {
			<-arrived
		}
		t0 := time.Now()
		if _, err := a.App.UpdateInfo(ctx, pa, []byte(fmt.Sprintf(`{"counter":%d}`, i))); err != nil {
			b.Fatal(err)
		}
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			b.Fatal("the change never arrived")
		}
		delays = append(delays, time.Since(t0))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(delays[len(delays)/2]), "p50-ms")
	b.ReportMetric(ms(delays[min(len(delays)-1, len(delays)*99/100)]), "p99-ms")
}

// BenchmarkStreamThroughput: the raw throughput of one libp2p stream
// between two of the same hosts on loopback, for comparison.
func BenchmarkStreamThroughput(b *testing.B) {
	a, d := newDevice(b), newDevice(b)
	const proto = "/spp-bench/discard/1.0.0"
	done := make(chan int64, 1)
	d.svc.Host().SetStreamHandler(proto, func(s network.Stream) {
		n, _ := io.Copy(io.Discard, s)
		s.Close()
		done <- n
	})
	h := a.svc.Host()
	ctx := context.Background()
	if err := h.Connect(ctx, peer.AddrInfo{ID: d.svc.Host().ID(), Addrs: d.svc.Host().Addrs()}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	const size = 64 << 20
	b.SetBytes(size)
	for b.Loop() {
		s, err := h.NewStream(ctx, d.svc.Host().ID(), proto)
		if err != nil {
			b.Fatal(err)
		}
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := s.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		s.CloseWrite()
		if n := <-done; n != size {
			b.Fatalf("received %d bytes", n)
		}
		s.Close()
	}
}
