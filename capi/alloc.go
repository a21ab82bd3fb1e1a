package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"sync/atomic"
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// cAllocator is the core.Allocator capi gives every loop: core receives
// into C memory, so asok_receive can hand C a pointer into it instead of
// copying the result. Only bytes are written there, never Go pointers.
type cAllocator struct{}

// rxmem counts the bytes cAllocator has allocated and not freed, in every
// loop of the process (asok_debug_rxmem).
var rxmem atomic.Int64

// Alloc returns n bytes of C memory viewed as a slice (cgo's C.malloc
// never returns NULL: it aborts when out of memory, as Go's make does).
func (cAllocator) Alloc(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	rxmem.Add(int64(n))
	return unsafe.Slice((*byte)(C.malloc(C.size_t(n))), n)
}

// Free frees a block Alloc returned.
func (cAllocator) Free(b []byte) {
	if cap(b) > 0 {
		rxmem.Add(-int64(cap(b)))
		C.free(unsafe.Pointer(unsafe.SliceData(b)))
	}
}

// resultPtr returns a pointer C can read b from until the next call on
// the loop: b itself when core says it lies in the C memory it received
// into (no copy), else a copy in lh's output buffer; false if that cannot
// grow.
func (lh *loopHandle) resultPtr(s *core.Socket, b []byte) (unsafe.Pointer, bool) {
	if s.Owned(b) {
		return unsafe.Pointer(unsafe.SliceData(b)), true
	}
	return lh.output(b)
}
