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
