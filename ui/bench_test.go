package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
	"github.com/secure-personal-profile/spp/ui"
)

// benchWait polls cond (on the UI goroutine) until it holds; a minute at
// most.
func benchWait(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var ok bool
		ui.OnUI(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// benchProfile registers Grace in a fresh store and returns her principal.
func benchProfile(b *testing.B) (*storetest.Env, *app.Principal) {
	b.Helper()
	env := storetest.New(b, app.Config{})
	ctx := context.Background()
	auth, err := env.App.Register(ctx, app.Registration{Name: "Grace Hopper", Email: "grace@example.org", Handle: "grace", Password: gracePassword})
	if err != nil {
		b.Fatal(err)
	}
	p, err := env.App.Authenticate(ctx, auth.Token)
	if err != nil {
		b.Fatal(err)
	}
	return env, p
}

// BenchmarkStartToFirstFrame is the app starting over an existing store:
// from ui.New on a new window to its first rendered frame (the start
// screen, which asks the store whether a profile exists).
func BenchmarkStartToFirstFrame(b *testing.B) {
	env, _ := benchProfile(b)
	a := test.NewApp()
	defer a.Quit()
	for b.Loop() {
		w := a.NewWindow("bench")
		ui.OnUI(func() {
			w.Resize(ui.DefaultSize)
			ui.New(env.App, w)
			if img := w.Canvas().Capture(); img.Bounds().Dx() == 0 {
				b.Fatal("empty frame")
			}
			w.Close()
		})
	}
}

// BenchmarkUnlockedMemory unlocks a profile holding 1,000 fields and
// 1,000 health records. One op is an unlock through the start screen until
// the shell is built and the profile screen lists every field (with the
// test KDF: production's Argon2id adds its own cost, see the app's
// benchmarks). MB-heap is the heap in use after GC with the profile
// unlocked and shown (the first unlock); MB-heap-all-tabs after every
// screen was opened once (the health screen then holds the 1,000 records);
// MB-heap-locked before the first unlock, for comparison.
func BenchmarkUnlockedMemory(b *testing.B) {
	env, p := benchProfile(b)
	ctx := context.Background()
	const fields, records = 1000, 1000
	for i := 0; i < fields; i += 100 {
		batch := map[string]string{}
		for j := i; j < i+100; j++ {
			batch[fmt.Sprintf("field_%04d", j)] = fmt.Sprintf("value %d of a profile with many fields, long enough to be realistic", j)
		}
		raw, _ := json.Marshal(batch)
		if _, err := env.App.UpdateInfo(ctx, p, raw); err != nil {
			b.Fatal(err)
		}
	}
	types := []string{"allergy", "medication", "vaccination", "lab_result"}
	for i := 0; i < records; i++ {
		data, _ := json.Marshal(map[string]any{
			"name": fmt.Sprintf("record %d", i), "date": "2024-03-01", "notes": "taken with food; review at the next visit", "value": i,
		})
		if _, _, err := env.App.PutHealthRecord(ctx, p, "", types[i%len(types)], data); err != nil {
			b.Fatal(err)
		}
	}
	a := test.NewApp()
	defer a.Quit()
	w := a.NewWindow("bench")
	ui.OnUI(func() { w.Resize(ui.DefaultSize) })
	u := newUI(env.App, w)
	shown := func() bool {
		return u.Shell != nil && u.Shell.Idle() && u.Shell.Profile.List.Length() >= fields
	}
	unlock := func() {
		s := &u.Start
		ui.OnUI(func() {
			s.Email.SetText("grace@example.org")
			s.Password.SetText(gracePassword)
		})
		tap(s.UnlockButton)
		benchWait(b, "the unlocked profile", shown)
	}
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse) / 1e6
	}

	// Memory first, on the first unlock: later ones would also count the
	// widgets of earlier shells that Fyne's caches keep for a while.
	locked := heap()
	unlock()
	unlocked := heap()
	for _, it := range u.Shell.Tabs.Items {
		ui.OnUI(func() { u.Shell.Select(it.Text) })
		benchWait(b, it.Text+" loaded", func() bool { return u.Shell.Idle() })
	}
	allTabs := heap()

	// Then the time of an unlock.
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		ui.OnUI(u.Lock)
		b.StartTimer()
		unlock()
	}
	b.ReportMetric(locked, "MB-heap-locked")
	b.ReportMetric(unlocked, "MB-heap")
	b.ReportMetric(allTabs, "MB-heap-all-tabs")
}
