package main

/*
#include "asok.h"
*/
import "C"

import (
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// asokgo_debug_handles implements asok_debug_handles.
//
//export asokgo_debug_handles
func asokgo_debug_handles() (rc C.int) {
	defer recoverTo(&rc)
	return C.int(liveHandles())
}

// asokgo_debug_rxmem implements asok_debug_rxmem.
//
//export asokgo_debug_rxmem
func asokgo_debug_rxmem() C.uint64_t {
	return C.uint64_t(rxmem.Load())
}

// asokgo_debug_panic implements asok_debug_panic: a real Go panic, turned
// into ASOK_EINTERNAL by recoverTo like any other.
//
//export asokgo_debug_panic
func asokgo_debug_panic() (rc C.int) {
	defer recoverTo(&rc)
	var table map[string]int
	table["asok_debug_panic"]++ // assignment to a nil map: a runtime panic
	return C.ASOK_OK
}

// asokgo_loop_new implements asok_loop_new.
//
//export asokgo_loop_new
func asokgo_loop_new(out *unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	if out == nil {
		return C.ASOK_EINVAL
	}
	l, err := core.NewLoop()
	if err != nil {
		return code(err)
	}
	lh := newLoopHandle(l)
	if lh == nil {
		l.Close()
		return C.ASOK_ENOMEM
	}
	lh.key = register(lh)
	*out = lh.key
	return C.ASOK_OK
}

// asokgo_loop_free implements asok_loop_free.
//
//export asokgo_loop_free
func asokgo_loop_free(h unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok || !release(h) {
		return C.ASOK_EBADHANDLE
	}
	lh.free()
	return C.ASOK_OK
}

// asokgo_loop_fd implements asok_loop_fd.
//
//export asokgo_loop_fd
func asokgo_loop_fd(h unsafe.Pointer, fd *C.int) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if fd == nil {
		return C.ASOK_EINVAL
	}
	*fd = C.int(lh.loop.Fd())
	return C.ASOK_OK
}

// asokgo_loop_timeout implements asok_loop_timeout.
//
//export asokgo_loop_timeout
func asokgo_loop_timeout(h unsafe.Pointer, seconds *C.double) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if seconds == nil {
		return C.ASOK_EINVAL
	}
	d := lh.loop.Timeout()
	if d < 0 {
		*seconds = -1
	} else {
		*seconds = C.double(d.Seconds())
	}
	return C.ASOK_OK
}

// asokgo_loop_wake implements asok_loop_wake.
//
//export asokgo_loop_wake
func asokgo_loop_wake(h unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	// Any thread: hold the handle table so asok_loop_free cannot close the
	// eventfd (whose number could then be reused) in the middle of the write.
	rc = C.ASOK_EBADHANDLE
	withHandle(h, func(lh *loopHandle) { rc = code(lh.loop.Wake()) })
	return rc
}

// asokgo_select implements asok_select.
//
//export asokgo_select
func asokgo_select(h unsafe.Pointer, timeout C.double, tokens *C.asok_token, max C.int, picks *unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	d, ok := duration(float64(timeout), true)
	if !ok || max < 0 || (tokens == nil && max > 0) ||
		!spanOK(unsafe.Pointer(tokens), uint64(max), unsafe.Sizeof(*tokens)) {
		return C.ASOK_EINVAL
	}
	var out []core.Token
	if max > 0 {
		out = unsafe.Slice((*core.Token)(unsafe.Pointer(tokens)), int(max))
	}
	lh.sched.tick()
	n, err := lh.loop.Select(d, out)
	if err != nil {
		return code(err)
	}
	if picks != nil {
		*picks = unsafe.Pointer(lh.picks) // asok_select makes it this thread's
	}
	return C.int(n)
}

// asokgo_sleep implements asok_sleep.
//
//export asokgo_sleep
func asokgo_sleep(h unsafe.Pointer, seconds C.double, tok C.asok_token) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	d, ok := duration(float64(seconds), false)
	if !ok {
		return C.ASOK_EINVAL
	}
	if d < 0 {
		d = 0
	}
	return code(lh.loop.Sleep(d, core.Token(tok)))
}

// asokgo_cancel implements asok_cancel.
//
//export asokgo_cancel
func asokgo_cancel(h unsafe.Pointer, tok C.asok_token) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	lh.loop.Cancel(core.Token(tok))
	delete(lh.held, tok) // an asok_resolve answer kept after -ERANGE
	return C.ASOK_OK
}
