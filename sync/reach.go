package p2psync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// Reaching devices on other networks: static circuit relays (v2), and
// errors that say which relay failed.
//
// A device given relays (Config.Relays) keeps a reservation with each
// through libp2p's autorelay, and counts itself behind NAT: AutoNAT can
// only judge reachability with public addresses and a server willing to
// dial back, which a household's devices and its relay do not offer.
// Its addresses (host.Addrs: identify, pairing codes, remembered peer
// records) include RELAY/p2p-circuit for every configured relay address,
// private relay addresses too (libp2p's autorelay advertises public ones
// only). Hole punching (DCUtR) then tries to turn a relayed connection
// into a direct one; where it cannot, the devices stay relayed.

const (
	// relayRetry: how often a device reconnects to a static relay it lost
	// (and autorelay asks for a reservation again).
	relayRetry = 5 * time.Second
	// relayCheck bounds the dial that tells a relay that is down from a
	// device that is not at the relay.
	relayCheck = 5 * time.Second
	// syncNowTimeout bounds SyncNow per device when the caller sets no
	// deadline.
	syncNowTimeout = 30 * time.Second
)

// parseRelays reads Config.Relays: multiaddrs ending in /p2p/PEERID; the
// addresses of one relay given apart are merged.
func parseRelays(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	at := map[peer.ID]int{}
	for _, r := range addrs {
		ai, err := peer.AddrInfoFromString(r)
		if err != nil {
			return nil, fmt.Errorf("sync: relay %q: %w (want a multiaddr ending in /p2p/PEERID, as `spp relay` prints)", r, err)
		}
		if len(ai.Addrs) == 0 {
			return nil, fmt.Errorf("sync: relay %q: no address before /p2p/", r)
		}
		if i, ok := at[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		at[ai.ID] = len(out)
		out = append(out, *ai)
	}
	return out, nil
}

// circuitAddrs are the addresses this device is reached at through its
// relays: RELAYADDR/p2p/RELAY/p2p-circuit.
func circuitAddrs(relays []peer.AddrInfo) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, r := range relays {
		circuit := ma.StringCast("/p2p/" + r.ID.String() + "/p2p-circuit")
		for _, a := range r.Addrs {
			out = append(out, a.Encapsulate(circuit))
		}
	}
	return out
}

// relayOptions are the libp2p options of a device with static relays.
func relayOptions(relays []peer.AddrInfo) []libp2p.Option {
	circuits := circuitAddrs(relays)
	return []libp2p.Option{
		libp2p.EnableAutoRelayWithStaticRelays(relays,
			autorelay.WithNumRelays(len(relays)),
			autorelay.WithBootDelay(0),
			// A relay that restarts is asked again within seconds, not
			// the half-minute and hour autorelay waits for relays it
			// found by itself.
			autorelay.WithMinInterval(relayRetry),
			autorelay.WithBackoff(time.Minute)),
		libp2p.AddrsFactory(func(addrs []ma.Multiaddr) []ma.Multiaddr {
			out := make([]ma.Multiaddr, 0, len(addrs)+len(circuits))
			out = append(out, addrs...)
			return append(out, circuits...)
		}),
	}
}

// RelayError says that a device was not reached, directly or through a
// circuit relay, and names the relay: either the relay itself is not
// reachable, or it is and the device is not connected to it (the device
// is offline, or holds no reservation there yet).
type RelayError struct {
	Device string   // the device's peer id
	Relay  string   // the relay's peer id
	Addrs  []string // where the relay was dialled
	Up     bool     // the relay answered
	Err    error    // why the relay was not reached (Up false), else why the device was not
}

func (e *RelayError) Error() string {
	where := strings.Join(e.Addrs, ", ")
	if e.Up {
		return fmt.Sprintf("device %s not reached, directly or through relay %s: the relay answers (%s) but the device is not connected to it (offline, or no reservation there yet)", e.Device, e.Relay, where)
	}
	return fmt.Sprintf("device %s not reached, directly or through relay %s: the relay is not reachable (%s)", e.Device, e.Relay, dialCause(e.Err))
}

func (e *RelayError) Unwrap() error { return e.Err }

