package main

import (
	"math"
	"testing"
)

// TestThrottleRate checks the C rate conversion.
func TestThrottleRate(t *testing.T) {
	tests := []struct {
		bps  float64
		want int64
		ok   bool
	}{
		{math.NaN(), 0, false},
		{-1, 0, false},
		{0, 0, true},
		{math.Inf(1), 0, true},
		{0.2, 1, true},
		{1.5, 2, true},
		{100000, 100000, true},
		{1e30, 1 << 62, true},
	}
	for _, tt := range tests {
		got, ok := throttleRate(tt.bps)
		if got != tt.want || ok != tt.ok {
			t.Errorf("throttleRate(%v) = %d, %v; want %d, %v", tt.bps, got, ok, tt.want, tt.ok)
		}
	}
}
