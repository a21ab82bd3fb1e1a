package main

import (
	"runtime"
	"time"
)

// schedEvery is how often asok_select lets the Go scheduler run on the
// host's thread: half of the runtime's forcePreemptNS (10 ms), so that
// sysmon never sees the thread's P on the same schedtick for 10 ms.
const schedEvery = 5 * time.Millisecond

// schedCheck is how many socket calls (receive, send) go by between two
// looks at the clock: a loop that never parks (a bulk transfer with room
// in both directions) calls asok_select rarely, but receives and sends
// often.
const schedCheck = 16

// schedTicker keeps Go's sysmon off the host's thread.
//
// Why: a thread that calls into Go through cgo never goes through the
// scheduler, so its P's schedtick never advances. After 10 ms sysmon takes
// that for a goroutine running too long and, on every one of its cycles
// from then on (every 20 µs, since each retake resets its back-off),
// preempts it and retakes the P (retake → handoffp → startm): measured at
// 5,000-7,000 context switches a second on the echo server's one CPU,
// 12-17 % of its CPU per round trip in A/B runs at 1,000 connections
// (bench/README.md, "The scheduler storm"). One runtime.Gosched()
// every schedEvery advances schedtick (the locked callback goroutine is
// handed to another M and back: about four context switches), and sysmon
// then backs off to its 10 ms sleep.
type schedTicker struct {
	last  time.Time
	calls uint32 // socket calls since the last look at the clock
}

// due reports whether schedEvery has passed since the last yield at now,
// and if so takes now as the new last yield.
func (s *schedTicker) due(now time.Time) bool {
	if now.Sub(s.last) < schedEvery {
		return false
	}
	s.last = now
	return true
}

// tick yields to the Go scheduler when due; called by asok_select, once
// per batch.
func (s *schedTicker) tick() {
	if s.due(time.Now()) {
		runtime.Gosched()
	}
}

// op counts a socket call and ticks every schedCheck calls (a clock read
// per call would cost more than the rest of a buffered receive).
func (s *schedTicker) op() {
	s.calls++
	if s.calls >= schedCheck {
		s.calls = 0
		s.tick()
	}
}
