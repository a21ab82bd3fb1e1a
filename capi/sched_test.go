package main

import (
	"runtime"
	"testing"
	"time"
)

func TestSchedTickerDue(t *testing.T) {
	var s schedTicker
	t0 := time.Now()
	if !s.due(t0) {
		t.Fatal("first call: not due")
	}
	steps := []struct {
		after time.Duration
		want  bool
	}{
		{time.Millisecond, false},
		{schedEvery - time.Nanosecond, false},
		{schedEvery, true},                     // a full interval after the yield at t0
		{schedEvery + time.Millisecond, false}, // 1 ms after the last yield
		{2*schedEvery + time.Millisecond, true},
	}
	for _, st := range steps {
		if got := s.due(t0.Add(st.after)); got != st.want {
			t.Errorf("due at t0+%v = %v, want %v", st.after, got, st.want)
		}
	}
}

// TestSchedTickerTick runs tick from a locked goroutine, as a cgo callback
// is: runtime.Gosched must come back to the same goroutine.
func TestSchedTickerTick(t *testing.T) {
	done := make(chan bool)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var s schedTicker
		for i := 0; i < 3; i++ {
			s.last = time.Time{} // due at once
			s.tick()
		}
		done <- !s.last.IsZero()
	}()
	if !<-done {
		t.Fatal("tick did not record its yield")
	}
}

func TestSchedTickerOp(t *testing.T) {
	var s schedTicker
	for i := 1; i < schedCheck; i++ {
		s.op()
		if !s.last.IsZero() {
			t.Fatalf("looked at the clock after %d calls", i)
		}
	}
	s.op()
	if s.last.IsZero() || s.calls != 0 {
		t.Fatalf("after %d calls: last %v, calls %d; want a yield and the count reset", schedCheck, s.last, s.calls)
	}
}
