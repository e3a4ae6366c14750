package app

import (
	"sync"
	"time"
)

// Events tell a user interface on this device, at once, of what happened
// to a user's profile without the user acting: a responder was granted
// emergency access; a third party asked for a value. Delivery is in-process and best-effort: a subscriber
// that falls behind loses events rather than slowing the use case (the
// emergency log stays the record), and the user's other devices learn of
// a grant by sync.

// Event kinds.
const (
	EventEmergencyGrant = "emergency_grant"
	EventRequest        = "request" // a third party's request waits for the user (NewRequest)
)

// Event is one thing that happened to a user's profile. It carries no
// profile value and no secret.
type Event struct {
	Kind                  string
	UserID                string
	At                    time.Time
	LogID                 string // the emergency log entry (emergency_grant)
	ResponderID           string
	ResponderName         string
	ResponderOrganization string
	ResponderVerified     bool
	Via                   string // api | page
	// A third party's request (request): its id, who asks (the service id
	// it gave) and for which claim. RequesterVerified: its callback on
	// RequesterDomain answered the request's challenge (requestproof.go);
	// otherwise the service id is only the name it chose.
	RequestID         string
	ServiceID         string
	InfoField         string
	RequesterVerified bool
	RequesterDomain   string
}

// eventBuffer is how many events a subscriber may have unread before
// newer ones are dropped for it.
const eventBuffer = 16

type subscription struct {
	userID string
	ch     chan Event
}

// subscribers are the open subscriptions of each App. A package variable
// rather than a field: an App without subscribers holds no entry.
var subscribers struct {
	sync.Mutex
	byApp map[*core]map[*subscription]struct{}
}

// Subscribe returns a channel of the user's events on this device and a
// function that ends the subscription and closes the channel (calling it
// again does nothing).
func (a *core) Subscribe(userID string) (<-chan Event, func()) {
	s := &subscription{userID: userID, ch: make(chan Event, eventBuffer)}
	subscribers.Lock()
	if subscribers.byApp == nil {
		subscribers.byApp = map[*core]map[*subscription]struct{}{}
	}
	if subscribers.byApp[a] == nil {
		subscribers.byApp[a] = map[*subscription]struct{}{}
	}
	subscribers.byApp[a][s] = struct{}{}
	subscribers.Unlock()
	return s.ch, func() {
		subscribers.Lock()
		defer subscribers.Unlock()
		subs := subscribers.byApp[a]
		if _, ok := subs[s]; !ok {
			return
		}
		delete(subs, s)
		close(s.ch)
		if len(subs) == 0 {
			delete(subscribers.byApp, a)
		}
	}
}

// publish hands e to every subscriber of its user without waiting: a
// subscriber whose buffer is full misses it.
func (a *core) publish(e Event) {
	subscribers.Lock()
	defer subscribers.Unlock()
	for s := range subscribers.byApp[a] {
		if s.userID != e.UserID {
			continue
		}
		select {
		case s.ch <- e:
		default:
			a.cfg.Log.Warn("event dropped: subscriber not reading", "kind", e.Kind, "user_id", e.UserID)
		}
	}
}

// publishGrant tells the user's subscribers that a responder was granted
// emergency access (the logged entry).
func (a *core) publishGrant(userID string, entry *EmergencyLogEntry) {
	a.publish(Event{
		Kind: EventEmergencyGrant, UserID: userID, At: entry.At, LogID: entry.LogID,
		ResponderID: entry.ResponderID, ResponderName: entry.ResponderName,
		ResponderOrganization: entry.ResponderOrganization, ResponderVerified: entry.Verified, Via: entry.Via,
	})
}

// publishRequest tells the user's subscribers that a third party's
// request waits for them, with what checking its domain found (nil: it
// gave no callback). A request with a callback is published once the
// check is over.
func (a *core) publishRequest(r *Request, serviceID, infoField string, proof *requestProof) {
	e := Event{Kind: EventRequest, UserID: r.UserID, At: r.CreatedAt, RequestID: r.ID, ServiceID: serviceID, InfoField: infoField}
	if proof != nil && proof.State == RequesterCheckVerified {
		e.RequesterVerified, e.RequesterDomain = true, proof.Domain
	}
	a.publish(e)
}
