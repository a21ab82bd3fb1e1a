package core

import "time"

// maxTime is the clamp for deadlines that would overflow (libuv timer.c).
const maxTime = time.Duration(1<<63 - 1)

// monotonicClock returns a clock reading the monotonic time elapsed since
// the clock was made (time.Since uses the monotonic reading).
func monotonicClock() func() time.Duration {
	base := time.Now()
	return func() time.Duration { return time.Since(base) }
}

// addClamp returns t+d, clamped to maxTime on overflow and to t for d < 0.
func addClamp(t, d time.Duration) time.Duration {
	if d <= 0 {
		return t
	}
	if t > maxTime-d {
		return maxTime
	}
	return t + d
}

// msCeil converts a wait duration to epoll_wait milliseconds, rounding up
// so that a timer is never woken before its deadline; d < 0 gives -1.
func msCeil(d time.Duration) int {
	if d < 0 {
		return -1
	}
	if d > maxTime-time.Millisecond {
		return 1<<31 - 1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<31-1 {
		return 1<<31 - 1
	}
	return int(ms)
}
