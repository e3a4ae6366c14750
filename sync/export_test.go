package p2psync

// SetTap lets the external tests see every frame on the wire.
func SetTap(f func(written bool, frame []byte)) {
	if f == nil {
		tap.Store(nil)
		return
	}
	tap.Store(&f)
}

// VersionErrorForTest is versionError.
var VersionErrorForTest = versionError

// RedialForTest forgets every backoff and wakes the dialler: each listed
// device is dialled again at once.
func (s *Service) RedialForTest() {
	s.mu.Lock()
	clear(s.backoff)
	s.mu.Unlock()
	s.wakeUp()
}