// dialCause is a dial error in one line: per address, why it failed.
func dialCause(err error) string {
	var de *swarm.DialError
	if errors.As(err, &de) && len(de.DialErrors) > 0 {
		parts := make([]string, 0, len(de.DialErrors))
		for _, te := range de.DialErrors {
			parts = append(parts, te.Address.String()+": "+te.Cause.Error())
		}
		return strings.Join(parts, "; ")
	}
	if errors.Is(err, swarm.ErrDialBackoff) {
		return "dialled moments ago without success; tried again shortly"
	}
	return err.Error()
}

// connect connects to a device (a limited, relayed connection will do).
// When that fails and the device has circuit addresses, the error names
// each relay and says whether it is up (RelayError).
func (s *Service) connect(ctx context.Context, ai peer.AddrInfo) error {
	err := s.h.Connect(network.WithAllowLimitedConn(ctx, "spp"), ai)
	if err == nil {
		return nil
	}
	return s.explain(ai, err)
}

// explain turns a failed dial of a device into RelayErrors, one per relay
// among the device's addresses; with none, the error stays as it is.
func (s *Service) explain(ai peer.AddrInfo, dialErr error) error {
	var order []peer.ID
	via := map[peer.ID][]ma.Multiaddr{}
	for _, a := range append(append([]ma.Multiaddr(nil), ai.Addrs...), s.h.Peerstore().Addrs(ai.ID)...) {
		relayPart, rest := ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_CIRCUIT })
		if len(rest) == 0 || len(relayPart) == 0 {
			continue
		}
		ri, err := peer.AddrInfoFromP2pAddr(relayPart)
		if err != nil || ri.ID == s.h.ID() {
			continue
		}
		if _, ok := via[ri.ID]; !ok {
			order = append(order, ri.ID)
		}
		via[ri.ID] = append(via[ri.ID], ri.Addrs...)
	}
	if len(order) == 0 {
		return dialErr
	}
	var errs []error
	for _, rid := range order {
		addrs := ma.Unique(via[rid])
		re := &RelayError{Device: ai.ID.String(), Relay: rid.String(), Err: dialErr}
		for _, a := range addrs {
			re.Addrs = append(re.Addrs, a.String())
		}
		if s.h.Network().Connectedness(rid) == network.Connected {
			re.Up = true
		} else {
			// The device's dial may have used up the caller's deadline:
			// the relay gets a few seconds of its own, and a dial of its
			// own (not the swarm's backoff), so the error says what the
			// relay's address answers now.
			if sw, ok := s.h.Network().(*swarm.Swarm); ok {
				sw.Backoff().Clear(rid)
			}
			ctx, cancel := context.WithTimeout(s.ctx, relayCheck)
			err := s.h.Connect(ctx, peer.AddrInfo{ID: rid, Addrs: addrs})
			cancel()
			if err == nil {
				re.Up = true
			} else {
				re.Err = err
			}
		}
		errs = append(errs, re)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// notReached logs a failed dial of a device: once per distinct reason at
// Warn when a relay is involved (the user may need to act: start the
// relay, check the --relay address), else at Debug (a device that is
// simply off).
func (s *Service) notReached(user, device string, pid peer.ID, err error) {
	if errors.Is(err, ErrOtherVersion) {
		// Once until a session with it runs (touch), whatever reached
		// says of the connection: it connects, then refuses the protocol.
		k := sessionKey{user, device}
		s.mu.Lock()
		seen := s.otherVersion[k]
		s.otherVersion[k] = true
		s.mu.Unlock()
		if seen {
			s.log.Debug("sync: device runs another version", "device", device, "err", err)
			return
		}
		s.log.Warn("sync: device runs another version", "user_id", user, "device", device, "err", err.Error())
		return
	}
	var re *RelayError
	if !errors.As(err, &re) {
		s.log.Debug("sync: device not reached", "device", device, "err", err)
		return
	}
	msg := err.Error()
	s.mu.Lock()
	same := s.unreached[pid] == msg
	s.unreached[pid] = msg
	s.mu.Unlock()
	if same {
		s.log.Debug("sync: device not reached", "device", device, "err", msg)
		return
	}
	s.log.Warn("sync: device not reached", "user_id", user, "device", device, "err", msg)
}

// reached notes a device connected again after a relay failure.
func (s *Service) reached(pid peer.ID) {
	s.mu.Lock()
	_, was := s.unreached[pid]
	delete(s.unreached, pid)
	s.mu.Unlock()
	if was {
		s.log.Info("sync: device reached again", "peer", pid.String())
	}
}

// connected hears of every new connection: a device may be worth a
// session now; a relay back means the devices behind it are worth trying
// at once (their backoff, this service's and the swarm's, is dropped).
func (s *Service) connected(pid peer.ID) {
	if _, ok := s.relays[pid]; ok {
		s.mu.Lock()
		peers := make([]peer.ID, 0, len(s.backoff))
		for p := range s.backoff {
			peers = append(peers, p)
		}
		clear(s.backoff)
		down := s.relayDown[pid]
		delete(s.relayDown, pid)
		s.mu.Unlock()
		if sw, ok := s.h.Network().(*swarm.Swarm); ok {
			for _, p := range peers {
				sw.Backoff().Clear(p)
			}
		}
		if down {
			s.log.Info("sync: relay reachable again", "relay", pid.String())
		}
	}
	s.wakeUp()
}

// keepRelays reconnects to the static relays that dropped, every
// relayRetry (the swarm's growing dial backoff would otherwise keep a
// relay that was down for a while unused for minutes after it returns).
func (s *Service) keepRelays() {
	for id, ai := range s.relays {
		if s.h.Network().Connectedness(id) == network.Connected {
			continue
		}
		s.mu.Lock()
		due := time.Since(s.relayTried[id]) >= relayRetry
		if due {
			s.relayTried[id] = time.Now()
		}
		s.mu.Unlock()
		if !due {
			continue
		}
		if sw, ok := s.h.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(id)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
			err := s.h.Connect(ctx, ai)
			cancel()
			if err == nil || s.ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			was := s.relayDown[id]
			s.relayDown[id] = true
			s.mu.Unlock()
			if !was {
				s.log.Warn("sync: relay not reachable; devices behind it are not reached through it until it returns", "relay", id.String(), "err", dialCause(err))
			}
		}()
	}
}

