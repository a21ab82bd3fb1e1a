package main

/*
#include "pickup.h"
*/
import "C"

import (
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// cPickup is a loop's core.Pickup: the C table of pickup.h, where
// asok_receive takes the results asok_select completed (one cgo call per
// receive that waits: the one that parks).
type cPickup struct {
	t *C.struct_asok__picks
}

// entry returns tok's entry of the table.
func (p cPickup) entry(tok core.Token) *C.struct_asok__pick {
	return &p.t.e[tok&(C.ASOK__PICKS-1)]
}

// Offer fills tok's entry unless it is in use or s has no handle. res
// lies in the loop's C receive memory (core's offer arena).
func (p cPickup) Offer(s *core.Socket, tok core.Token, pat core.Pattern, n int, res []byte) bool {
	e := p.entry(tok)
	key := s.Tag()
	if e.sock != nil || key == nil {
		return false
	}
	*e = C.struct_asok__pick{
		sock:    key,
		token:   C.asok_token(tok),
		data:    (*C.char)(unsafe.Pointer(unsafe.SliceData(res))),
		len:     C.size_t(len(res)),
		n:       C.size_t(n),
		pattern: C.int(pat),
	}
	p.t.live++
	return true
}

// Withdraw empties tok's entry and reports whether asok_receive took it.
func (p cPickup) Withdraw(tok core.Token) bool {
	e := p.entry(tok)
	if e.sock == nil || e.token != C.asok_token(tok) {
		return false
	}
	taken := e.taken != 0
	if !taken {
		p.t.live--
	}
	*e = C.struct_asok__pick{}
	return taken
}
