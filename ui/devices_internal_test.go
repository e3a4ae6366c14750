package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

// TestDeviceTextSaysWhyItDoesNotSync: a device of another sync protocol
// version is not shown as merely not connected: the line says it runs
// another version and what to do.
func TestDeviceTextSaysWhyItDoesNotSync(t *testing.T) {
	now := time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC)
	dev := app.Device{ID: "d", Name: "phone", AddedAt: now.Add(-time.Hour), LastSync: now.Add(-time.Minute)}
	if got := deviceText(dev, now); !strings.Contains(got, "phone: not connected, last synced") {
		t.Errorf("a device not connected: %q", got)
	}
	dev.OtherVersion = true
	got := deviceText(dev, now)
	if !strings.Contains(got, "runs another version of the app") || !strings.Contains(got, "update both") || strings.Contains(got, "not connected,") {
		t.Errorf("a device of another version: %q", got)
	}
}