// SyncNow exchanges a user's operations with each of the user's other
// listed devices now. It returns once a session with every one of them
// is open and has caught up (a session already open counts at once), or
// an error per device not reached: a RelayError names the relay when the
// device has circuit addresses. The service syncs in the background
// anyway; SyncNow is for a "sync now" action, and for tests.
func (s *Service) SyncNow(ctx context.Context, userID string) error {
	dek, err := s.rep.SyncDEK(ctx, userID)
	if err != nil {
		return fmt.Errorf("sync: this device does not sync that profile: %w", err)
	}
	list, _, err := s.rep.DeviceList(ctx, userID, dek)
	if err != nil {
		return fmt.Errorf("sync: reading the device list: %w", err)
	}
	if list == nil {
		return nil
	}
	var errs []error
	for _, d := range list.Devices {
		if d.DeviceID == s.self {
			continue
		}
		if err := s.syncWith(ctx, userID, d.PeerID); err != nil {
			errs = append(errs, fmt.Errorf("sync with device %s: %w", d.DeviceID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) syncWith(ctx context.Context, user, peerID string) error {
	pid, err := peer.Decode(peerID)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, syncNowTimeout)
		defer cancel()
	}
	if s.caughtUp(user, peerID) {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	err = s.connect(dctx, peer.AddrInfo{ID: pid})
	cancel()
	if err != nil {
		return err
	}
	s.reached(pid)
	// A session starts from either side (maintain, or the peer's dial);
	// wait for it to catch up.
	s.resetBackoff(pid)
	s.wakeUp()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !s.caughtUp(user, peerID) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("connected, but no exchange finished: %w", ctx.Err())
		case <-s.ctx.Done():
			return errors.New("sync stopped")
		case <-t.C:
		}
	}
	return nil
}

// caughtUp reports whether a long-lived session with the peer runs and
// has received the peer's synced (anti-entropy done; pushes follow).
func (s *Service) caughtUp(user, peerID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions[sessionKey{user, peerID}] {
		if ss.once {
			continue
		}
		select {
		case <-ss.gotSynced:
			return true
		default:
		}
	}
	return false
}
