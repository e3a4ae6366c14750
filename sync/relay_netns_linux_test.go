package p2psync_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/secure-personal-profile/spp/app"
	p2psync "github.com/secure-personal-profile/spp/sync"
)

// The network test runs its relay and two devices as child processes of
// the test binary, each in a network namespace the test makes:
//
//	A (10.77.1.2) ── veth ── R (10.77.1.1, 10.77.2.1; relay at 10.77.0.1) ── veth ── B (10.77.2.2)
//
// A and B each have a route to the relay's address and none to each
// other; R does not forward. Nothing has a default route: no packet of
// the test leaves the namespaces. The parent drives the children over a
// pipe (one JSON request and one answer a line).

const (
	relayRoleEnv = "SPP_RELAY_TEST_ROLE" // relay | device (set in children only)
	relayIP      = "10.77.0.1"
	relayListen  = "/ip4/" + relayIP + "/tcp/4001"
)

type agentReq struct {
	Op    string `json:"op"`
	Code  string `json:"code,omitempty"`
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
	Peer  string `json:"peer,omitempty"`
	// Seconds bounds a wait in the child (below the parent's own bound,
	// so the child's answer says what it saw).
	Seconds int `json:"seconds,omitempty"`
}

type agentResp struct {
	Out   string   `json:"out,omitempty"`
	List  []string `json:"list,omitempty"`
	Err   string   `json:"err,omitempty"`
	Code  string   `json:"code,omitempty"` // an app.Error's code
	Ready bool     `json:"ready,omitempty"`
}

