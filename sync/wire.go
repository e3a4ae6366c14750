package p2psync

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/secure-personal-profile/spp/app"
)

// Protocol ids: a new wire format gets a new version.
const (
	PairProtocol = "/spp/pair/1.0.0"
	// 2.0.0: compacted operations travel as bare identities (wireOp.G),
	// which a 1.0.0 peer would take for writes of nothing.
	// 3.0.0: shares carry timed verification tokens, found by
	// crypto.TokenIndex; a 2.0.0 device looks them up by SHA-256 alone,
	// a form no cell holds for them, so another account there could take
	// that form and answer for the share (docs/sync.md).
	// 4.0.0: a new share is one cell, its record sealed in its token_hash
	// cell; a 3.0.0 device would wait for a "data" cell that never comes
	// and neither show nor answer it.
	SyncProtocol = "/spp/sync/4.0.0"
)

// maxFrame bounds one message on the wire once the peer is authenticated
// (a batch of operations holding credential images is the largest).
const maxFrame = 96 << 20

// maxPreAuthFrame bounds every message before the peer is authenticated
// (pairing, and a sync stream's hello): none needs more, and a stranger
// must not make this device allocate and read 96 MiB.
const maxPreAuthFrame = 64 << 10

// msg is every message of both protocols; T says which it is.
type msg struct {
	T string `json:"t"`

	// pairing
	Offer  string `json:"offer,omitempty"`
	Nonce  []byte `json:"nonce,omitempty"`
	MAC    []byte `json:"mac,omitempty"`
	Sealed []byte `json:"sealed,omitempty"`
	Name   string `json:"name,omitempty"`
	Error  string `json:"error,omitempty"`

	// both
	Device string `json:"device,omitempty"`
	List   []byte `json:"list,omitempty"`

	// sync
	User   string           `json:"user,omitempty"`
	Vector map[string]int64 `json:"vector,omitempty"`
	Ops    []wireOp         `json:"ops,omitempty"`
}

// Message types.
const (
	tPair      = "pair"      // joiner → host: offer id, nonce, device id
	tChallenge = "challenge" // host → joiner: nonce, host's proof
	tProof     = "proof"     // joiner → host: joiner's proof
	tBundle    = "bundle"    // host → joiner: the sealed account record
	tConfirm   = "confirm"   // joiner → host: proof of the data key, device name
	tAbort     = "abort"     // joiner → host: the password did not open the key
	tWelcome   = "welcome"   // host → joiner: the signed device list
	tError     = "error"     // either: why the exchange stops

	tHello  = "hello"  // sync: user, device, signed list, vector
	tOps    = "ops"    // sync: a batch of operations
	tSynced = "synced" // sync: the sender sent everything it had
	tPing   = "ping"   // sync: keeps an idle stream's deadline alive
)

// wireOp is an operation on the wire: values are sealed already.
type wireOp struct {
	D string `json:"d"`
	N int64  `json:"n"`
	H uint64 `json:"h"`
	U string `json:"u"`
	E string `json:"e"`
	I string `json:"i"`
	F string `json:"f"`
	V []byte `json:"v"`
	C []byte `json:"c"`
	X bool   `json:"x,omitempty"`
	G bool   `json:"g,omitempty"` // compacted: D, N, H only (app.Op.Compacted)
}

func toWire(ops []app.Op) []wireOp {
	out := make([]wireOp, len(ops))
	for i, o := range ops {
		out[i] = wireOp{D: o.Device, N: o.Counter, H: o.HLC, U: o.UserID, E: o.Entity, I: o.ID, F: o.Field, V: o.Value, C: o.Clear, X: o.Deleted, G: o.Compacted}
	}
	return out
}

func fromWire(ops []wireOp) []app.Op {
	out := make([]app.Op, len(ops))
	for i, o := range ops {
		out[i] = app.Op{Device: o.D, Counter: o.N, HLC: o.H, UserID: o.U, Entity: o.E, ID: o.I, Field: o.F, Value: o.V, Clear: o.C, Deleted: o.X, Compacted: o.G}
	}
	return out
}

// tap, when set (by tests), sees every frame this process writes or
// reads, so a test can show what crossed the wire.
var tap atomic.Pointer[func(written bool, frame []byte)]

// conn frames messages on a stream: a uvarint length, then JSON. Every
// read and write has a deadline.
type conn struct {
	s     network.Stream
	r     *bufio.Reader
	limit uint64 // the largest frame read accepts: maxPreAuthFrame until authenticated
}

func newConn(s network.Stream) *conn {
	return &conn{s: s, r: bufio.NewReaderSize(s, 64<<10), limit: maxPreAuthFrame}
}

// authenticated lifts the frame bound once the peer is admitted.
func (c *conn) authenticated() { c.limit = maxFrame }

func (c *conn) write(m *msg, timeout time.Duration) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxFrame {
		return fmt.Errorf("message of %d bytes is too large", len(b))
	}
	if f := tap.Load(); f != nil {
		(*f)(true, b)
	}
	buf := make([]byte, 0, len(b)+binary.MaxVarintLen64)
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	buf = append(buf, b...)
	if err := c.s.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err = c.s.Write(buf)
	return err
}

var (
	errFrame         = errors.New("malformed frame")
	errFrameTooLarge = errors.New("frame too large")
)

func (c *conn) read(timeout time.Duration) (*msg, error) {
	if err := c.s.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	n, err := binary.ReadUvarint(c.r)
	if err != nil {
		return nil, err
	}
	if n > c.limit {
		// Refused before a byte of it is read or allocated.
		return nil, errFrameTooLarge
	}
	if n == 0 {
		return nil, errFrame
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		return nil, err
	}
	if f := tap.Load(); f != nil {
		(*f)(false, b)
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil || m.T == "" {
		return nil, errFrame
	}
	return &m, nil
}

// expect reads a message and checks its type; an error message from the
// other side comes back as errRemote.
func (c *conn) expect(t string, timeout time.Duration) (*msg, error) {
	m, err := c.read(timeout)
	if err != nil {
		return nil, err
	}
	if m.T == tError {
		return nil, &remoteError{m.Error}
	}
	if m.T != t {
		return nil, fmt.Errorf("got %q, want %q", m.T, t)
	}
	return m, nil
}

type remoteError struct{ reason string }

func (e *remoteError) Error() string { return "peer refused: " + e.reason }
