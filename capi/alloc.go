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

// alignFrom: blocks of at least this many bytes start on a page (4096
// bytes). The kernel's copy of a receive into them is the kernel's
// rep movsb, which on this AMD EPYC runs several times slower when its
// destination lies a few bytes to a few dozen past its source modulo
// 4096 (the store and the next loads look alike to the CPU: 4 KiB
// aliasing). malloc put such a block 16 bytes past a page (glibc mmaps
// a block of 128 KiB or more, a long line's buffer, and returns the page
// plus its 16-byte header), and a sender's page-multiple writes (the
// harness's 64 KiB lines) reach the receiver from page-aligned memory:
// the peek of a 64 KiB line cost 12-20 µs of the kernel's copy instead of
// 4 (bench/README.md, "Where the stream cell's extra CPU went"). Go's own
// large slices (core's default allocator) are page-aligned already.
// Smaller blocks (a connection's few buffered bytes) stay malloc's: no
// kernel copy of a long result goes into them, and their size is the
// memory of an idle connection.
const alignFrom = 32 << 10

// Alloc returns n bytes of C memory viewed as a slice, on a page from
// alignFrom bytes. cgo's C.malloc never returns NULL: it ends the process
// when out of memory, as Go's make does. Where posix_memalign fails, the
// block comes from C.malloc, unaligned (slower to fill, not wrong), so
// that running out of memory ends the process here too, as before, rather
// than panicking into an ASOK_EINTERNAL in the middle of an operation.
func (cAllocator) Alloc(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	var p unsafe.Pointer
	if n >= alignFrom {
		if C.posix_memalign(&p, 4096, C.size_t(n)) != 0 {
			p = C.malloc(C.size_t(n))
		}
	} else {
		p = C.malloc(C.size_t(n))
	}
	rxmem.Add(int64(n))
	return unsafe.Slice((*byte)(p), n)
}

// Free frees a block Alloc returned (free(3) takes either kind).
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
