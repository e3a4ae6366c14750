package assets

import (
	"bytes"
	"image/png"
	"testing"
)

// TestIconIsAPNG: the embedded icon is the square PNG FyneApp.toml names.
func TestIconIsAPNG(t *testing.T) {
	cfg, err := png.DecodeConfig(bytes.NewReader(IconPNG))
	if err != nil || cfg.Width == 0 || cfg.Width != cfg.Height {
		t.Fatalf("icon: %+v, %v", cfg, err)
	}
}
