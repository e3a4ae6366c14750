package ui

import (
	"context"

	"fyne.io/fyne/v2"
)

// OnUI runs f on the UI goroutine as one step, as a real driver runs an
// input event or a fyne.Do callback: tests drive the widgets through it
// (in place of fyne.DoAndWait) and poll through it (waitFor). Fyne's test
// driver runs fyne.DoAndWait inline on the test's goroutine while the
// callbacks of work ending in the background run inline on theirs, so
// without doneMu a test's tap would change widgets (and lay out and draw
// them) at the same time as a callback does, which no real driver allows.
// f must not wait for such a callback (see doneMu).
func OnUI(f func()) {
	fyne.DoAndWait(func() {
		doneMu.Lock()
		defer doneMu.Unlock()
		f()
	})
}

// Run starts work as any action's run does (see run), with no done.
func (s *Shell) Run(what string, work func(ctx context.Context) error) {
	s.run(what, work, nil)
}
