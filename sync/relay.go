package p2psync

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// A circuit relay (v2) for devices on different networks (`spp relay`).
// It is a bare libp2p host with go-libp2p's relay service and nothing
// else: no store, no pairing or sync protocol. Devices keep a
// reservation there; another device then reaches one through
// RELAY/p2p-circuit, and the two try hole punching (DCUtR) for a direct
// connection. What passes through is libp2p's end-to-end encrypted
// streams between the two devices (Noise or TLS inside the circuit),
// carrying operations sealed under the profile's data key: the relay sees
// two peer ids and byte counts, never the profile.

// RelayKeyFile is the name of the relay's identity key in its data
// directory.
const RelayKeyFile = "relay.key"

// DefaultRelayListen is where `spp relay` listens without --listen.
var DefaultRelayListen = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}

// RelayLimits bound what a relay gives its users.
type RelayLimits struct {
	// MaxReservations: devices holding a reservation at once.
	MaxReservations int
	// MaxCircuits: relayed connections open at once to or from one device.
	MaxCircuits int
	// MaxReservationsPerIP: reservations from one IP address.
	MaxReservationsPerIP int
	// CircuitBytes: bytes one relayed connection carries in each direction
	// before the relay resets it (the devices re-dial and sync resumes where
	// it stopped).
	CircuitBytes int64
	// CircuitDuration: how long one relayed connection lasts before the
	// relay resets it.
	CircuitDuration time.Duration
	// ReservationTTL: how long a reservation lasts unless renewed (devices
	// renew theirs before it ends).
	ReservationTTL time.Duration
}

// DefaultRelayLimits are the limits of `spp relay` without flags: enough
// for a household's devices and a first sync of a profile with pictures,
// small enough for a small machine.
func DefaultRelayLimits() RelayLimits {
	return RelayLimits{
		MaxReservations:      128,
		MaxCircuits:          16,
		MaxReservationsPerIP: 8,
		CircuitBytes:         64 << 20,
		CircuitDuration:      30 * time.Minute,
		ReservationTTL:       time.Hour,
	}
}

// RelayConfig configures a relay; zero values take the defaults.
type RelayConfig struct {
	// Listen are the multiaddrs to listen on (DefaultRelayListen).
	Listen []string
	// DataDir keeps the relay's identity key (RelayKeyFile), so its peer
	// id, and the address devices were given, survive restarts. Empty: a
	// new identity each start.
	DataDir string
	// Limits (DefaultRelayLimits); a zero field takes its default.
	Limits RelayLimits
	Log    *slog.Logger
}

// Relay is a running circuit relay.
type Relay struct {
	h     host.Host
	svc   *relay.Relay
	log   *slog.Logger
	limit RelayLimits
}

// StartRelay starts a circuit relay v2.
func StartRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = DefaultRelayListen
	}
	lim := cfg.Limits
	def := DefaultRelayLimits()
	if lim.MaxReservations <= 0 {
		lim.MaxReservations = def.MaxReservations
	}
	if lim.MaxCircuits <= 0 {
		lim.MaxCircuits = def.MaxCircuits
	}
	if lim.MaxReservationsPerIP <= 0 {
		lim.MaxReservationsPerIP = def.MaxReservationsPerIP
	}
	if lim.CircuitBytes <= 0 {
		lim.CircuitBytes = def.CircuitBytes
	}
	if lim.CircuitDuration <= 0 {
		lim.CircuitDuration = def.CircuitDuration
	}
	if lim.ReservationTTL <= 0 {
		lim.ReservationTTL = def.ReservationTTL
	}
	key, err := relayKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.UserAgent("spp-relay/1"),
		// A relay is not a relay client: it dials no circuit itself.
		libp2p.DisableRelay(),
	)
	if err != nil {
		return nil, fmt.Errorf("relay: starting libp2p: %w", err)
	}
	res := relay.DefaultResources()
	res.Limit = &relay.RelayLimit{Duration: lim.CircuitDuration, Data: lim.CircuitBytes}
	res.ReservationTTL = lim.ReservationTTL
	res.MaxReservations = lim.MaxReservations
	res.MaxCircuits = lim.MaxCircuits
	res.MaxReservationsPerIP = lim.MaxReservationsPerIP
	if res.MaxReservationsPerASN < lim.MaxReservationsPerIP {
		res.MaxReservationsPerASN = lim.MaxReservationsPerIP
	}
	// The relay service runs whatever AutoNAT would say of this host: it
	// was started to be one (libp2p.EnableRelayService would wait for a
	// public reachability verdict that a relay on a private network
	// never gets).
	svc, err := relay.New(h, relay.WithResources(res))
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("relay: starting the relay service: %w", err)
	}
	r := &Relay{h: h, svc: svc, log: cfg.Log, limit: lim}
	r.log.Info("relay running", "peer_id", h.ID().String(), "addrs", r.Addrs(),
		"max_reservations", lim.MaxReservations, "max_circuits_per_device", lim.MaxCircuits,
		"circuit_bytes", lim.CircuitBytes, "circuit_duration", lim.CircuitDuration.String())
	return r, nil
}

// relayKey reads the relay's identity key from dir, making it on first
// use; without a dir it makes a new one.
func relayKey(dir string) (lcrypto.PrivKey, error) {
	gen := func() (lcrypto.PrivKey, error) {
		k, _, err := lcrypto.GenerateEd25519Key(nil)
		return k, err
	}
	if dir == "" {
		return gen()
	}
	path := filepath.Join(dir, RelayKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		k, err := lcrypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("relay: identity key %s: %w", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("relay: identity key: %w", err)
	}
	k, err := gen()
	if err != nil {
		return nil, err
	}
	b, err := lcrypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("relay: data directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, RelayKeyFile+".*")
	if err != nil {
		return nil, fmt.Errorf("relay: identity key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("relay: identity key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("relay: identity key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("relay: identity key: %w", err)
	}
	// CreateTemp made it 0600; a link keeps a key another start wrote
	// meanwhile (then that one is read).
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return relayKey(dir)
	} else if err != nil {
		return nil, fmt.Errorf("relay: identity key: %w", err)
	}
	return k, nil
}

// PeerID is the relay's peer id.
func (r *Relay) PeerID() string { return r.h.ID().String() }

// Addrs are the relay's full multiaddrs, with /p2p/PEERID: what devices
// are given with --relay.
func (r *Relay) Addrs() []string {
	suffix := ma.StringCast("/p2p/" + r.h.ID().String())
	var out []string
	for _, a := range r.h.Addrs() {
		out = append(out, a.Encapsulate(suffix).String())
	}
	sort.Strings(out)
	return out
}

// Limits are the limits the relay runs with.
func (r *Relay) Limits() RelayLimits { return r.limit }

// Host is the libp2p host (tests).
func (r *Relay) Host() host.Host { return r.h }

// Close stops the relay: every circuit through it ends.
func (r *Relay) Close() error {
	r.svc.Close()
	return r.h.Close()
}
