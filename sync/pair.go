package p2psync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/crypto"
)

// Pairing (/spp/pair/1.0.0). The host showed a code: its peer id and
// addresses, an offer id and a 256-bit one-time secret. The secret never
// crosses the wire:
//
//	joiner → host  pair{offer, nonceJ, deviceJ}
//	host → joiner  challenge{nonceH, MAC(k, "host", T)}
//	joiner → host  proof{MAC(k, "join", T)}
//	host → joiner  bundle{Seal(k', account record, T)}
//	joiner → host  confirm{MAC(k'', "confirm", T), name}   (or abort)
//	host → joiner  welcome{signed device list}
//
// with T the transcript (offer id, both peer ids as libp2p authenticated
// them, the joiner's device id, both nonces), k and k' keys derived from the
// secret (k' also from T), and k'' a key derived from the user's data key,
// which the joiner has only if the password it was given opens the record.
// The offer is spent by the first attempt, right or wrong.

func transcript(offer, hostPeer, joinPeer, joinDevice string, nonceJ, nonceH []byte) string {
	var b []byte
	b = append(b, "spp-pair-v1"...)
	for _, part := range [][]byte{[]byte(offer), []byte(hostPeer), []byte(joinPeer), []byte(joinDevice), nonceJ, nonceH} {
		b = binary.AppendUvarint(b, uint64(len(part)))
		b = append(b, part...)
	}
	return string(b)
}

// The transcript's keys and proofs (frozen in testdata/pairing-v1.json:
// a change here breaks pairing with every device already in use).

func macKey(secret []byte) []byte { return crypto.DeriveSubkey(secret, "spp/pair/1/mac") }

// hostProof and joinProof are the two sides' proofs of the secret.
func hostProof(k []byte, t string) []byte { return crypto.KeyedHash(k, "host\x00"+t) }
func joinProof(k []byte, t string) []byte { return crypto.KeyedHash(k, "join\x00"+t) }

func sealKey(secret []byte, t string) []byte {
	h := sha256.Sum256([]byte(t))
	return crypto.DeriveSubkey(append(append([]byte(nil), secret...), h[:]...), "spp/pair/1/keys")
}

func confirmMAC(dek []byte, t string) []byte {
	return crypto.KeyedHash(crypto.DeriveSubkey(dek, "spp/pair/1/confirm"), "confirm\x00"+t)
}

type bundleWire struct {
	UserID       string `json:"user_id"`
	ProfileID    string `json:"profile_id"`
	KDF          string `json:"kdf"`
	WrappedDEK   []byte `json:"wrapped_dek"`
	HostDeviceID string `json:"host_device_id"`
}

// sealBundle seals the account record for the joiner, bound to the
// transcript.
func sealBundle(secret []byte, t string, b *app.PairBundle) ([]byte, error) {
	body, err := json.Marshal(bundleWire{UserID: b.UserID, ProfileID: b.ProfileID, KDF: b.KDF, WrappedDEK: b.WrappedDEK, HostDeviceID: b.HostDeviceID})
	if err != nil {
		return nil, err
	}
	return crypto.Seal(sealKey(secret, t), body, []byte(t))
}

// openBundle opens the host's account record (ErrPairingFailed when it
// does not open under this transcript or is incomplete).
func openBundle(secret []byte, t string, sealed []byte) (*app.PairBundle, error) {
	body, err := crypto.Open(sealKey(secret, t), sealed, []byte(t))
	if err != nil {
		return nil, app.ErrPairingFailed
	}
	var bw bundleWire
	if err := json.Unmarshal(body, &bw); err != nil || bw.UserID == "" || bw.HostDeviceID == "" {
		return nil, app.ErrPairingFailed
	}
	return &app.PairBundle{UserID: bw.UserID, ProfileID: bw.ProfileID, KDF: bw.KDF, WrappedDEK: bw.WrappedDEK, HostDeviceID: bw.HostDeviceID}, nil
}

