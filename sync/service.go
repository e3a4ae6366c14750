// Package p2psync keeps a person's profile the same on each of their
// devices, with no server: a libp2p host per device, device pairing with a
// one-time code, replication of the operation log between paired devices,
// and discovery (mDNS on the local network, remembered addresses, relays
// and hole punching across networks). Every libp2p import of the module is
// here.
//
// # Boundary
//
// The package depends on one interface of the domain, [app.Replica]
// (what [New] is given: [app.App.Replica]), and reaches the store only
// through it: the domain verifies device lists, applies operations and
// writes peer records. The domain sees the package through [app.Syncer],
// which [Service] implements; a join is one call of it ([Service.Join]:
// pairing and the first sync).
//
// # Name
//
// The directory is sync/; the package is named p2psync so that it does not
// shadow the standard library's sync, which it imports.
package p2psync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/secure-personal-profile/spp/app"
)

// Config tunes the service; zero values take the defaults.
type Config struct {
	// Listen are the multiaddrs to listen on. The app listens on every
	// interface (TCP and QUIC); tests give 127.0.0.1.
	Listen []string
	// MDNS announces and discovers devices on the local network.
	MDNS bool
	// MDNSService is the mDNS service name ("spp-sync"); tests use their own.
	MDNSService string
	// Relays are static circuit-relay v2 servers (multiaddrs with /p2p/,
	// as `spp relay` prints them). A device given relays keeps a
	// reservation with each (it counts itself behind NAT, as ForcePrivate)
	// and advertises RELAY/p2p-circuit addresses, in its pairing codes
	// too; hole punching then tries a direct connection.
	Relays []string
	// HolePunching enables DCUtR hole punching (on in the app).
	HolePunching bool
	// NATPortMap asks the router for a port mapping (UPnP / NAT-PMP).
	NATPortMap bool
	// ForcePrivate makes the host act as if it were behind NAT (implied by
	// Relays).
	ForcePrivate bool
	// RelayService makes this host a relay for others.
	RelayService bool
	Log          *slog.Logger
}

// Service is one device's sync service. It implements app.Syncer.
type Service struct {
	rep    app.Replica // the domain: everything the service reads or writes
	h      host.Host
	cfg    Config
	log    *slog.Logger
	self   string // this device's id
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mdns   mdns.Service
	unhook func()
	wake   chan struct{}
	relays map[peer.ID]peer.AddrInfo // the static relays (Config.Relays)

	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	offers   map[string]*app.PairOffer
	sessions map[sessionKey]map[*session]struct{}
	dialing  map[sessionKey]bool
	backoff  map[peer.ID]*retry
	lastSync map[sessionKey]time.Time // by (user, device id)
	// otherVersion: devices that refused SyncProtocol when last dialled
	// (ErrOtherVersion), until a session with them runs.
	otherVersion map[sessionKey]bool
	compacted    map[string]time.Time  // by user: the last compaction of the log
	unreached    map[peer.ID]string    // devices last not reached through a relay, and why
	relayDown    map[peer.ID]bool      // static relays found down (logged once)
	relayTried   map[peer.ID]time.Time // the last reconnection to a static relay
}

type sessionKey struct{ user, peer string }

type retry struct {
	next  time.Time
	delay time.Duration
}

var _ app.Syncer = (*Service)(nil)

// Timeouts of the protocols.
const (
	pairTimeout  = 60 * time.Second // a whole pairing (includes the password KDF)
	ioTimeout    = 30 * time.Second // one message write
	idleTimeout  = 75 * time.Second // a sync stream with no message
	pingInterval = 20 * time.Second
	dialTimeout  = 15 * time.Second
	tick         = 2 * time.Second
	maxBackoff   = 30 * time.Second
	// otherVersionBackoff: how long a device that refused this version
	// of the sync protocol is left before it is dialled again.
	otherVersionBackoff = 10 * time.Minute
	batchOps            = 256
	// compactEvery: how often a user's operation log is compacted here
	// (superseded values dropped, tombstones every listed device holds).
	compactEvery = time.Minute
)

