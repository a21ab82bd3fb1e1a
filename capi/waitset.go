package main

/*
#include "asok.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// maxWaitSet bounds asok_waitset's and asok_cancelset's n
// (ASOK_WAITSET_MAX, INT_MAX): a set's distinct sockets are fds (ints
// below fs.nr_open, itself at most INT_MAX), one asok_select hands back at
// most INT_MAX tokens, core numbers a batch's pollfds in an int32 and the
// Lua binding counts its waits in an int. A larger n is no real batch but
// a bad value (a negative int or a 32-bit -1 cast to size_t, garbage),
// which would read past the array.
const maxWaitSet = math.MaxInt32

// asokgo_waitset implements asok_waitset: the requests become core's
// SetWaits in the loop's scratch array (reused: no allocation once grown),
// their handles looked up under one lock.
//
//export asokgo_waitset
func asokgo_waitset(h unsafe.Pointer, reqs *C.asok_waitreq, n C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if (reqs == nil && n > 0) || uint64(n) > maxWaitSet ||
		!spanOK(unsafe.Pointer(reqs), uint64(n), unsafe.Sizeof(*reqs)) {
		return C.ASOK_EINVAL
	}
	if n == 0 {
		return C.ASOK_OK
	}
	rs := unsafe.Slice(reqs, int(n))
	ws := lh.waits[:0]
	handles.mu.RLock()
	for i := range rs {
		r := &rs[i]
		r.rc = C.ASOK_OK
		sh, _ := handles.live[unsafe.Pointer(r.sock)].(*sockHandle)
		switch {
		case sh == nil:
			r.rc = C.ASOK_EBADHANDLE
			continue
		case sh.lh != lh:
			r.rc = C.ASOK_EINVAL
			continue
		}
		ws = append(ws, core.SetWait{Sock: sh.sock, Dir: waitDir(r.dir), Tok: core.Token(r.token)})
	}
	handles.mu.RUnlock()
	lh.waits = ws
	lh.loop.WaitSet(ws)
	j := 0
	for i := range rs {
		if rs[i].rc == C.ASOK_OK {
			rs[i].rc = code(ws[j].Err)
			j++
		}
	}
	clear(ws) // no socket kept alive by the scratch array
	return C.ASOK_OK
}

// asokgo_cancelset implements asok_cancelset.
//
//export asokgo_cancelset
func asokgo_cancelset(h unsafe.Pointer, toks *C.asok_token, n C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if (toks == nil && n > 0) || uint64(n) > maxWaitSet ||
		!spanOK(unsafe.Pointer(toks), uint64(n), unsafe.Sizeof(*toks)) {
		return C.ASOK_EINVAL
	}
	if n == 0 {
		return C.ASOK_OK
	}
	for _, tok := range unsafe.Slice(toks, int(n)) {
		lh.loop.Cancel(core.Token(tok))
		delete(lh.held, tok) // an asok_resolve answer kept after -ERANGE (as asok_cancel)
	}
	return C.ASOK_OK
}

// asokgo_debug_polls implements asok_debug_polls.
//
//export asokgo_debug_polls
func asokgo_debug_polls(h unsafe.Pointer, polls, epollWaits *C.uint64_t) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	p, e := lh.loop.Polls()
	if polls != nil {
		*polls = C.uint64_t(p)
	}
	if epollWaits != nil {
		*epollWaits = C.uint64_t(e)
	}
	return C.ASOK_OK
}