// handlePair is the host's side.
func (s *Service) handlePair(st network.Stream) {
	st.SetDeadline(time.Now().Add(pairTimeout))
	c := newConn(st)
	joinPeer := st.Conn().RemotePeer()
	fail := func(reason string, err error) {
		s.log.Warn("pairing refused", "peer", joinPeer.String(), "reason", reason, "err", err)
		// The reason goes over before the stream closes; a stream that
		// cannot even carry it is reset.
		if c.write(&msg{T: tError, Error: reason}, ioTimeout) != nil || st.Close() != nil {
			st.Reset()
		}
	}
	m, err := c.expect(tPair, pairTimeout)
	if err != nil {
		fail("protocol", err)
		return
	}
	offer := s.takeOffer(m.Offer)
	if offer == nil {
		fail("expired", nil)
		return
	}
	if len(m.Nonce) != 32 || m.Device == "" || len(m.Device) > 128 {
		fail("protocol", errors.New("bad pair message"))
		return
	}
	nonceH, err := crypto.NewKey()
	if err != nil {
		fail("internal", err)
		return
	}
	t := transcript(offer.ID, s.PeerID(), joinPeer.String(), m.Device, m.Nonce, nonceH)
	k := macKey(offer.Secret)
	if err := c.write(&msg{T: tChallenge, Nonce: nonceH, MAC: hostProof(k, t)}, ioTimeout); err != nil {
		st.Reset()
		return
	}
	proof, err := c.expect(tProof, pairTimeout)
	if err != nil {
		fail("protocol", err)
		return
	}
	if !crypto.Equal(proof.MAC, joinProof(k, t)) {
		fail("failed", errors.New("the joiner does not know the secret"))
		return
	}
	// Both sides proved the secret: the account record goes over.
	ctx, cancel := context.WithTimeout(s.ctx, pairTimeout)
	defer cancel()
	b, err := s.rep.PairBundle(ctx, offer.UserID)
	if err != nil {
		fail("internal", err)
		return
	}
	sealed, err := sealBundle(offer.Secret, t, b)
	if err != nil {
		fail("internal", err)
		return
	}
	if err := c.write(&msg{T: tBundle, Sealed: sealed}, ioTimeout); err != nil {
		st.Reset()
		return
	}
	conf, err := c.read(pairTimeout)
	if err != nil || conf.T != tConfirm {
		s.log.Info("pairing: the new device did not confirm (wrong password?)", "peer", joinPeer.String())
		st.Reset()
		return
	}
	// The domain lists the device (and remembers how to reach it) once
	// the joiner's confirmation proves the data key.
	joiner := app.PeerRecord{UserID: offer.UserID, DeviceID: m.Device, PeerID: joinPeer.String(), Addrs: s.knownAddrs(joinPeer)}
	signed, err := s.rep.AddDevice(ctx, offer.UserID, joiner, conf.Name, func(dek []byte) bool {
		return crypto.Equal(conf.MAC, confirmMAC(dek, t))
	})
	if errors.Is(err, app.ErrPairingFailed) {
		fail("failed", errors.New("the joiner does not hold the data key"))
		return
	}
	if err != nil {
		fail("internal", err)
		return
	}
	if err := c.write(&msg{T: tWelcome, List: signed}, ioTimeout); err != nil {
		st.Reset()
		return
	}
	st.Close()
	s.log.Info("device paired", "user_id", offer.UserID, "device", m.Device, "peer", joinPeer.String())
	s.wakeUp()
}

// Join pairs this device, as the new device, with the host of code: the
// pairing protocol (verify turns the host's bundle into the data key),
// then the first full sync with the host, tried again if the stream breaks
// off (what arrived stays: delivery is idempotent). It is the only call
// the domain makes to join (app.Syncer).
func (s *Service) Join(ctx context.Context, code *app.PairCode, name string, verify func(*app.PairBundle) ([]byte, error)) (*app.Joined, error) {
	j, pid, err := s.pair(ctx, code, name, verify)
	if err != nil {
		return nil, err
	}
	for try := 1; ; try++ {
		err := s.syncOnce(ctx, j.Bundle.UserID, j.DEK, pid)
		if err == nil {
			return j, nil
		}
		s.log.Warn("join: first sync failed", "try", try, "err", err)
		if errors.Is(err, ErrOtherVersion) {
			return nil, app.ErrJoinOtherVersion // trying again changes nothing
		}
		if try == 3 || ctx.Err() != nil {
			return nil, app.ErrJoinIncomplete
		}
		select {
		case <-time.After(time.Duration(try) * 200 * time.Millisecond):
		case <-ctx.Done():
			return nil, app.ErrJoinIncomplete
		}
	}
}

