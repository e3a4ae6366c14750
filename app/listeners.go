package app

import "sync"

// Listeners are callbacks told of a user whose data changed: the store's
// commit hooks, and the sync service's listeners of a user's devices.
// The zero value is ready to use; it is safe for concurrent use.
type Listeners struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(userID string)
}

// Add adds fn and returns the func that removes it.
func (h *Listeners) Add(fn func(userID string)) (remove func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fns == nil {
		h.fns = map[int]func(string){}
	}
	id := h.next
	h.next++
	h.fns[id] = fn
	return func() {
		h.mu.Lock()
		delete(h.fns, id)
		h.mu.Unlock()
	}
}

// Fire calls every listener with userID, outside the lock.
func (h *Listeners) Fire(userID string) {
	h.mu.Lock()
	fns := make([]func(string), 0, len(h.fns))
	for _, fn := range h.fns {
		fns = append(fns, fn)
	}
	h.mu.Unlock()
	for _, fn := range fns {
		fn(userID)
	}
}
