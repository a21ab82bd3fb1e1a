package main

import (
	"sync"
	"unsafe"

	pointer "github.com/mattn/go-pointer"
)

// quarantineSize is how many released keys are kept allocated before their
// memory goes back to malloc, so a stale handle is not soon handed out again
// as the key of a new object (ABA).
const quarantineSize = 1 << 16

// handleTable is the only global state of capi. Keys are 1-byte C
// allocations made by go-pointer (unique non-Go addresses that C may keep);
// values live here, so a released object is dropped at once while its key
// stays quarantined.
type handleTable struct {
	mu   sync.RWMutex
	live map[unsafe.Pointer]any
	ring [quarantineSize]unsafe.Pointer
	next int
}

var handles = handleTable{live: make(map[unsafe.Pointer]any)}

// register stores v and returns its new key, the handle given to C.
func register(v any) unsafe.Pointer {
	key := pointer.Save(struct{}{})
	handles.mu.Lock()
	handles.live[key] = v
	handles.mu.Unlock()
	return key
}

// lookup returns the value behind key if it is live and of type T; nil,
// unknown, released and wrong-type keys give false.
func lookup[T any](key unsafe.Pointer) (T, bool) {
	handles.mu.RLock()
	v, ok := handles.live[key]
	handles.mu.RUnlock()
	if !ok {
		var zero T
		return zero, false
	}
	t, ok := v.(T)
	return t, ok
}

// withHandle runs fn on the live T behind key while holding the table's
// read lock, so a concurrent release (and the free after it) waits for fn
// to finish. For the calls allowed from any thread (asok_loop_wake).
func withHandle[T any](key unsafe.Pointer, fn func(T)) bool {
	handles.mu.RLock()
	defer handles.mu.RUnlock()
	t, ok := handles.live[key].(T)
	if ok {
		fn(t)
	}
	return ok
}

// release removes key from the live table and quarantines it; the oldest
// quarantined key is freed. It returns false (and frees nothing) if key is
// not live, so a double release can never double-free.
func release(key unsafe.Pointer) bool {
	handles.mu.Lock()
	if _, ok := handles.live[key]; !ok {
		handles.mu.Unlock()
		return false
	}
	delete(handles.live, key)
	evicted := handles.ring[handles.next]
	handles.ring[handles.next] = key
	handles.next = (handles.next + 1) % quarantineSize
	handles.mu.Unlock()
	if evicted != nil {
		pointer.Unref(evicted)
	}
	return true
}

// liveHandles counts the live handles (loops and sockets).
func liveHandles() int {
	handles.mu.RLock()
	defer handles.mu.RUnlock()
	return len(handles.live)
}