// TestRelayAcrossNetworks: two devices that cannot reach each other pair
// by code and sync through a relay (`spp relay`'s StartRelay); with the
// relay stopped a sync fails naming the relay, and it recovers when the
// relay returns with the same identity.
func TestRelayAcrossNetworks(t *testing.T) {
	if role := os.Getenv(relayRoleEnv); role != "" {
		runAgent(t, role)
		return
	}
	ns := makeRelayNetwork(t)
	relayData := t.TempDir()

	relay := startAgent(t, "relay", ns.r, "SPP_RELAY_TEST_DATA="+relayData)
	relayAddr := relay.ready(t).Out
	if !strings.HasPrefix(relayAddr, relayListen+"/p2p/") {
		t.Fatalf("the relay printed %q, want %s/p2p/PEERID", relayAddr, relayListen)
	}
	relayID := strings.TrimPrefix(relayAddr, relayListen+"/p2p/")
	a := startAgent(t, "A", ns.a, "SPP_RELAY_TEST_LISTEN=/ip4/10.77.1.2/tcp/0", "SPP_RELAY_TEST_RELAY="+relayAddr)
	b := startAgent(t, "B", ns.b, "SPP_RELAY_TEST_LISTEN=/ip4/10.77.2.2/tcp/0", "SPP_RELAY_TEST_RELAY="+relayAddr)
	a.ready(t)
	b.ready(t)
	aPeer := a.call(t, agentReq{Op: "id"}, 5*time.Second).Out

	// Pairing by code: the code carries A's circuit address, and B dials
	// the code's addresses (A's own is unreachable from B).
	a.call(t, agentReq{Op: "register"}, 20*time.Second)
	code := a.call(t, agentReq{Op: "paircode"}, 10*time.Second).Out
	pc, err := app.ParsePairCode(code)
	if err != nil {
		t.Fatal(err)
	}
	circuit := relayAddr + "/p2p-circuit"
	if !contains(pc.Addrs, circuit) {
		t.Fatalf("the pairing code's addresses %v lack %s", pc.Addrs, circuit)
	}
	// Until A holds its reservation the relay cannot reach it: the dial
	// fails (peer_unreachable) and the offer stays unspent.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := b.call(t, agentReq{Op: "join", Code: code}, 90*time.Second)
		if r.Err == "" {
			break
		}
		if r.Code != "peer_unreachable" || time.Now().After(deadline) {
			t.Fatalf("join through the relay: %s (%s)", r.Err, r.Code)
		}
		time.Sleep(250 * time.Millisecond)
	}
	assertRelayed := func(what string) {
		t.Helper()
		conns := b.call(t, agentReq{Op: "conns", Peer: aPeer}, 5*time.Second).List
		if len(conns) == 0 {
			t.Fatalf("%s: B has no connection to A", what)
		}
		for _, c := range conns {
			if !strings.Contains(c, "/p2p/"+relayID+"/p2p-circuit") || !strings.HasSuffix(c, " limited") {
				t.Fatalf("%s: B's connection to A is not a limited circuit through the relay: %s", what, c)
			}
		}
	}
	assertRelayed("after pairing")

	// Sync both ways through the relay.
	a.call(t, agentReq{Op: "set", Key: "city", Value: "Reykjavík"}, 10*time.Second)
	b.call(t, agentReq{Op: "wait", Key: "city", Value: "Reykjavík", Seconds: 30}, 40*time.Second)
	b.call(t, agentReq{Op: "set", Key: "blood_type", Value: "O-"}, 10*time.Second)
	a.call(t, agentReq{Op: "wait", Key: "blood_type", Value: "O-", Seconds: 30}, 40*time.Second)
	if r := b.call(t, agentReq{Op: "syncnow"}, 40*time.Second); r.Err != "" {
		t.Fatalf("sync now through the relay: %s", r.Err)
	}
	assertRelayed("after syncing")

	// The relay stops: a sync fails, and says the relay is the reason.
	relay.stop(t)
	b.call(t, agentReq{Op: "waitdisconnected", Peer: aPeer}, 20*time.Second)
	a.call(t, agentReq{Op: "set", Key: "city", Value: "Tromsø"}, 10*time.Second)
	r := b.call(t, agentReq{Op: "syncnow"}, 60*time.Second)
	if r.Err == "" {
		t.Fatal("sync now succeeded with the relay stopped")
	}
	if !strings.Contains(r.Err, "relay "+relayID) || !strings.Contains(r.Err, "the relay is not reachable") {
		t.Fatalf("the error with the relay stopped does not name the relay: %s", r.Err)
	}
	t.Logf("with the relay stopped, B's sync now: %s", r.Err)
	if got := b.call(t, agentReq{Op: "field", Key: "city"}, 5*time.Second).Out; got != "Reykjavík" {
		t.Fatalf("city on B with the relay stopped: %q", got)
	}

	// The relay returns (same identity from its data directory, same
	// address): the devices find it again by themselves.
	relay = startAgent(t, "relay again", ns.r, "SPP_RELAY_TEST_DATA="+relayData)
	if again := relay.ready(t).Out; again != relayAddr {
		t.Fatalf("the restarted relay is %s, want %s", again, relayAddr)
	}
	back := time.Now()
	b.call(t, agentReq{Op: "wait", Key: "city", Value: "Tromsø", Seconds: 60}, 70*time.Second)
	t.Logf("A's change reached B %v after the relay returned", time.Since(back).Round(10*time.Millisecond))
	if r := b.call(t, agentReq{Op: "syncnow"}, 40*time.Second); r.Err != "" {
		t.Fatalf("sync now after the relay returned: %s", r.Err)
	}
	assertRelayed("after the relay returned")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// relayNetwork names the test's three namespaces.
type relayNetwork struct{ r, a, b string }

const netnsPrefix = "spp-relaytest-"

