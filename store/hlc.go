package store

import (
	"sync"
	"time"
)

// HLC is a hybrid logical clock: the high 48 bits are Unix milliseconds, the
// low 16 a logical counter. Times it issues never go backwards and are
// always after every time it has observed, so last-writer-wins by HLC orders
// causally related writes correctly across devices whose clocks disagree.
type HLC struct {
	mu   sync.Mutex
	last uint64
	now  func() time.Time
}

const hlcLogicalBits = 16

// NewHLC returns a clock reading wall time from now.
func NewHLC(now func() time.Time) *HLC { return &HLC{now: now} }

// Now returns a fresh timestamp, greater than any returned or observed before.
func (c *HLC) Now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := uint64(c.now().UnixMilli()) << hlcLogicalBits
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a timestamp received from another device.
func (c *HLC) Observe(t uint64) {
	c.mu.Lock()
	if t > c.last {
		c.last = t
	}
	c.mu.Unlock()
}

// HLCTime returns the wall-clock part of an HLC timestamp.
func HLCTime(t uint64) time.Time { return time.UnixMilli(int64(t >> hlcLogicalBits)) }
