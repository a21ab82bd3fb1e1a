package main

/*
#include "asok.h"
*/
import "C"

import (
	"math"
	"unsafe"
)

// asokgo_throttle implements asok_throttle: bps is rounded to whole bytes
// per second (at least 1); 0 and +Inf lift the limit.
//
//export asokgo_throttle
func asokgo_throttle(h unsafe.Pointer, dir C.int, bps C.double) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	rate, ok := throttleRate(float64(bps))
	if !ok {
		return C.ASOK_EINVAL
	}
	return code(sh.sock.Throttle(int(dir), rate))
}

// throttleRate converts a C rate to core's bytes per second: NaN and
// negatives are invalid, 0 and +Inf mean no limit (0), others round to the
// nearest integer, at least 1, saturating at 2^62 (core caps it further).
func throttleRate(bps float64) (int64, bool) {
	switch {
	case math.IsNaN(bps) || bps < 0:
		return 0, false
	case bps == 0 || math.IsInf(bps, 1):
		return 0, true
	case bps >= 1<<62:
		return 1 << 62, true
	}
	return max(int64(math.Round(bps)), 1), true
}
