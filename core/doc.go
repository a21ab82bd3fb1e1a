// Package core is asok's reactor: a single-threaded, edge-triggered epoll
// loop with a timer heap, non-blocking sockets, LuaSocket receive patterns
// and FIFO waiter-token queues.
//
// It is pure Go (no cgo) and starts no goroutines except one per name
// lookup (Loop.Resolve), which hands its result back through Wake. A Loop
// and its Sockets belong to one goroutine/thread at a time; only Loop.Wake
// may be called concurrently.
//
// The model is "pull", like curl's multi interface: an operation that cannot
// finish now parks a caller-chosen Token and returns ErrWait; Loop.Select
// later returns the tokens whose socket became ready, whose deadline passed
// or whose socket closed, and the caller repeats the same operation with the
// same token to get its answer.
//
// Receive patterns follow LuaSocket 3.1.0 src/buffer.c; socket timeouts
// follow src/timeout.c (block and total), on a monotonic clock.
package core
