package p2psync_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"

	p2psync "github.com/secure-personal-profile/spp/sync"
)

// TestRelayIdentityAndLimits (loopback): the relay's peer id survives a
// restart with its data directory (the key file private to its owner),
// is new each start without one, and the reservation limit holds.
func TestRelayIdentityAndLimits(t *testing.T) {
	dir := t.TempDir()
	start := func(cfg p2psync.RelayConfig) *p2psync.Relay {
		t.Helper()
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.Log = slog.New(slog.DiscardHandler)
		r, err := p2psync.StartRelay(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	r1 := start(p2psync.RelayConfig{DataDir: dir})
	id := r1.PeerID()
	for _, a := range r1.Addrs() {
		if !strings.HasSuffix(a, "/p2p/"+id) {
			t.Fatalf("address %s does not end in /p2p/%s", a, id)
		}
	}
	r1.Close()
	if r2 := start(p2psync.RelayConfig{DataDir: dir}); r2.PeerID() != id {
		t.Fatalf("peer id after restart: %s, want %s", r2.PeerID(), id)
	}
	fi, err := os.Stat(filepath.Join(dir, p2psync.RelayKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if r3 := start(p2psync.RelayConfig{}); r3.PeerID() == id {
		t.Fatal("a relay without a data directory reused the stored identity")
	}

	// One reservation at most: the second device is refused. The limits
	// a circuit carries are the relay's.
	lim := p2psync.DefaultRelayLimits()
	lim.MaxReservations = 1
	r := start(p2psync.RelayConfig{Limits: lim})
	ai, err := peer.AddrInfoFromString(r.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var hosts []interface{ Close() error }
	defer func() {
		for _, h := range hosts {
			h.Close()
		}
	}()
	for i := range 2 {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
		if err := h.Connect(ctx, *ai); err != nil {
			t.Fatal(err)
		}
		rsvp, err := client.Reserve(ctx, h, *ai)
		switch {
		case i == 0 && err != nil:
			t.Fatalf("first reservation: %v", err)
		case i == 0 && (rsvp.LimitData != uint64(lim.CircuitBytes) || rsvp.LimitDuration != lim.CircuitDuration):
			t.Fatalf("reservation limits %d bytes, %v; want %d, %v", rsvp.LimitData, rsvp.LimitDuration, lim.CircuitBytes, lim.CircuitDuration)
		case i == 1 && err == nil:
			t.Fatal("a second reservation was granted beyond MaxReservations 1")
		}
	}
}