// DefaultListen is where the app listens: every interface, TCP and QUIC.
var DefaultListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// New starts the sync service of a device: the libp2p host (its identity
// kept sealed under the installation key, so the peer id survives
// restarts), the protocol handlers, discovery and background sync of every
// user this device syncs. Close stops it.
func New(rep app.Replica, cfg Config) (*Service, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = DefaultListen
	}
	if cfg.MDNSService == "" {
		cfg.MDNSService = "spp-sync"
	}
	ctx, cancel := context.WithCancel(context.Background())
	keyBytes, err := rep.Identity(ctx, func() ([]byte, error) {
		k, _, err := lcrypto.GenerateEd25519Key(nil)
		if err != nil {
			return nil, err
		}
		return lcrypto.MarshalPrivateKey(k)
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sync: device identity: %w", err)
	}
	key, err := lcrypto.UnmarshalPrivateKey(keyBytes)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sync: device identity: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.UserAgent("spp/1"),
		libp2p.EnableRelay(),
	}
	if cfg.HolePunching {
		opts = append(opts, libp2p.EnableHolePunching())
	}
	if cfg.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	relays, err := parseRelays(cfg.Relays)
	if err != nil {
		cancel()
		return nil, err
	}
	if cfg.ForcePrivate || len(relays) > 0 {
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	if cfg.RelayService {
		opts = append(opts, libp2p.EnableRelayService())
	}
	if len(relays) > 0 {
		opts = append(opts, relayOptions(relays)...)
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sync: starting libp2p: %w", err)
	}
	s := &Service{
		rep: rep, h: h, cfg: cfg, log: cfg.Log, self: rep.DeviceID(),
		ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		offers:       map[string]*app.PairOffer{},
		sessions:     map[sessionKey]map[*session]struct{}{},
		dialing:      map[sessionKey]bool{},
		backoff:      map[peer.ID]*retry{},
		lastSync:     map[sessionKey]time.Time{},
		otherVersion: map[sessionKey]bool{},
		compacted:    map[string]time.Time{},
		unreached:    map[peer.ID]string{},
		relays:       map[peer.ID]peer.AddrInfo{},
		relayDown:    map[peer.ID]bool{},
		relayTried:   map[peer.ID]time.Time{},
	}
	for _, r := range relays {
		s.relays[r.ID] = r
	}
	h.SetStreamHandler(PairProtocol, s.handlePair)
	h.SetStreamHandler(SyncProtocol, s.handleSync)
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) { s.connected(c.RemotePeer()) }})
	unCommit, unDevices := rep.OnCommit(s.committed), rep.OnDevices(func(string) { s.wakeUp() })
	s.unhook = func() { unCommit(); unDevices() }
	if cfg.MDNS {
		s.mdns = mdns.NewMdnsService(h, cfg.MDNSService, (*mdnsNotifee)(s))
		if err := s.mdns.Start(); err != nil {
			s.log.Warn("sync: mDNS discovery unavailable", "err", err)
			s.mdns = nil
		}
	}
	if err := s.rememberAddrs(ctx); err != nil {
		s.log.Warn("sync: reading remembered addresses", "err", err)
	}
	s.wg.Add(1)
	go s.maintain()
	s.log.Info("sync listening", "peer_id", h.ID().String(), "addrs", s.Addrs())
	return s, nil
}

// Close stops the service: discovery, every session, the host. It may be
// called more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Service) close() error {
	s.cancel()
	s.unhook()
	if s.mdns != nil {
		s.mdns.Close()
	}
	s.mu.Lock()
	for _, set := range s.sessions {
		for ss := range set {
			ss.stream.Reset()
		}
	}
	s.mu.Unlock()
	err := s.h.Close()
	s.wg.Wait()
	return err
}

// Host is the libp2p host (for tests and benchmarks).
func (s *Service) Host() host.Host { return s.h }

// PeerID is this device's libp2p peer id.
func (s *Service) PeerID() string { return s.h.ID().String() }

// Addrs are the multiaddrs this device can be reached at, the circuit
// addresses through its static relays included (RELAY/p2p-circuit).
func (s *Service) Addrs() []string {
	var out []string
	for _, a := range s.h.Addrs() {
		out = append(out, a.String())
	}
	sort.Strings(out)
	return out
}