// makeRelayNetwork makes the namespaces (deleted when the test ends,
// whatever its outcome), or skips the test where that is impossible.
func makeRelayNetwork(t *testing.T) relayNetwork {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: ip(8) not found; the relay test needs `ip netns` to create its network namespaces")
	}
	removeStaleNamespaces()
	rnd := make([]byte, 3)
	rand.Read(rnd)
	base := fmt.Sprintf("%s%d-%s-", netnsPrefix, os.Getpid(), hex.EncodeToString(rnd))
	n := relayNetwork{r: base + "r", a: base + "a", b: base + "b"}
	if out, err := exec.Command("ip", "netns", "add", n.r).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot create a network namespace here (`ip netns add`: %v: %s); the relay test runs only in namespaces it creates (as root)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		for _, name := range []string{n.a, n.b, n.r} {
			exec.Command("ip", "netns", "del", name).Run()
		}
	})
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	sysctl := func(ns, key, value string) {
		// Absent keys (a kernel without IPv6) are fine.
		exec.Command("ip", "netns", "exec", ns, "sh", "-c", "echo "+value+" > /proc/sys/"+key).Run()
	}
	run("netns", "add", n.a)
	run("netns", "add", n.b)
	for _, ns := range []string{n.r, n.a, n.b} {
		// IPv4 only, and no forwarding: the relay's namespace is no router.
		sysctl(ns, "net/ipv6/conf/all/disable_ipv6", "1")
		sysctl(ns, "net/ipv6/conf/default/disable_ipv6", "1")
		sysctl(ns, "net/ipv4/ip_forward", "0")
		run("-n", ns, "link", "set", "lo", "up")
	}
	// The veth pairs are made inside the namespaces: the machine's own
	// network is never touched.
	run("-n", n.a, "link", "add", "eth0", "type", "veth", "peer", "name", "ra", "netns", n.r)
	run("-n", n.b, "link", "add", "eth0", "type", "veth", "peer", "name", "rb", "netns", n.r)
	run("-n", n.r, "addr", "add", relayIP+"/32", "dev", "lo")
	run("-n", n.r, "addr", "add", "10.77.1.1/24", "dev", "ra")
	run("-n", n.r, "addr", "add", "10.77.2.1/24", "dev", "rb")
	run("-n", n.a, "addr", "add", "10.77.1.2/24", "dev", "eth0")
	run("-n", n.b, "addr", "add", "10.77.2.2/24", "dev", "eth0")
	for _, l := range [][2]string{{n.r, "ra"}, {n.r, "rb"}, {n.a, "eth0"}, {n.b, "eth0"}} {
		run("-n", l[0], "link", "set", l[1], "up")
	}
	run("-n", n.a, "route", "add", relayIP+"/32", "via", "10.77.1.1")
	run("-n", n.b, "route", "add", relayIP+"/32", "via", "10.77.2.1")
	// A and B cannot reach each other.
	for _, c := range [][2]string{{n.a, "10.77.2.2"}, {n.b, "10.77.1.2"}} {
		if out, err := exec.Command("ip", "-n", c[0], "route", "get", c[1]).CombinedOutput(); err == nil {
			t.Fatalf("namespace %s has a route to %s: %s", c[0], c[1], out)
		}
	}
	return n
}

// removeStaleNamespaces deletes namespaces an earlier run left behind
// when it was killed before its cleanup (the pid in the name is gone).
func removeStaleNamespaces() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, netnsPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

// agent is a child process running one role in a namespace.
type agent struct {
	name  string
	cmd   *exec.Cmd
	in    *os.File
	lines chan string
	logs  *logBuf
	done  chan struct{}
}

func startAgent(t *testing.T, name, ns string, env ...string) *agent {
	t.Helper()
	role := "device"
	if strings.HasPrefix(name, "relay") {
		role = "relay"
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0],
		"-test.run=^TestRelayAcrossNetworks$", "-test.v", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(append(os.Environ(), relayRoleEnv+"="+role), env...)
	cmd.ExtraFiles = []*os.File{reqR, respW} // fd 3: requests, fd 4: answers
	logs := &logBuf{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// The child dies with the test (ip netns exec becomes the child).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reqR.Close()
	respW.Close()
	a := &agent{name: name, cmd: cmd, in: reqW, lines: make(chan string, 16), logs: logs, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(respR)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			a.lines <- sc.Text()
		}
		close(a.lines)
		respR.Close()
	}()
	go func() {
		cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		a.in.Close()
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-a.done
		}
		// SPP_DEBUG_AGENTS=1 shows the children's logs on success too.
		if t.Failed() || os.Getenv("SPP_DEBUG_AGENTS") != "" {
			t.Logf("output of %s:\n%s", a.name, a.logs.String())
		}
	})
	return a
}

// read waits for the agent's next answer.
func (a *agent) read(t *testing.T, what string, timeout time.Duration) agentResp {
	t.Helper()
	select {
	case line, ok := <-a.lines:
		if !ok {
			t.Fatalf("%s ended before answering %s:\n%s", a.name, what, a.logs.String())
		}
		var r agentResp
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s answered %s with %q: %v", a.name, what, line, err)
		}
		return r
	case <-time.After(timeout):
		t.Fatalf("%s did not answer %s within %v:\n%s", a.name, what, timeout, a.logs.String())
	}
	return agentResp{}
}

