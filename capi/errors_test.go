package main

import (
	"testing"

	"github.com/asok-lua/asok/core"
)

// TestCodeNoAlloc: the per-operation results (success, would-block,
// timeout, closed) are mapped without a heap allocation.
func TestCodeNoAlloc(t *testing.T) {
	for _, err := range []error{nil, core.ErrWait, core.ErrTimeout, core.ErrClosed} {
		if n := testing.AllocsPerRun(100, func() { code(err) }); n != 0 {
			t.Errorf("code(%v): %v allocations per call, want 0", err, n)
		}
	}
}