// Offer accepts one pairing for the offer's user until it expires.
func (s *Service) Offer(o app.PairOffer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.rep.Now()
	for id, x := range s.offers {
		if !now.Before(x.Expires) {
			delete(s.offers, id)
		}
	}
	s.offers[o.ID] = &o
}

// takeOffer removes and returns a live offer: a code works once.
func (s *Service) takeOffer(id string) *app.PairOffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.offers[id]
	delete(s.offers, id)
	if o == nil || !s.rep.Now().Before(o.Expires) {
		return nil
	}
	return o
}

// Refresh re-reads a user's devices at once: new ones are dialled, removed
// ones cut off. The service does so by itself when the replica reports a
// change of devices (OnDevices), after a pairing, and every few seconds;
// tests use Refresh to hurry it.
func (s *Service) Refresh(userID string) { s.wakeUp() }

// Status reports the live state of a user's devices, by device id.
func (s *Service) Status(userID string) map[string]app.PeerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]app.PeerStatus{}
	for k, t := range s.lastSync {
		if k.user == userID {
			out[k.peer] = app.PeerStatus{LastSync: t}
		}
	}
	for k := range s.otherVersion {
		if k.user == userID {
			st := out[k.peer]
			st.OtherVersion = true
			out[k.peer] = st
		}
	}
	for k, set := range s.sessions {
		if k.user != userID {
			continue
		}
		for ss := range set {
			st := out[ss.device]
			st.Connected = true
			out[ss.device] = st
		}
	}
	return out
}

func (s *Service) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// committed is the replica's commit hook: sessions of the user send what
// is new at once.
func (s *Service) committed(userID string) {
	s.eachSession(userID, func(_ sessionKey, ss *session) { ss.poke() })
}

// eachSession calls fn with every running session of a user, under the
// service's lock.
func (s *Service) eachSession(user string, fn func(sessionKey, *session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, set := range s.sessions {
		if k.user != user {
			continue
		}
		for ss := range set {
			fn(k, ss)
		}
	}
}

// rememberAddrs puts every remembered address of every synced user's
// devices into the peerstore.
func (s *Service) rememberAddrs(ctx context.Context) error {
	users, err := s.rep.SyncUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		peers, err := s.rep.Peers(ctx, u)
		if err != nil {
			return err
		}
		for _, p := range peers {
			s.addAddrs(p.PeerID, p.Addrs)
		}
	}
	return nil
}

func (s *Service) addAddrs(peerID string, addrs []string) {
	pid, err := peer.Decode(peerID)
	if err != nil {
		return
	}
	var mas []ma.Multiaddr
	for _, a := range addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			mas = append(mas, m)
		}
	}
	s.h.Peerstore().AddAddrs(pid, mas, 24*time.Hour)
}

// knownAddrs are the addresses worth remembering for a peer.
func (s *Service) knownAddrs(pid peer.ID) []string {
	seen := map[string]bool{}
	var out []string
	add := func(m ma.Multiaddr) {
		if k := m.String(); !seen[k] && len(out) < 16 {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, c := range s.h.Network().ConnsToPeer(pid) {
		add(c.RemoteMultiaddr())
	}
	for _, m := range s.h.Peerstore().Addrs(pid) {
		add(m)
	}
	return out
}

// maintain keeps a session open with every listed device of every synced
// user: it dials those it has no session with (when both dial at once, the
// session opened by the lower peer id is kept), cuts off devices no longer
// listed, and retries with backoff.
func (s *Service) maintain() {
	defer s.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.round()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

func (s *Service) round() {
	ctx := s.ctx
	s.keepRelays()
	users, err := s.rep.SyncUsers(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("sync: listing users", "err", err)
		}
		return
	}
	synced := map[string]bool{}
	for _, u := range users {
		synced[u] = true
		dek, err := s.rep.SyncDEK(ctx, u)
		if err != nil {
			s.log.Error("sync: opening a user's sync key", "user_id", u, "err", err)
			continue
		}
		list, _, err := s.rep.DeviceList(ctx, u, dek)
		if err != nil || list == nil {
			continue
		}
		if !list.Has(s.self, s.PeerID()) {
			// This device was removed from the profile: it syncs no more.
			s.log.Info("sync: this device was removed from a profile; sync stops", "user_id", u)
			if err := s.rep.StopSync(ctx, u); err != nil {
				s.log.Error("sync: stopping", "err", err)
			}
			synced[u] = false
			continue
		}
		s.cutOff(u, list)
		s.compact(u, list)
		for _, d := range list.Devices {
			if d.DeviceID == s.self {
				continue
			}
			s.ensure(u, d)
		}
	}
	// Sessions of users no longer synced here end.
	s.mu.Lock()
	for k, set := range s.sessions {
		if !synced[k.user] {
			for ss := range set {
				if !ss.once {
					ss.stream.Reset()
				}
			}
		}
	}
	s.mu.Unlock()
}

// compact compacts a user's operation log, at most every compactEvery.
func (s *Service) compact(user string, list *app.DeviceList) {
	s.mu.Lock()
	due := time.Since(s.compacted[user]) >= compactEvery
	if due {
		s.compacted[user] = time.Now()
	}
	s.mu.Unlock()
	if !due {
		return
	}
	res, err := s.rep.Compact(s.ctx, list)
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("sync: compacting the operation log", "user_id", user, "err", err)
		}
		return
	}
	if res.Superseded > 0 || res.Tombstones > 0 {
		s.log.Debug("sync: operation log compacted", "user_id", user, "superseded", res.Superseded, "tombstones", res.Tombstones)
	}
}

