package main

/*
#include "pickup.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/asok-lua/asok/core"
	"golang.org/x/sys/unix"
)

// cPickup is a loop's core.Pickup: the C table of pickup.h, where
// asok_select arms the retries of receives that waited and asok_receive
// makes their read in C (one cgo call per receive that waits: the one that
// parks).
type cPickup struct {
	t    *C.struct_asok__picks
	base int64 // asok__now_ns() minus the loop's clock, in ns
}

// newPickup returns the pickup of loop l on table t.
func newPickup(l *core.Loop, t *C.struct_asok__picks) cPickup {
	return cPickup{t: t, base: int64(C.asok__now_ns()) - int64(l.Now())}
}

// entry returns tok's entry of the table.
func (p cPickup) entry(tok core.Token) *C.struct_asok__pick {
	return &p.t.e[tok&(C.ASOK__PICKS-1)]
}

// Arm fills tok's entry unless it is in use or s has no handle.
func (p cPickup) Arm(s *core.Socket, tok core.Token, fd int, pat core.Pattern, n int, f core.Follow) bool {
	e := p.entry(tok)
	key := s.Tag()
	if e.state != C.ASOK__FREE || key == nil {
		return false
	}
	*e = C.struct_asok__pick{
		sock:    key,
		token:   C.asok_token(tok),
		n:       C.size_t(n),
		fd:      C.int(fd),
		pattern: C.int(pat),
		state:   C.ASOK__ARMED,
		follow:  C.int(f),
	}
	if pat == core.PatLine {
		e.longlen = C.size_t(s.PeekLine())
	}
	p.t.armed++
	return true
}

// Disarm empties tok's entry and returns what its retry did; the bytes
// stay in the table's buffer until Reset.
func (p cPickup) Disarm(tok core.Token) core.Read {
	e := p.entry(tok)
	var r core.Read
	if e.state == C.ASOK__FREE || e.token != C.asok_token(tok) {
		return r
	}
	switch e.state {
	case C.ASOK__ARMED:
		p.t.armed--
	case C.ASOK__READ, C.ASOK__TAKEN, C.ASOK__PARKED:
		r.Done, r.Size, r.Errno = true, int(e.size), unix.Errno(e.err)
		if e.len > 0 {
			r.Data = unsafe.Slice((*byte)(unsafe.Pointer(e.data)), int(e.len))
		}
		if e.state != C.ASOK__READ {
			r.Taken, r.Used = true, int(e.used)
		}
		if e.state == C.ASOK__PARKED {
			r.Parked, r.Park, r.Cnt, r.ParkAt = true, core.Pattern(e.ppattern), int(e.pn), -1
			if e.follow&C.ASOK__FOLLOW_CLOCK != 0 {
				r.ParkAt = time.Duration(int64(e.pat_ns) - p.base)
			}
		}
	}
	*e = C.struct_asok__pick{}
	return r
}

// NoSend ends the sends in C after tok's entry (core.FollowSend).
func (p cPickup) NoSend(tok core.Token) {
	if e := p.entry(tok); e.token == C.asok_token(tok) {
		e.follow &^= C.ASOK__FOLLOW_SEND
	}
}

// Reset frees the table's buffer: core settled every read in it.
func (p cPickup) Reset() {
	p.t.off = 0
}

// asokgo_debug_reads implements asok_debug_reads: core's reads and those
// of the loop's pickup table (pickup.c).
//
//export asokgo_debug_reads
func asokgo_debug_reads(h unsafe.Pointer, reads *C.uint64_t) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if reads != nil {
		*reads = C.uint64_t(lh.loop.Reads() + uint64(lh.picks.reads))
	}
	return C.ASOK_OK
}