func (a *agent) ready(t *testing.T) agentResp {
	t.Helper()
	r := a.read(t, "its start", 60*time.Second)
	if !r.Ready {
		t.Fatalf("%s did not start: %s", a.name, r.Err)
	}
	return r
}

// call sends one request; an answer with an error fails the test, except
// for the requests whose errors the test examines (join, syncnow).
func (a *agent) call(t *testing.T, req agentReq, timeout time.Duration) agentResp {
	t.Helper()
	b, _ := json.Marshal(req)
	if _, err := a.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s: sending %s: %v", a.name, req.Op, err)
	}
	r := a.read(t, req.Op, timeout)
	if r.Err != "" && req.Op != "join" && req.Op != "syncnow" {
		t.Fatalf("%s: %s: %s", a.name, req.Op, r.Err)
	}
	return r
}

// stop ends the agent (its relay or device closes) and waits for it.
func (a *agent) stop(t *testing.T) {
	t.Helper()
	a.in.Close()
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop:\n%s", a.name, a.logs.String())
	}
}

// runAgent is a child's side: it serves the parent's requests until the
// request pipe closes.
func runAgent(t *testing.T, role string) {
	in, out := os.NewFile(3, "requests"), os.NewFile(4, "answers")
	enc := json.NewEncoder(out)
	answer := func(r agentResp) {
		if err := enc.Encode(r); err != nil {
			t.Fatalf("answering: %v", err)
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if role == "relay" {
		r, err := p2psync.StartRelay(p2psync.RelayConfig{Listen: []string{relayListen}, DataDir: os.Getenv("SPP_RELAY_TEST_DATA")})
		if err != nil {
			answer(agentResp{Err: err.Error()})
			t.Fatal(err)
		}
		answer(agentResp{Ready: true, Out: r.Addrs()[0]})
		for sc.Scan() {
		}
		r.Close()
		return
	}

	d := newDevice(t, p2psync.Config{
		Listen:       []string{os.Getenv("SPP_RELAY_TEST_LISTEN")},
		Relays:       []string{os.Getenv("SPP_RELAY_TEST_RELAY")},
		HolePunching: true,
	})
	answer(agentResp{Ready: true})
	var p *app.Principal
	ctx := context.Background()
	for sc.Scan() {
		var req agentReq
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatal(err)
		}
		var r agentResp
		switch req.Op {
		case "id":
			r.Out = d.svc.PeerID()
		case "register":
			p = d.register(t, "ada@example.org")
		case "paircode":
			code, _, err := d.App.PairCode(ctx, p, "home")
			if err != nil {
				r.Err = err.Error()
			}
			r.Out = code
		case "join":
			auth, err := d.App.Join(ctx, req.Code, password, "away")
			if err != nil {
				r.Err = err.Error()
				var e *app.Error
				if errors.As(err, &e) {
					r.Code = e.Code
				}
				break
			}
			p = d.principal(t, auth.Token)
		case "set":
			d.set(t, p, map[string]any{req.Key: req.Value})
		case "field":
			r.Out = d.field(t, p, req.Key)
		case "wait":
			deadline := time.Now().Add(time.Duration(req.Seconds) * time.Second)
			for d.field(t, p, req.Key) != req.Value {
				if time.Now().After(deadline) {
					r.Err = fmt.Sprintf("%s is %q, not %q", req.Key, d.field(t, p, req.Key), req.Value)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "syncnow":
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := d.svc.SyncNow(sctx, p.UserID)
			cancel()
			if err != nil {
				r.Err = err.Error()
			}
		case "conns", "waitdisconnected":
			pid, err := peer.Decode(req.Peer)
			if err != nil {
				r.Err = err.Error()
				break
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				r.List = nil
				for _, c := range d.svc.Host().Network().ConnsToPeer(pid) {
					s := c.RemoteMultiaddr().String()
					if c.Stat().Limited {
						s += " limited"
					}
					r.List = append(r.List, s)
				}
				if req.Op == "conns" || len(r.List) == 0 {
					break
				}
				if time.Now().After(deadline) {
					r.Err = fmt.Sprintf("still connected: %v", r.List)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		default:
			r.Err = "unknown request " + req.Op
		}
		answer(r)
	}
	if t.Failed() || testing.Verbose() {
		fmt.Fprintf(os.Stderr, "log of device %s:\n%s\n", d.DB.DeviceID(), d.logs.String())
	}
}
