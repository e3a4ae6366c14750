package p2psync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/secure-personal-profile/spp/app"
)

// Replication (/spp/sync/4.0.0). Each device opens one long-lived stream
// per user with each listed device it has no session with (if both open
// one at once, both keep the one opened by the lower peer id):
//
//	both  hello{user, device, signed device list, vector}
//	both  ops{…}… synced      (anti-entropy: what the other's vector lacks)
//	both  ops{…}              (pushed as soon as a change commits)
//	both  ping                (when idle, to keep the deadline)
//
// Each side accepts the stream only from a peer that the newest valid
// device list (its own, or the one the peer presents, signed by the
// profile's key) names with that device id; otherwise it resets it.

var (
	errSessionEnded = errors.New("session ended")
	errRefused      = errors.New("peer refused")
	// ErrOtherVersion: the device does not speak this version of the
	// sync protocol (SyncProtocol); they sync once both run the same.
	ErrOtherVersion = errors.New("the device runs another version of the sync protocol: upgrade both to the same version to sync")
)

type session struct {
	svc       *Service
	user      string
	dek       []byte
	device    string // the remote device id
	pid       peer.ID
	stream    network.Stream
	c         *conn
	once      bool    // a one-shot exchange (a new device's first sync)
	initiator peer.ID // who opened the stream
	admitted  uint64  // version of the device list that admitted the peer
	kick      chan struct{}
	gotSynced chan struct{}
	syncedOne sync.Once

	mu      sync.Mutex
	peerHas map[string]int64 // what the remote holds, as far as we know
}

func (ss *session) poke() {
	select {
	case ss.kick <- struct{}{}:
	default:
	}
}

// allowed decides, through the domain, whether a peer may sync a user
// with this device. It returns the version of the list that decided, or
// why not.
func (s *Service) allowed(ctx context.Context, user string, dek []byte, deviceID string, pid peer.ID, presented []byte) (bool, uint64, string) {
	v, err := s.rep.Admit(ctx, user, dek, s.PeerID(), app.ListedDevice{DeviceID: deviceID, PeerID: pid.String()}, presented)
	if err != nil {
		return false, 0, err.Error()
	}
	return true, v, ""
}

func (s *Service) hello(ctx context.Context, user string, dek []byte) (*msg, error) {
	_, signed, err := s.rep.DeviceList(ctx, user, dek)
	if err != nil {
		return nil, err
	}
	vec, err := s.rep.Vector(ctx, user)
	if err != nil {
		return nil, err
	}
	return &msg{T: tHello, User: user, Device: s.self, List: signed, Vector: vec}, nil
}

// handleSync is the responder's side.
func (s *Service) handleSync(st network.Stream) {
	remote := st.Conn().RemotePeer()
	refuse := func(reason string, args ...any) {
		s.log.Warn("sync: stream refused", append([]any{"peer", remote.String(), "reason", reason}, args...)...)
		st.Reset()
	}
	c := newConn(st)
	h, err := c.expect(tHello, ioTimeout)
	if err != nil {
		refuse("no hello", "err", err.Error())
		return
	}
	ctx := s.ctx
	dek, err := s.rep.SyncDEK(ctx, h.User)
	if err != nil {
		refuse("this device does not sync that profile")
		return
	}
	ok, version, why := s.allowed(ctx, h.User, dek, h.Device, remote, h.List)
	if !ok {
		refuse(why, "user_id", h.User, "device", h.Device)
		return
	}
	mine, err := s.hello(ctx, h.User, dek)
	if err != nil {
		refuse("internal")
		return
	}
	if err := c.write(mine, ioTimeout); err != nil {
		st.Reset()
		return
	}
	c.authenticated()
	ss := s.newSession(h.User, dek, h.Device, remote, st, c, false, h.Vector)
	ss.initiator = remote
	ss.admitted = version
	s.run(ss)
}

// versionError is err, marked ErrOtherVersion when the device refused
// the sync protocol's id (multistream's "protocols not supported").
func versionError(err error) error {
	var ns msmux.ErrNotSupported[protocol.ID]
	if errors.As(err, &ns) {
		return fmt.Errorf("%w (%v)", ErrOtherVersion, err)
	}
	return err
}

