package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/secure-personal-profile/spp/app"
)

func TestJSONDepth(t *testing.T) {
	for in, want := range map[string]int{
		``:                         0,
		`1`:                        0,
		`"[[["`:                    0,
		`[]`:                       1,
		`{"a":1}`:                  1,
		`[[],[[]]]`:                3,
		`{"a":[{"b":"]]]]"}]}`:     3,
		`["\"[[[", "\\", [[]]]`:    3,
		`["\\\"]]]"]`:              1,
		`]]]]][[`:                  2, // not JSON: still counted, never negative
		`{"k":"\u005b\u005b"}`:     1,
		`[` + `"unterminated [[[[`: 1,
	} {
		if got := app.JSONDepth([]byte(in), 0); got != want {
			t.Errorf("JSONDepth(%q) = %d, want %d", in, got, want)
		}
	}
	if got := app.JSONDepth([]byte(strings.Repeat("[", 100)), 64); got != 65 {
		t.Errorf("past the limit: %d, want 65", got)
	}
	if got := app.JSONDepth([]byte(strings.Repeat("[", 64)+strings.Repeat("]", 64)), 64); got != 64 {
		t.Errorf("at the limit: %d, want 64", got)
	}
	// Huge inputs: one pass with a counter, no recursion, no allocation.
	huge := []byte(strings.Repeat("[", 16<<20))
	start := time.Now()
	if got := app.JSONDepth(huge, 0); got != 16<<20 {
		t.Fatalf("16 Mi levels: %d", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("16 Mi levels took %v", d)
	}
	if allocs := testing.AllocsPerRun(3, func() { app.JSONDepth(huge[:1<<20], 64) }); allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}
