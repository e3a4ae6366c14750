//go:build !unix

package httpapi_test

import "time"

// cpuTime is unavailable here: the CPU metrics read 0.
func cpuTime() time.Duration { return 0 }
