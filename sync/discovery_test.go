package p2psync_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"

	"github.com/secure-personal-profile/spp/app"
	p2psync "github.com/secure-personal-profile/spp/sync"
)

// restart stops a device's sync service and starts a new one on the same
// store (same identity), with cfg.
func (d *device) restart(t *testing.T, cfg p2psync.Config) {
	t.Helper()
	d.svc.Close()
	cfg.Log = d.cfg.Log
	if cfg.Listen == nil {
		cfg.Listen = loopback()
	}
	d.cfg = cfg
	d.start(t)
}

// TestRememberedAddresses: after both devices restart (fresh libp2p hosts,
// empty peerstores, no mDNS), the one that moved to a new port finds the
// other at the address it remembered.
func TestRememberedAddresses(t *testing.T) {
	a, b := newDevice(t), newDevice(t)
	pa := a.register(t, "ada@example.org")
	pb := b.join(t, a, pa, "b")
	converged(t, pa.UserID, a, b)
	aAddrs := a.svc.Addrs()
	a.svc.Close()
	b.svc.Close()

	a.restart(t, p2psync.Config{Listen: aAddrs}) // same address as before
	b.restart(t, p2psync.Config{})               // a new port: a's memory of it is stale
	a.set(t, pa, map[string]any{"city": "Lisbon"})
	eventually(t, 20*time.Second, "a's change on b after restarts", func() bool { return b.field(t, pb, "city") == "Lisbon" })
}

// TestMDNSDiscoveryInANetworkNamespace runs the mDNS test in a child
// process inside a fresh network namespace (loopback only): no packet
// reaches a real network. Where a namespace cannot be made, it is skipped.
func TestMDNSDiscoveryInANetworkNamespace(t *testing.T) {
	if os.Getenv("SPP_MDNS_NETNS_CHILD") == "1" {
		mdnsInNamespace(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("skipped: the mDNS test runs only inside a Linux network namespace, never on the real network")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("skipped: unshare(1) not found; the mDNS test runs only inside a network namespace it creates")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: ip(8) not found; the mDNS test needs it to bring up loopback in its namespace")
	}
	if out, err := exec.Command(unshare, "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot create a network namespace here (%v: %s); the mDNS test never multicasts on the real network", err, strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(unshare, "-n", os.Args[0], "-test.run=^TestMDNSDiscoveryInANetworkNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "SPP_MDNS_NETNS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestMDNSDiscoveryInANetworkNamespace") {
		t.Fatalf("mDNS test in the namespace failed: %v\n%s", err, out)
	}
}

func mdnsInNamespace(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			t.Fatalf("interface %s present: not in a private network namespace; refusing to multicast", i.Name)
		}
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"link", "set", "lo", "multicast", "on"}, {"route", "add", "224.0.0.0/4", "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	rnd := make([]byte, 4)
	rand.Read(rnd)
	service := "spp-test-" + hex.EncodeToString(rnd)
	a, b := newDevice(t), newDevice(t)
	pa := a.register(t, "ada@example.org")
	pb := b.join(t, a, pa, "b")
	converged(t, pa.UserID, a, b)
	// Both restart on new ports: what each remembers of the other is stale,
	// and the peerstores are empty. Only mDNS can bring them together.
	a.svc.Close()
	b.svc.Close()
	a.restart(t, p2psync.Config{MDNS: true, MDNSService: service})
	b.restart(t, p2psync.Config{MDNS: true, MDNSService: service})
	a.set(t, pa, map[string]any{"city": "Tromsø"})
	eventually(t, 30*time.Second, "a's change on b through mDNS discovery", func() bool { return b.field(t, pb, "city") == "Tromsø" })
}

// TestRelayedDevices: a device that acts as if behind NAT (reachable only
// through a static circuit relay) is paired with and synced through the
// relay; hole punching is on, so the connection may then turn direct.
func TestRelayedDevices(t *testing.T) {
	relay, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.EnableRelayService(), libp2p.ForceReachabilityPublic())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	relayAddr := relay.Addrs()[0].String() + "/p2p/" + relay.ID().String()

	behindNAT := newDevice(t, p2psync.Config{Relays: []string{relayAddr}, HolePunching: true})
	other := newDevice(t, p2psync.Config{HolePunching: true})
	p := behindNAT.register(t, "ada@example.org")
	// The code carries the address through the relay; the test keeps only
	// that one (on loopback the direct addresses would work too).
	ctx := context.Background()
	code, _, err := behindNAT.App.PairCode(ctx, p, "home")
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := app.ParsePairCode(code)
	if !slices.Contains(pc.Addrs, relayAddr+"/p2p-circuit") {
		t.Fatalf("the pairing code does not carry the circuit address %s/p2p-circuit: %v", relayAddr, pc.Addrs)
	}
	pc.Addrs = []string{relayAddr + "/p2p-circuit"}
	if len(other.svc.Host().Peerstore().Addrs(behindNAT.svc.Host().ID())) != 0 {
		t.Fatal("the joiner knew a direct address")
	}
	// Until the device behind NAT holds its reservation, the relay refuses
	// to connect to it: the dial fails and the offer stays unused.
	var auth *app.Auth
	eventually(t, 20*time.Second, "a join through the relay", func() bool {
		auth, err = other.App.Join(ctx, pc.String(), password, "away")
		var e *app.Error
		if errors.As(err, &e) && e.Code == "peer_unreachable" {
			return false
		}
		if err != nil {
			t.Fatalf("join through the relay: %v", err)
		}
		return true
	})
	po := other.principal(t, auth.Token)
	behindNAT.set(t, p, map[string]any{"city": "Reykjavík"})
	eventually(t, 20*time.Second, "the change through the relay", func() bool { return other.field(t, po, "city") == "Reykjavík" })
}
