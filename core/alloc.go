package core

import "unsafe"

// The memory a loop receives into. By default core uses Go memory; a
// binding that wants to hand results to C without a copy (capi) gives the
// loop an Allocator of C memory with SetAllocator, and core then reads
// every received byte into that memory: the per-loop scratch buffer, the
// sockets' receive buffers and the large-datagram buffer.
//
// Lifetime rule: a buffer core lets go of (drained, replaced by a larger
// one, or its socket closed) may still hold the last result returned to
// the caller, which stays valid until the next call on the loop. So core
// never frees or reuses such a buffer at once: it goes to a retired list,
// emptied (into the pool or Free) at the start of the next receive, or at
// loop close.

// Allocator provides the memory core receives into. Alloc returns a slice
// of length n (cap n) whose contents are not needed to be zero; it must
// not return a short slice (panic instead when out of memory). Free gets
// back exactly a slice returned by Alloc (possibly re-sliced to length 0:
// its first byte and cap are Alloc's), once. Both are called only from the
// loop's thread.
type Allocator interface {
	Alloc(n int) []byte
	Free(b []byte)
}

// goAllocator is the default Allocator: Go memory, freed by the collector.
type goAllocator struct{}

// Alloc returns a fresh Go slice of n bytes.
func (goAllocator) Alloc(n int) []byte { return make([]byte, n) }

// Free does nothing: the collector frees Go memory.
func (goAllocator) Free([]byte) {}

// SetAllocator makes a the allocator of l's receive memory. It must be
// called before l's first receive (before any receive memory exists):
// ErrInvalid afterwards, for a nil a, or on a closed loop.
func (l *Loop) SetAllocator(a Allocator) error {
	if a == nil || l.closed || l.rx.used {
		return ErrInvalid
	}
	l.rx.alloc = a
	return nil
}

// Owned reports whether b lies inside receive memory of s's loop that
// the loop's allocator provided: the scratch buffer, s's receive buffer,
// the large-datagram buffer, or a buffer retired since the last receive.
// Every non-empty result of Receive and ReceiveFrom does, until the next
// call on the loop; a binding checks it before handing b's memory out.
func (s *Socket) Owned(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	l := s.l
	if within(b, l.rx.scratch) || within(b, s.rb.buf) || within(b, l.dg.big) {
		return true
	}
	for _, r := range l.rx.retired {
		if within(b, r) {
			return true
		}
	}
	return false
}

// within reports whether non-empty b lies inside block's capacity.
func within(b, block []byte) bool {
	if cap(block) == 0 {
		return false
	}
	lo := uintptrOf(block)
	p := uintptrOf(b)
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(cap(block))
}

// uintptrOf is the address of b's first element (of its array if empty).
func uintptrOf(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}

// allocBuf returns an empty buffer of capacity n from the allocator.
func (e *rxEngine) allocBuf(n int) []byte {
	e.used = true
	b := e.alloc.Alloc(n)
	if len(b) != n {
		panic("core: Allocator.Alloc returned a short slice")
	}
	return b[:0]
}

// retire hands b (a buffer core no longer uses) to the retired list: it
// may hold the last result, so it is pooled or freed only at the next
// receive (flush) or at close.
func (e *rxEngine) retire(b []byte) {
	if cap(b) > 0 {
		e.retired = append(e.retired, b[:0])
	}
}

// flush moves the retired buffers to the pool (small ones, while it has
// room) or frees them. Called at the start of a receive, when the last
// result is no longer needed.
func (e *rxEngine) flush() {
	for i, b := range e.retired {
		if cap(b) <= maxPoolBuf && len(e.pool) < maxPool {
			e.pool = append(e.pool, b)
		} else {
			e.alloc.Free(b)
		}
		e.retired[i] = nil
	}
	e.retired = e.retired[:0]
}

// freeBuffers frees all the receive memory of l (at close): the scratch
// buffer, the pool, the retired buffers and the large-datagram buffer.
// The sockets' buffers must already be released (teardown retires them).
func (l *Loop) freeBuffers() {
	e := &l.rx
	e.flush()
	for _, b := range e.pool {
		e.alloc.Free(b)
	}
	if e.scratch != nil {
		e.alloc.Free(e.scratch)
	}
	if l.dg.big != nil {
		e.alloc.Free(l.dg.big)
	}
	l.dg.big = nil
	l.rx = rxEngine{alloc: e.alloc, used: true}
}