// unreached is app.ErrPeerUnreached with its cause (a RelayError names
// the relay): the client sees the same message and code, the log and
// Error() the cause.
func unreached(cause error) error {
	e := *app.ErrPeerUnreached
	e.Err = cause
	return &e
}

// pair runs the pairing protocol as the new device.
func (s *Service) pair(ctx context.Context, code *app.PairCode, name string, verify func(*app.PairBundle) ([]byte, error)) (*app.Joined, peer.ID, error) {
	pid, err := peer.Decode(code.PeerID)
	if err != nil {
		return nil, "", app.ErrPairingFailed
	}
	var addrs []ma.Multiaddr
	for _, a := range code.Addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			addrs = append(addrs, m)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, pairTimeout)
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, dialTimeout)
	defer dcancel()
	if err := s.connect(dctx, peer.AddrInfo{ID: pid, Addrs: addrs}); err != nil {
		s.log.Warn("pairing: host not reached", "err", err)
		return nil, "", unreached(err)
	}
	st, err := s.h.NewStream(network.WithAllowLimitedConn(dctx, "spp-pair"), pid, PairProtocol)
	if err != nil {
		s.log.Warn("pairing: host not reached", "err", err)
		return nil, "", app.ErrPeerUnreached
	}
	st.SetDeadline(time.Now().Add(pairTimeout))
	j, err := s.join(newConn(st), pid, code, name, verify)
	if err != nil {
		st.Reset()
		return nil, "", err
	}
	st.Close()
	return j, pid, nil
}

func (s *Service) join(c *conn, pid peer.ID, code *app.PairCode, name string, verify func(*app.PairBundle) ([]byte, error)) (*app.Joined, error) {
	protocolErr := func(err error) error {
		var re *remoteError
		if errors.As(err, &re) && re.reason == "expired" {
			return app.ErrCodeExpired
		}
		if errors.As(err, &re) && re.reason == "failed" {
			return app.ErrPairingFailed
		}
		s.log.Warn("pairing: exchange failed", "err", err)
		return app.ErrPeerUnreached
	}
	nonceJ, err := crypto.NewKey()
	if err != nil {
		return nil, app.Internal(err)
	}
	if err := c.write(&msg{T: tPair, Offer: code.Offer, Nonce: nonceJ, Device: s.self}, ioTimeout); err != nil {
		return nil, protocolErr(err)
	}
	ch, err := c.expect(tChallenge, pairTimeout)
	if err != nil {
		return nil, protocolErr(err)
	}
	t := transcript(code.Offer, pid.String(), s.PeerID(), s.self, nonceJ, ch.Nonce)
	k := macKey(code.Secret)
	if len(ch.Nonce) != 32 || !crypto.Equal(ch.MAC, hostProof(k, t)) {
		// The device answering does not know the secret: send nothing.
		s.log.Warn("pairing: the host did not prove the secret", "peer", pid.String())
		return nil, app.ErrPairingFailed
	}
	if err := c.write(&msg{T: tProof, MAC: joinProof(k, t)}, ioTimeout); err != nil {
		return nil, protocolErr(err)
	}
	bm, err := c.expect(tBundle, pairTimeout)
	if err != nil {
		return nil, protocolErr(err)
	}
	bundle, err := openBundle(code.Secret, t, bm.Sealed)
	if err != nil {
		return nil, err
	}
	dek, err := verify(bundle)
	if err != nil {
		c.write(&msg{T: tAbort}, ioTimeout)
		return nil, err
	}
	if err := c.write(&msg{T: tConfirm, MAC: confirmMAC(dek, t), Name: name}, ioTimeout); err != nil {
		return nil, protocolErr(err)
	}
	w, err := c.expect(tWelcome, pairTimeout)
	if err != nil {
		return nil, protocolErr(err)
	}
	// The host is remembered by the first sync's session (Replica.Met).
	return &app.Joined{Bundle: bundle, DEK: dek, HostDeviceID: bundle.HostDeviceID, HostPeerID: pid.String(), List: w.List}, nil
}
