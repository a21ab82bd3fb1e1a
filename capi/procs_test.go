package main

import "testing"

// TestProcsTarget checks the GOMAXPROCS policy applied at load.
func TestProcsTarget(t *testing.T) {
	tests := []struct {
		asok, gomax string
		cur, want   int
	}{
		{"", "", 1, 2},     // default: raised to 2
		{"", "", 4, 4},     // never lowered
		{"", "1", 1, 1},    // host's GOMAXPROCS kept
		{"0", "", 1, 1},    // policy off
		{"3", "", 1, 3},    // explicit
		{"1", "8", 8, 1},   // ASOK_GOMAXPROCS wins
		{"junk", "", 1, 2}, // unparsable: as unset
		{"-2", "", 1, 2},   // negative: as unset
	}
	for _, tt := range tests {
		if got := procsTarget(tt.asok, tt.gomax, tt.cur); got != tt.want {
			t.Errorf("procsTarget(%q, %q, %d) = %d, want %d", tt.asok, tt.gomax, tt.cur, got, tt.want)
		}
	}
}
