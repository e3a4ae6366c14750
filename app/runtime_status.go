package app

// What runs on this device now, for the GUI to show: whether the sync
// service is up, and which kinds of outbox message this device can
// deliver. Neither is stored anywhere; both describe the running process.

// SyncInfo says whether the sync service runs on this device and how other
// devices reach it.
type SyncInfo struct {
	Running bool
	PeerID  string
	Addrs   []string
}

// SyncInfo reports the sync service's state on this device.
func (a *App) SyncInfo() SyncInfo {
	s := a.sync()
	if s == nil {
		return SyncInfo{}
	}
	return SyncInfo{Running: true, PeerID: s.PeerID(), Addrs: s.Addrs()}
}

// Delivers reports whether this device's running outbox has a sender for
// messages of kind (KindEmail, KindSMS, KindWebhook). It is false before
// StartOutbox: such messages wait in the outbox.
func (a *App) Delivers(kind string) bool {
	o := a.outbox.Load()
	if o == nil {
		return false
	}
	_, ok := o.sender(kind)
	return ok
}