// runInitiator opens a stream to a device and runs the session until it
// ends. trusted skips the device-list check of the responder (a new
// device's first sync: the pairing authenticated the host already).
func (s *Service) runInitiator(ctx context.Context, user string, dek []byte, pid peer.ID, once, trusted bool) error {
	sctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	st, err := s.h.NewStream(network.WithAllowLimitedConn(sctx, "spp-sync"), pid, SyncProtocol)
	if err != nil {
		return versionError(err)
	}
	c := newConn(st)
	mine, err := s.hello(ctx, user, dek)
	if err != nil {
		st.Reset()
		return err
	}
	if err := c.write(mine, ioTimeout); err != nil {
		st.Reset()
		return err
	}
	h, err := c.expect(tHello, ioTimeout)
	if err != nil {
		st.Reset()
		return err
	}
	if h.User != user {
		st.Reset()
		return errRefused
	}
	version := uint64(1<<64 - 1) // trusted: no list read later cuts it off
	if !trusted {
		var ok bool
		var why string
		if ok, version, why = s.allowed(ctx, user, dek, h.Device, pid, h.List); !ok {
			s.log.Warn("sync: responder refused", "peer", pid.String(), "reason", why)
			st.Reset()
			return errRefused
		}
	}
	c.authenticated()
	ss := s.newSession(user, dek, h.Device, pid, st, c, once, h.Vector)
	ss.initiator = s.h.ID()
	ss.admitted = version
	return s.run(ss)
}

// syncOnce exchanges operations with one peer until both are caught up
// (a new device's first sync, Join).
func (s *Service) syncOnce(ctx context.Context, userID string, dek []byte, pid peer.ID) error {
	return s.runInitiator(ctx, userID, dek, pid, true, true)
}

func (s *Service) newSession(user string, dek []byte, device string, pid peer.ID, st network.Stream, c *conn, once bool, vec map[string]int64) *session {
	has := make(map[string]int64, len(vec))
	for d, n := range vec {
		has[d] = n
	}
	return &session{svc: s, user: user, dek: dek, device: device, pid: pid, stream: st, c: c, once: once,
		kick: make(chan struct{}, 1), gotSynced: make(chan struct{}), peerHas: has}
}

