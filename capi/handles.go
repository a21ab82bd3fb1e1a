package main

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// quarantineSize is how many released slots wait before one is handed out
// again, so a stale handle is not soon the key of a new object (ABA).
const quarantineSize = 1 << 16

// Handle slots: a handle is the address base+slot inside a reserved,
// inaccessible (PROT_NONE) range of address space, so it is a unique
// non-Go address C may keep, never dereferenced by anyone, and its slot
// number is one subtraction away. Entries live in fixed pages that never
// move, read with atomic loads: the per-call lookup takes no lock and
// hashes nothing.
const (
	pageShift  = 12
	pageSize   = 1 << pageShift
	maxHandles = 1 << 26 // 64 MiB of address space, no memory
	maxPages   = maxHandles / pageSize
)

// handleEntry is one live object; immutable once published.
type handleEntry struct{ v any }

// handlePage is pageSize slots.
type handlePage [pageSize]atomic.Pointer[handleEntry]

// handleTable is the only global state of capi. mu orders register and
// release against each other and against withHandle; lookup needs no lock.
type handleTable struct {
	base   uintptr // start of the reserved range (set once at init)
	pages  [maxPages]atomic.Pointer[handlePage]
	mu     sync.RWMutex
	fresh  uint32   // slots below fresh have been used
	freed  []uint32 // released slots, oldest first (from freeAt)
	freeAt int
	live   int
}

var handles handleTable

// init reserves the handle address range.
func init() {
	mem, err := unix.Mmap(-1, 0, maxHandles, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		panic("asok: cannot reserve the handle address range: " + err.Error())
	}
	handles.base = uintptr(unsafe.Pointer(&mem[0]))
}

// register stores v and returns its new key, the handle given to C.
func register(v any) unsafe.Pointer {
	h := &handles
	h.mu.Lock()
	defer h.mu.Unlock()
	var slot uint32
	switch {
	case len(h.freed)-h.freeAt > quarantineSize || (h.fresh == maxHandles && h.freeAt < len(h.freed)):
		slot = h.freed[h.freeAt]
		h.freeAt++
		if h.freeAt >= len(h.freed)/2 { // compact the FIFO
			n := copy(h.freed, h.freed[h.freeAt:])
			h.freed, h.freeAt = h.freed[:n], 0
		}
	case h.fresh < maxHandles:
		slot = h.fresh
		h.fresh++
	default:
		panic("asok: out of handles")
	}
	pg := h.pages[slot>>pageShift].Load()
	if pg == nil {
		pg = new(handlePage)
		h.pages[slot>>pageShift].Store(pg)
	}
	pg[slot&(pageSize-1)].Store(&handleEntry{v: v})
	h.live++
	return unsafe.Add(nil, h.base+uintptr(slot)) // an opaque non-Go address
}

// slotOf returns the slot of key and whether key is inside the range.
func (h *handleTable) slotOf(key unsafe.Pointer) (uint32, bool) {
	off := uintptr(key) - h.base // wraps for keys below base
	return uint32(off), off < maxHandles
}

// entry returns the live entry behind key, nil for NULL, unknown and
// released keys.
func (h *handleTable) entry(key unsafe.Pointer) *handleEntry {
	slot, ok := h.slotOf(key)
	if !ok {
		return nil
	}
	pg := h.pages[slot>>pageShift].Load()
	if pg == nil {
		return nil
	}
	return pg[slot&(pageSize-1)].Load()
}

// lookup returns the value behind key if it is live and of type T; nil,
// unknown, released and wrong-type keys give false. Lock-free: the caller
// owns the object (asok.h thread rules), so it is not released meanwhile.
func lookup[T any](key unsafe.Pointer) (T, bool) {
	e := handles.entry(key)
	if e == nil {
		var zero T
		return zero, false
	}
	t, ok := e.v.(T)
	return t, ok
}

// withHandle runs fn on the live T behind key while holding the table's
// read lock, so a concurrent release (and the free after it) waits for fn
// to finish. For the calls allowed from any thread (asok_loop_wake).
func withHandle[T any](key unsafe.Pointer, fn func(T)) bool {
	handles.mu.RLock()
	defer handles.mu.RUnlock()
	e := handles.entry(key)
	if e == nil {
		return false
	}
	t, ok := e.v.(T)
	if ok {
		fn(t)
	}
	return ok
}

// release removes key's object and quarantines its slot. It returns false
// if key is not live, so a double release can never double-free.
func release(key unsafe.Pointer) bool {
	h := &handles
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.entry(key) == nil {
		return false
	}
	slot, _ := h.slotOf(key)
	h.pages[slot>>pageShift].Load()[slot&(pageSize-1)].Store(nil)
	h.freed = append(h.freed, slot)
	h.live--
	return true
}

// liveHandles counts the live handles (loops and sockets).
func liveHandles() int {
	handles.mu.RLock()
	defer handles.mu.RUnlock()
	return handles.live
}
