package main

import (
	"os"
	"runtime"
	"strconv"
)

// procsEnv names the tunable documented in asok.h ("Environment").
const procsEnv = "ASOK_GOMAXPROCS"

// minProcs is the GOMAXPROCS asok raises the runtime to by default.
//
// Why: the host's thread calls into Go through cgo and, between two calls,
// its M sits "in a syscall" holding a P. With GOMAXPROCS=1 (what a host
// pinned to one CPU gets) no other P is idle, so Go's sysmon retakes that P
// after 20 µs of every gap (retake → handoffp → startm), starting an M that
// finds nothing to do, and the next call has to take the P back and wake
// sysmon: measured as 15-17 % of the server's CPU in context switches under
// pingpong load. With a second P idle, sysmon leaves a P in a syscall alone
// for up to 10 ms (retake's idle-P check); what happens after those 10 ms,
// when the P's schedtick has not moved, is sched.go's business. asok runs
// no Go code in parallel with the host's thread except name lookups, so
// the extra P costs nothing when idle.
const minProcs = 2

// init applies asok's GOMAXPROCS policy when libasok is loaded:
// ASOK_GOMAXPROCS=n (n >= 1) sets it to n; ASOK_GOMAXPROCS=0 leaves the Go
// runtime's choice alone; unset, asok raises it to at least minProcs unless
// the host set GOMAXPROCS itself (then that value is kept).
func init() {
	runtime.GOMAXPROCS(procsTarget(os.Getenv(procsEnv), os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0)))
}

// procsTarget returns the GOMAXPROCS to apply from the ASOK_GOMAXPROCS and
// GOMAXPROCS values and the current setting; returning cur (or 0) changes
// nothing. An unparsable ASOK_GOMAXPROCS is treated as unset.
func procsTarget(asokEnv, goEnv string, cur int) int {
	if n, err := strconv.Atoi(asokEnv); err == nil && n >= 0 {
		if n == 0 {
			return cur
		}
		return n
	}
	if goEnv != "" {
		return cur
	}
	return max(cur, minProcs)
}
