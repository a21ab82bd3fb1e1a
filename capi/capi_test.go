package main

import (
	"fmt"
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/asok-lua/asok/core"
	"golang.org/x/sys/unix"
)

// asok.h codes: ASOK_EBASE = -10000, then consecutive.
const (
	eClosed    = -10000
	eTimeout   = -9999
	eWait      = -9998
	eBadHandle = -9997
	eInval     = -9996
	eBusy      = -9995
	eInternal  = -9993
	eLimit     = -9988 // after the four ASOK_EAI_* codes
)

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{core.ErrClosed, eClosed},
		{core.ErrTimeout, eTimeout},
		{core.ErrWait, eWait},
		{core.ErrInvalid, eInval},
		{core.ErrBusy, eBusy},
		{core.ErrLimit, eLimit},
		{fmt.Errorf("wrapped: %w", core.ErrClosed), eClosed},
		{unix.ECONNREFUSED, -int(unix.ECONNREFUSED)},
		{fmt.Errorf("connect: %w", unix.EMFILE), -int(unix.EMFILE)},
		{unix.Errno(0), eInternal},
		{unix.Errno(5000), eInternal},
		{fmt.Errorf("something else"), eInternal},
	}
	for _, tt := range tests {
		if got := int(code(tt.err)); got != tt.want {
			t.Errorf("code(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// panicky panics inside an export-shaped function.
func panicky() (rc status) {
	defer recoverTo(&rc)
	var m map[string]int
	m["x"] = 1
	return 0
}

func TestRecoverTo(t *testing.T) {
	if got := int(panicky()); got != eInternal {
		t.Fatalf("panic gave %d, want %d", got, eInternal)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		s       float64
		noLimit bool
		want    time.Duration
		ok      bool
	}{
		{math.NaN(), true, 0, false},
		{-1, false, -1, true},
		{-0.5, true, -1, true},
		{0, true, 0, true},
		{1.5, true, 1500 * time.Millisecond, true},
		{math.Inf(1), true, -1, true},
		{math.Inf(1), false, maxWait, true},
		{1e300, false, maxWait, true},
	}
	for _, tt := range tests {
		got, ok := duration(tt.s, tt.noLimit)
		if got != tt.want || ok != tt.ok {
			t.Errorf("duration(%v, %v) = %v, %v; want %v, %v", tt.s, tt.noLimit, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHandles(t *testing.T) {
	base := liveHandles()
	a, b := register(&loopHandle{}), register(&sockHandle{})
	if liveHandles() != base+2 {
		t.Fatalf("live = %d, want %d", liveHandles(), base+2)
	}
	if _, ok := lookup[*loopHandle](a); !ok {
		t.Error("lookup of a live loop failed")
	}
	if _, ok := lookup[*sockHandle](a); ok {
		t.Error("a loop handle passed as a socket")
	}
	if _, ok := lookup[*sockHandle](nil); ok {
		t.Error("nil passed as a socket")
	}
	var local int
	if _, ok := lookup[*sockHandle](unsafe.Pointer(&local)); ok {
		t.Error("an unknown pointer passed as a socket")
	}
	if !release(a) || release(a) {
		t.Error("release: want true then false (no double free)")
	}
	if _, ok := lookup[*loopHandle](a); ok {
		t.Error("a released handle is still found")
	}
	if !release(b) || liveHandles() != base {
		t.Errorf("live = %d after release, want %d", liveHandles(), base)
	}
}

func TestWithHandle(t *testing.T) {
	k := register(&loopHandle{})
	ran := false
	if !withHandle(k, func(*loopHandle) { ran = true }) || !ran {
		t.Error("withHandle did not run on a live loop")
	}
	if withHandle(k, func(*sockHandle) { t.Error("ran on the wrong type") }) {
		t.Error("withHandle accepted a wrong-type handle")
	}
	release(k)
	if withHandle(k, func(*loopHandle) { t.Error("ran on a released handle") }) {
		t.Error("withHandle accepted a released handle")
	}
}

func TestQuarantine(t *testing.T) {
	released := map[unsafe.Pointer]bool{}
	for i := 0; i < 1000; i++ {
		k := register(i)
		if released[k] {
			t.Fatalf("key %p reused after %d releases", k, i)
		}
		release(k)
		released[k] = true
	}
}
