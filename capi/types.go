package main

/*
#include <stdlib.h>
#include <string.h>
#include "asok.h"
#include "pickup.h"
*/
import "C"

import (
	"math"
	"time"
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// outInitial is the first size of a loop's receive output buffer.
const outInitial = 4096

// maxWait caps finite waits (about 146 years) so deadlines cannot overflow.
const maxWait = time.Duration(1 << 62)

// loopHandle is what an asok_loop * points at: the core loop (receiving
// into C memory, see alloc.go), the C-owned buffer asok_receive copies a
// result into when it does not lie in that memory (valid until the next
// call on the loop), and the loop's live socket handles (released by loop
// free).
type loopHandle struct {
	loop   *core.Loop
	key    unsafe.Pointer
	out    unsafe.Pointer
	outCap int
	socks  map[unsafe.Pointer]*sockHandle
	held   map[C.asok_token]heldAnswer // asok_resolve answers kept after -ERANGE (resolve.go)
	sched  schedTicker                 // keeps sysmon off the host's thread (sched.go)
	picks  *C.struct_asok__picks       // retries asok_select armed (pickup.go)
	waits  []core.SetWait              // asok_waitset's scratch array (waitset.go)
}

// sockHandle is what an asok_sock * points at.
type sockHandle struct {
	sock *core.Socket
	lh   *loopHandle
	key  unsafe.Pointer
}

// newLoopHandle wraps l with a fresh output buffer and makes l receive
// into C memory (alloc.go); nil if malloc fails or l has received already.
func newLoopHandle(l *core.Loop) *loopHandle {
	out := C.malloc(outInitial)
	picks := C.asok__picks_new()
	if out == nil || picks == nil || l.SetAllocator(cAllocator{}) != nil {
		C.free(out)
		C.asok__picks_free(picks)
		return nil
	}
	l.SetPickup(newPickup(l, picks))
	return &loopHandle{loop: l, out: out, outCap: outInitial, picks: picks,
		socks: make(map[unsafe.Pointer]*sockHandle)}
}

// addSock registers s as a socket of lh and returns its handle key.
func (lh *loopHandle) addSock(s *core.Socket) unsafe.Pointer {
	sh := &sockHandle{sock: s, lh: lh}
	sh.key = register(sh)
	s.SetTag(sh.key) // the pickup's entries name the handle
	lh.socks[sh.key] = sh
	return sh.key
}

// output copies b into the loop's C buffer (grown as needed) and returns
// it; false if the buffer cannot grow. Go memory never reaches C.
func (lh *loopHandle) output(b []byte) (unsafe.Pointer, bool) {
	if len(b) > lh.outCap {
		size := lh.outCap
		for size < len(b) {
			size *= 2
		}
		p := C.realloc(lh.out, C.size_t(size))
		if p == nil {
			return nil, false
		}
		lh.out, lh.outCap = p, size
	}
	copy(unsafe.Slice((*byte)(lh.out), len(b)), b)
	return lh.out, true
}

// free releases every socket handle of lh, closes the loop and frees the
// output buffer. lh's own key must already be released.
func (lh *loopHandle) free() {
	for key := range lh.socks {
		release(key)
	}
	lh.socks = nil
	lh.loop.Close() // withdraws every offer
	C.asok__picks_free(lh.picks)
	lh.picks = nil
	C.free(lh.out)
	lh.out, lh.outCap = nil, 0
}

// duration converts C seconds to a Duration: NaN -> false, negative ->
// -1 (no limit), past maxWait -> -1 if noLimit else maxWait.
func duration(s float64, noLimit bool) (time.Duration, bool) {
	switch {
	case math.IsNaN(s):
		return 0, false
	case s < 0:
		return -1, true
	case s >= maxWait.Seconds():
		if noLimit {
			return -1, true
		}
		return maxWait, true
	}
	return time.Duration(s * float64(time.Second)), true
}

// cstring copies a C string into Go; ok is false for NULL.
func cstring(p *C.char) (string, bool) {
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// spanOK reports whether an array of n elements of size bytes at p ends
// within the address space (p + n*size does not wrap): a length no C
// array can have is the caller's ASOK_EINVAL, where unsafe.Slice would
// panic and the call answer ASOK_EINTERNAL, "a bug in asok". n*size must
// not overflow (the callers bound n first).
func spanOK(p unsafe.Pointer, n uint64, size uintptr) bool {
	return p == nil || n*uint64(size) <= -uint64(uintptr(p))
}

// bufOK reports whether n bytes of C memory at p can be borrowed as a
// slice: n fits in a Go int and the bytes end within the address space.
// It checks the buffers asok reads and those it writes alike (ip_out,
// resolve's out): an output buffer is checked for its whole capacity,
// before the operation starts, though asok writes only what it needs,
// since what it needs is known only after (a datagram taken, a lookup
// done) and a capacity no C object can have is the caller's bug.
func bufOK(p *C.char, n C.size_t) bool {
	return sizeOK(n) && spanOK(unsafe.Pointer(p), uint64(n), 1)
}

// bytesOf views n bytes of C memory as a slice (borrowed for the call);
// bufOK(p, n) must hold.
func bytesOf(p *C.char, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}
