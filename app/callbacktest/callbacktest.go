// Package callbacktest is a requester's challenge endpoint for tests of
// request proofs (app/requestproof.go): a TLS server for example.com and
// its subdomains that knows the request_ids its requests got (by the hash
// a challenge carries) and answers each challenge as the test says.
package callbacktest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/app/webhook"
)

// Answer answers one challenge; requestID is "" when the requester never
// learnt a request_id whose hash the challenge names.
type Answer func(w http.ResponseWriter, r *http.Request, challenge map[string]string, requestID string)

// Server is the callback. Its httptest.Server is closed with the test.
type Server struct {
	*httptest.Server
	answer Answer

	mu      sync.Mutex
	ids     map[string]string // request_id_hash → request_id
	bodies  []map[string]string
	headers []http.Header
	hold    chan struct{} // when set, answers wait until it is closed
}

// New starts a callback answering as answer says.
func New(t testing.TB, answer Answer) *Server {
	s := &Server{answer: answer, ids: map[string]string{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var ch map[string]string
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &ch)
	s.mu.Lock()
	s.bodies, s.headers = append(s.bodies, ch), append(s.headers, r.Header.Clone())
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	// The requester learns its request_id from POST /requests' answer,
	// which may come after the challenge: wait for it a little.
	var id string
	for range 200 {
		s.mu.Lock()
		id = s.ids[ch["request_id_hash"]]
		s.mu.Unlock()
		if id != "" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.answer(w, r, ch, id)
}

// Learn tells the requester a request_id its request got.
func (s *Server) Learn(requestID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[app.RequestIDHash(requestID)] = requestID
}

// Hits counts the challenges received.
func (s *Server) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// Challenge is the i-th challenge received and its request's headers.
func (s *Server) Challenge(i int) (map[string]string, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i], s.headers[i]
}

// Hold makes answers wait until release is called.
func (s *Server) Hold() (release func()) {
	h := make(chan struct{})
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	return func() { close(h) }
}

// Sender is a webhook sender that may reach private addresses (as the
// webhook tests allow) and resolves every name to the callback, whose
// certificate holds example.com and *.example.com.
func (s *Server) Sender() *webhook.Sender {
	t := s.Client().Transport.(*http.Transport).Clone()
	addr := s.Listener.Addr().String()
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return webhook.New(&http.Client{Transport: t}, true)
}

// Right is a requester's callback done right: the challenge echoed with
// its HMAC under the request_id.
func Right(w http.ResponseWriter, _ *http.Request, ch map[string]string, requestID string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"challenge": ch["challenge"], "proof": app.ChallengeProof(requestID, ch["challenge"])})
}

// Echo answers with the challenge alone, as the real domain's callback
// would for a request someone else made naming it: it proves nothing.
func Echo(w http.ResponseWriter, _ *http.Request, ch map[string]string, _ string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"challenge": ch["challenge"]})
}
