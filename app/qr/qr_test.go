package qr_test

import (
	"strings"
	"testing"

	"github.com/secure-personal-profile/spp/app/qr"
)

func TestRoundTrip(t *testing.T) {
	for _, text := range []string{
		"http://127.0.0.1:8000/api/v1/verify/abc",
		"https://profile.example.org/api/v1/emergency/" + strings.Repeat("x", 43),
		"spp-pair:" + strings.Repeat("y", 300),
	} {
		png, err := qr.PNG(text, 256)
		if err != nil {
			t.Fatal(err)
		}
		got, err := qr.Decode(png)
		if err != nil || got != text {
			t.Fatalf("decoded %q (%v), want %q", got, err, text)
		}
	}
	if _, err := qr.PNG("", 256); err == nil {
		t.Fatal("empty text accepted")
	}
	if _, err := qr.PNG(strings.Repeat("z", qr.MaxText+1), 256); err == nil {
		t.Fatal("oversized text accepted")
	}
	if _, err := qr.Decode([]byte("not an image")); err == nil {
		t.Fatal("decoded garbage")
	}
}

// Many texts of many lengths: every code PNG makes must read back.
func TestRoundTripMany(t *testing.T) {
	for i := 0; i < 300; i++ {
		text := "https://profile.example.org/api/v1/verify/" + strings.Repeat(string(rune('a'+i%26)), 1+i%120) + string(rune('A'+i%26))
		png, err := qr.PNG(text, 256+i%5*64)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := qr.Decode(png); err != nil || got != text {
			t.Fatalf("#%d: decoded %q (%v), want %q", i, got, err, text)
		}
	}
}