// cutOff resets the sessions of a user with peers the list no longer holds.
func (s *Service) cutOff(user string, list *app.DeviceList) {
	s.eachSession(user, func(k sessionKey, ss *session) {
		// A list older than the one that admitted the session (read
		// before a device was added) does not cut it off.
		if !ss.once && list.Version >= ss.admitted && !list.Has(ss.device, k.peer) {
			s.log.Info("sync: cutting off a removed device", "user_id", user, "device", ss.device)
			ss.stream.Reset()
		}
	})
}

// ensure starts a session with a listed device if none runs.
func (s *Service) ensure(user string, d app.ListedDevice) {
	pid, err := peer.Decode(d.PeerID)
	if err != nil {
		return
	}
	k := sessionKey{user, d.PeerID}
	s.mu.Lock()
	if len(s.sessions[k]) > 0 || s.dialing[k] {
		s.mu.Unlock()
		return
	}
	if r := s.backoff[pid]; r != nil && time.Now().Before(r.next) {
		s.mu.Unlock()
		return
	}
	s.dialing[k] = true
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.connectAndSync(user, d, pid)
		s.mu.Lock()
		delete(s.dialing, k)
		if err != nil && s.ctx.Err() == nil {
			r := s.backoff[pid]
			if r == nil {
				r = &retry{delay: 250 * time.Millisecond}
				s.backoff[pid] = r
			} else {
				r.delay = min(r.delay*2, maxBackoff)
			}
			if errors.Is(err, ErrOtherVersion) {
				// Nothing changes until it is upgraded, and then it dials
				// this device itself (it speaks this version).
				r.delay = otherVersionBackoff
			}
			r.next = time.Now().Add(r.delay)
		}
		s.mu.Unlock()
		if err != nil && s.ctx.Err() == nil {
			s.notReached(user, d.DeviceID, pid, err)
		}
	}()
}

func (s *Service) resetBackoff(pid peer.ID) {
	s.mu.Lock()
	delete(s.backoff, pid)
	s.mu.Unlock()
}

// connectAndSync connects to a device and runs a session until it ends.
func (s *Service) connectAndSync(user string, d app.ListedDevice, pid peer.ID) error {
	ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	err := s.connect(ctx, peer.AddrInfo{ID: pid})
	cancel()
	if err != nil {
		return err
	}
	s.reached(pid)
	dek, err := s.rep.SyncDEK(s.ctx, user)
	if err != nil {
		return err
	}
	err = s.runInitiator(s.ctx, user, dek, pid, false, false)
	if err == nil || errors.Is(err, errSessionEnded) {
		s.resetBackoff(pid)
		return nil
	}
	return err
}

// mdnsNotifee adds the addresses of devices found on the local network.
type mdnsNotifee Service

func (n *mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	s := (*Service)(n)
	if ai.ID == s.h.ID() {
		return
	}
	s.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, 10*time.Minute)
	s.resetBackoff(ai.ID)
	s.wakeUp()
}