// run registers the session and runs its reader and writer until either
// ends; for a one-shot session, until both sides are caught up.
func (s *Service) run(ss *session) error {
	k := sessionKey{ss.user, ss.pid.String()}
	s.mu.Lock()
	if s.sessions[k] == nil {
		s.sessions[k] = map[*session]struct{}{}
	}
	if !ss.once {
		// One live session per peer and user: a newer stream from the same
		// initiator replaces an older one; between streams opened by each
		// side, both sides keep the one the lower peer id opened.
		for old := range s.sessions[k] {
			if old.once {
				continue
			}
			if old.initiator == ss.initiator || ss.initiator < old.initiator {
				old.stream.Reset()
				delete(s.sessions[k], old)
				continue
			}
			s.mu.Unlock()
			ss.stream.Reset()
			return errSessionEnded
		}
	}
	s.sessions[k][ss] = struct{}{}
	s.mu.Unlock()
	// How to reach the peer, and what it holds (its hello): the
	// acknowledgement compaction waits for before it drops a tombstone.
	if err := s.rep.Met(s.ctx, app.PeerRecord{UserID: ss.user, DeviceID: ss.device, PeerID: ss.pid.String(), Addrs: s.knownAddrs(ss.pid)}, ss.peerHas); err != nil {
		s.log.Error("sync: remembering a device", "err", err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	readErr := make(chan error, 1)
	go func() {
		readErr <- ss.read(ctx)
		cancel()
	}()
	werr := ss.write(ctx)
	var rerr error
	if ss.once && werr == nil {
		ss.stream.Close()
		rerr = <-readErr
	} else {
		cancel()
		ss.stream.Reset()
		rerr = <-readErr
	}
	cancel()
	s.mu.Lock()
	delete(s.sessions[k], ss)
	if len(s.sessions[k]) == 0 {
		delete(s.sessions, k)
	}
	last, ok := s.lastSync[sessionKey{ss.user, ss.device}]
	s.mu.Unlock()
	if ok {
		if err := s.rep.Heard(context.WithoutCancel(s.ctx), ss.user, ss.device, nil, last); err != nil {
			s.log.Error("sync: recording last sync", "err", err)
		}
	}
	s.wakeUp()
	if ss.once {
		return werr
	}
	if rerr != nil && s.ctx.Err() == nil {
		s.log.Debug("sync: session ended", "peer", ss.pid.String(), "err", rerr)
	}
	return errSessionEnded
}

func (s *Service) touch(user, device string) time.Time {
	now := s.rep.Now()
	s.mu.Lock()
	s.lastSync[sessionKey{user, device}] = now
	delete(s.otherVersion, sessionKey{user, device}) // it speaks this version
	s.mu.Unlock()
	return now
}

// read applies what the peer sends.
func (ss *session) read(ctx context.Context) error {
	s := ss.svc
	synced := false
	kinds := map[string]bool{} // entity kinds changed since the last afterChanges
	for {
		m, err := ss.c.read(idleTimeout)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch m.T {
		case tOps:
			ops := fromWire(m.Ops)
			res, err := s.rep.Apply(ctx, ss.user, ss.dek, ops)
			if err != nil {
				s.log.Error("sync: applying operations", "err", err)
				return err
			}
			for _, r := range res.Rejected {
				s.log.Warn("sync: operation rejected", "user_id", ss.user, "from_device", ss.device,
					"op_device", r.Device, "counter", r.Counter, "entity", r.Entity, "reason", r.Reason)
			}
			for _, r := range res.Stripped {
				s.log.Warn("sync: operation applied in part", "user_id", ss.user, "from_device", ss.device,
					"op_device", r.Device, "counter", r.Counter, "entity", r.Entity, "reason", r.Reason)
			}
			ss.mu.Lock()
			for _, o := range ops {
				if o.Counter > ss.peerHas[o.Device] {
					ss.peerHas[o.Device] = o.Counter
				}
			}
			ss.mu.Unlock()
			s.touch(ss.user, ss.device)
			if res.Applied > 0 && !ss.once {
				for _, o := range ops {
					kinds[o.Entity] = true
				}
				if synced {
					ss.afterChanges(ctx, kinds)
					clear(kinds)
				}
			}
		case tSynced:
			synced = true
			ss.heard(ctx, m.Vector, s.touch(ss.user, ss.device))
			ss.syncedOne.Do(func() { close(ss.gotSynced) })
			if !ss.once {
				kinds[app.EntityDeviceList] = true
				ss.afterChanges(ctx, kinds)
				clear(kinds)
			}
		case tPing:
			ss.heard(ctx, m.Vector, time.Time{})
		default:
			// Unknown messages of a later minor version are skipped.
		}
	}
}

// heard records the vector the peer reported with a synced or ping
// message (what it holds now), and the time of a synced.
func (ss *session) heard(ctx context.Context, vec map[string]int64, synced time.Time) {
	if vec == nil && synced.IsZero() {
		return
	}
	if err := ss.svc.rep.Heard(ctx, ss.user, ss.device, vec, synced); err != nil && ctx.Err() == nil {
		ss.svc.log.Error("sync: recording what a device holds", "err", err)
	}
}

// afterChanges lets the domain react to what arrived (the device list
// re-signed if two devices changed it at once, the emergency key wrapped
// for this device), then lets the service cut off devices no longer listed.
func (ss *session) afterChanges(ctx context.Context, kinds map[string]bool) {
	ss.svc.rep.AfterApply(ctx, ss.user, ss.dek, kinds)
	if kinds[app.EntityDevice] || kinds[app.EntityDeviceList] {
		ss.svc.wakeUp()
	}
}

// write sends what the peer lacks, then every change as it commits.
func (ss *session) write(ctx context.Context) error {
	s := ss.svc
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	sentSynced := false
	gotSynced := ss.gotSynced
	for {
		ss.mu.Lock()
		have := make(map[string]int64, len(ss.peerHas))
		for d, n := range ss.peerHas {
			have[d] = n
		}
		ss.mu.Unlock()
		ops, err := s.rep.OpsSince(ctx, ss.user, have, batchOps)
		if err != nil {
			return err
		}
		if len(ops) > 0 {
			for len(ops) > 0 {
				n := frameOps(ops)
				if err := ss.c.write(&msg{T: tOps, Ops: toWire(ops[:n])}, ioTimeout); err != nil {
					return err
				}
				ss.mu.Lock()
				for _, o := range ops[:n] {
					if o.Counter > ss.peerHas[o.Device] {
						ss.peerHas[o.Device] = o.Counter
					}
				}
				ss.mu.Unlock()
				ops = ops[n:]
			}
			continue
		}
		if !sentSynced {
			vec, err := s.rep.Vector(ctx, ss.user)
			if err != nil {
				return err
			}
			if err := ss.c.write(&msg{T: tSynced, Vector: vec}, ioTimeout); err != nil {
				return err
			}
			sentSynced = true
		}
		if ss.once {
			select {
			case <-gotSynced:
				return nil
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ss.kick:
		case <-gotSynced:
			if ss.once {
				return nil
			}
			// Only the first close matters; stop selecting on it.
			gotSynced = nil
		case <-ping.C:
			vec, err := s.rep.Vector(ctx, ss.user)
			if err != nil {
				return err
			}
			if err := ss.c.write(&msg{T: tPing, Vector: vec}, ioTimeout); err != nil {
				return err
			}
		}
	}
}

// frameBytes bounds the values one ops frame carries (at least one
// operation goes in each): a relay's byte limit per circuit then stops a
// session between frames, and the next circuit goes on from there.
const frameBytes = 4 << 20

// frameOps is how many of ops (in order) go in the next frame.
func frameOps(ops []app.Op) int {
	size := 0
	for i, o := range ops {
		size += len(o.Value) + len(o.Clear)
		if i > 0 && size > frameBytes {
			return i
		}
	}
	return len(ops)
}
