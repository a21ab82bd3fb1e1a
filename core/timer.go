package core

import (
	"container/heap"
	"time"
)

// timerHeap is a min-heap of waiters ordered by (deadline, seq): waiters
// with equal deadlines fire in the order their timers were set (libuv
// timer.c start_id). Each waiter knows its index, for O(log n) removal.
type timerHeap []*waiter

// Len implements heap.Interface.
func (h timerHeap) Len() int { return len(h) }

// Less implements heap.Interface: earlier deadline first, then lower seq.
func (h timerHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].seq < h[j].seq
}

// Swap implements heap.Interface, keeping the waiters' indexes current.
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].tidx = i
	h[j].tidx = j
}

// Push implements heap.Interface.
func (h *timerHeap) Push(x any) {
	w := x.(*waiter)
	w.tidx = len(*h)
	*h = append(*h, w)
}

// Pop implements heap.Interface.
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old) - 1
	w := old[n]
	old[n] = nil
	*h = old[:n]
	w.tidx = -1
	return w
}

// timers is the loop's timer heap plus the sequence counter.
type timers struct {
	h   timerHeap
	seq uint64
}

// set (re)arms w's timer for deadline.
func (t *timers) set(w *waiter, deadline time.Duration) {
	t.stop(w)
	t.seq++
	w.deadline = deadline
	w.seq = t.seq
	heap.Push(&t.h, w)
}

// stop disarms w's timer if it is armed.
func (t *timers) stop(w *waiter) {
	if w.tidx >= 0 {
		heap.Remove(&t.h, w.tidx)
	}
}

// next returns the earliest deadline, ok false if no timer is armed.
func (t *timers) next() (time.Duration, bool) {
	if len(t.h) == 0 {
		return 0, false
	}
	return t.h[0].deadline, true
}

// popExpired removes and returns the earliest waiter whose deadline is
// <= now, or nil.
func (t *timers) popExpired(now time.Duration) *waiter {
	if len(t.h) == 0 || t.h[0].deadline > now {
		return nil
	}
	return heap.Pop(&t.h).(*waiter)
}
