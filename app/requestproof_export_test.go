package app

import "time"

// SetChallengeTimeoutForTest gives callbacks d to answer a challenge
// instead of 10 s, until the returned function restores it.
func SetChallengeTimeoutForTest(d time.Duration) (restore func()) {
	challengeTimeoutForTest.Store(int64(d))
	return func() { challengeTimeoutForTest.Store(0) }
}
