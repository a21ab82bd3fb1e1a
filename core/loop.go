package core

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Token identifies a parked operation; chosen by the caller. Token 0 means
// "do not wait" (LuaSocket's timeout 0).
type Token = uint64

// Pattern selects what Receive reads (LuaSocket's "*l", "*a", a count).
type Pattern int

// Receive patterns.
const (
	PatLine  Pattern = 1 // up to LF; every CR dropped; LF not returned
	PatAll   Pattern = 2 // until the peer closes
	PatCount Pattern = 3 // exactly n bytes
)

// Readiness directions for Wait, and its flags, or'ed into one:
// WaitUntimed: the wait ignores the socket's timeouts (asok.select with
// sets keeps its own deadline, whatever timeout the socket has, a zero one
// included); WaitLook: the wait is a look (look.go), not a turn in the
// socket's queue: every look is woken when the socket becomes ready, and
// none holds back the socket's other waiters (a look is untimed too).
const (
	DirRead     = 1
	DirWrite    = 2
	WaitUntimed = 4
	WaitLook    = 8
)

// Loop is a single-threaded reactor: an epoll instance, an eventfd for
// Wake, a timer heap, its sockets and the parked tokens.
type Loop struct {
	now    func() time.Duration
	p      *poller
	closed bool
	nextID uint64
	socks  map[uint64]*Socket // by id (the epoll data), for iteration
	kept   map[*Socket]bool   // closed sockets that still had buffered data
	shares map[Token]*Socket  // tokens with a share of a closed socket's data (shares.go)
	byFd   []*Socket          // live sockets by fd number (dispatch's lookup)
	byTok  tokTable           // parked tokens (tokens.go)
	ready  []readyEntry       // delivered tokens, drained by Select
	rhead  int                // first undrained entry of ready
	rbase  int                // position of ready[0]: an entry's position (rbase+i) survives compaction
	owed   int                // live entries of ready for released waiters
	owedAt map[Token][]int    // their positions, by token (waiter.go)
	free   []*waiter          // recycled waiters
	timers timers
	rx     rxEngine
	dg     dgramLoop // datagram receive state (udp.go)
	res    resolver  // name lookups (resolve.go)
	of     offers    // retries armed by Select (offer.go)
	pb     pollBatch // the poll a WaitSet shares (waitset.go)
	polls  uint64    // poll(2) calls made for readiness (Polls)
	reads  uint64    // recv(2) calls of stream receives (Reads)
	// woken: Wake was called (by the host) since Select last looked. A
	// lookup's result wakes the poller too, but only the host's Wake
	// ends a Select early with nothing: a cancelled lookup's late result
	// must not look like one (resolve.go).
	woken atomic.Bool
}

// NewLoop creates a loop on the monotonic clock.
func NewLoop() (*Loop, error) {
	return NewLoopClock(monotonicClock())
}

// runtimePoller: the Go runtime's own poller (an epoll fd and an eventfd
// of its own) is started with the first loop. The runtime starts it
// lazily, at its first timer (a name lookup's deadline, the scavenger),
// and aborts the whole process ("runtime: eventfd failed") if the fds are
// used up by then: a host that ran out of fds must get EMFILE from asok,
// not lose the process.
var runtimePoller struct {
	sync.Mutex
	started bool
}

// startRuntimePoller adds (and stops) a timer: the runtime's poller starts
// with the first timer in its heap. The two fds it takes are made sure of
// first (taken and given back just before): without them the error is
// returned (EMFILE, ENFILE) and the next loop tries again.
func startRuntimePoller() error {
	runtimePoller.Lock()
	defer runtimePoller.Unlock()
	if runtimePoller.started {
		return nil
	}
	var fds [2]int
	for i := range fds {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			for _, f := range fds[:i] {
				unix.Close(f)
			}
			return sysErr("eventfd", err)
		}
		fds[i] = fd
	}
	unix.Close(fds[0])
	unix.Close(fds[1])
	time.AfterFunc(time.Hour, func() {}).Stop()
	runtimePoller.started = true
	return nil
}

// NewLoopClock creates a loop reading time from now (for tests); now must
// be monotonic.
func NewLoopClock(now func() time.Duration) (*Loop, error) {
	if now == nil {
		return nil, ErrInvalid
	}
	if err := startRuntimePoller(); err != nil {
		return nil, err
	}
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	return &Loop{
		now:   now,
		p:     p,
		socks: make(map[uint64]*Socket),
		rx:    newRxEngine(),
	}, nil
}

// Close closes every socket of the loop (closing the fds it owns; parked
// tokens are dropped, not delivered), then the epoll fd and the eventfd.
// Idempotent.
func (l *Loop) Close() error {
	if l.closed {
		return nil
	}
	l.settleAll() // armed retries end before their sockets do
	l.closed = true
	l.closeLookups()
	for _, s := range l.socks {
		s.closeFd()
		s.teardown(false)
	}
	for s := range l.kept { // closed earlier, never freed: nobody reads it now
		s.rb.release(&l.rx)
	}
	l.kept, l.shares = nil, nil
	l.byTok.reset()
	clear(l.ready)
	l.ready, l.rhead, l.rbase, l.free = nil, 0, 0, nil
	l.owed, l.owedAt = 0, nil
	l.timers = timers{}
	l.freeBuffers()
	return l.p.close()
}

// Now reads the loop's clock (a monotonic time).
func (l *Loop) Now() time.Duration {
	return l.now()
}

// Fd returns the epoll fd: readable when Select has events to process.
// It stays owned by the loop; -1 once closed.
func (l *Loop) Fd() int {
	if l.closed {
		return -1
	}
	return l.p.epfd
}

// Wake makes a blocked (or the next) Select return. Safe from any
// goroutine; repeated calls before Select drains it write only once.
func (l *Loop) Wake() error {
	l.woken.Store(true) // before the write: the Select it wakes sees it
	return l.p.wake()
}

// NumSockets returns the number of live (not closed) sockets.
func (l *Loop) NumSockets() int {
	return len(l.socks)
}

// Timeout returns how long the host may wait before calling Select: 0 if
// tokens are ready, the time to the earliest timer, -1 if there is none.
func (l *Loop) Timeout() time.Duration {
	if l.closed {
		return -1
	}
	l.settleAll() // a taken offer hands the socket to its next waiter
	if l.hasReady() {
		return 0
	}
	dl, ok := l.timers.next()
	if !ok {
		return -1
	}
	return max(dl-l.now(), 0)
}

// Sleep parks tok until d has passed (d <= 0: ready at the next Select).
func (l *Loop) Sleep(d time.Duration, tok Token) error {
	if l.closed {
		return ErrClosed
	}
	if tok == 0 {
		return ErrInvalid
	}
	if l.parked(tok) != nil || l.owes(tok) {
		return ErrBusy
	}
	if len(l.shares) > 0 { // a new operation of tok (shares.go)
		l.leaveShare(tok, nil)
	}
	now := l.now()
	w := l.newWaiter(tok, nil, now)
	l.timers.set(w, addClamp(now, d))
	return nil
}

// Cancel un-parks tok wherever it is; it will not be delivered. If tok was
// the head of a socket queue, the next waiter gets its turn.
func (l *Loop) Cancel(tok Token) {
	if l.closed {
		return
	}
	// A delivery still owed for an earlier park of tok (its socket closed)
	// is dropped too: after Cancel, tok is not delivered at all.
	l.dropReleased(tok, nil)
	l.forgetLookup(tok)
	if s := l.shares[tok]; s != nil { // its share of a closed socket's data
		s.dropShare(tok)
	}
	w := l.parked(tok)
	if w == nil {
		return
	}
	q, s := w.q, w.sock
	wasHead := q != nil && q.head == w && !w.look // (looks take no turns)
	l.release(w)
	if wasHead {
		if q == &s.rq {
			// a receive's partial is a new receive's now (look.go)
			s.lookBuffered()
		}
		l.deliver(q.head)
	}
}

// Select waits up to timeout (< 0: no limit, 0: poll) for tokens to become
// ready and copies at most len(out) of them to out; the rest stay ready for
// the next call. It returns early, with 0, after Wake.
func (l *Loop) Select(timeout time.Duration, out []Token) (int, error) {
	if l.closed {
		return 0, ErrClosed
	}
	l.settleAll()
	var end time.Duration
	if timeout >= 0 {
		end = addClamp(l.now(), timeout)
	}
	for {
		now := l.now()
		l.collectLookups()
		l.expire(now)
		wait := time.Duration(-1)
		if l.hasReady() {
			wait = 0
		} else {
			if timeout >= 0 {
				wait = max(end-now, 0)
			}
			if dl, ok := l.timers.next(); ok {
				if d := max(dl-now, 0); wait < 0 || d < wait {
					wait = d
				}
			}
		}
		evs, err := l.p.wait(msCeil(wait))
		if err == errInterrupted {
			continue // a signal: the timers and the wait left, anew
		}
		if err != nil {
			return 0, err
		}
		woke := l.dispatch(evs)
		if woke {
			l.collectLookups()
			// only the host's Wake returns early: a lookup's post that
			// delivered nothing (cancelled since) waits on
			woke = l.woken.Swap(false)
		}
		l.expire(l.now())
		// Events that made no token ready (e.g. for a socket nobody
		// waits on) do not end the wait; a timed-out epoll_wait does.
		if l.hasReady() || woke || len(evs) == 0 || wait == 0 {
			break
		}
	}
	return l.drain(out), nil
}

// dispatch delivers the looks and queue heads of the sockets named by evs
// and reports whether a Wake was received. Events of unknown ids (a socket
// closed since, whose fd number may be reused) are dropped.
func (l *Loop) dispatch(evs []unix.EpollEvent) bool {
	woke := false
	for i := range evs {
		ev := &evs[i]
		id := eventID(ev)
		if id == wakeID {
			l.p.drainWake()
			woke = true
			continue
		}
		s := l.sockAt(int(uint32(id)))
		if s == nil || s.id != id {
			continue
		}
		if ev.Events&(unix.EPOLLPRI|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			s.noShort = true
		}
		if ev.Events&(readEvents|unix.EPOLLPRI) != 0 {
			s.rdrained = false
		}
		if ev.Events&writeEvent != 0 {
			s.wfull = false
		}
		// every look first (look.go: they read nothing, and a select
		// woken after a receive that took the data would find none); a
		// head parked on its throttle timer waits for that timer only
		if ev.Events&readEvents != 0 {
			l.deliverLooks(&s.rl)
			if !throttledHead(s.rq.head) {
				l.deliver(s.rq.head)
			}
		}
		if ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			s.broken = true
			// a send held by its throttle timer learns of it now (send.go)
			if h := s.wq.head; throttledHead(h) && !h.notified {
				l.timers.stop(h)
				h.throttled, h.wake = false, 0
			}
		}
		if ev.Events&writeEvent != 0 {
			// a look answers as select(2) (selectReady), for which a
			// hang-up alone is not writable: its retry would park again
			// (a unix stream socket shut down both ways with its send
			// buffer full: every event of it carries the hang-up, its
			// registration's first). The queue's head counts it.
			if ev.Events&(unix.EPOLLOUT|unix.EPOLLERR) != 0 {
				l.deliverLooks(&s.wl)
			}
			if !throttledHead(s.wq.head) {
				l.deliver(s.wq.head)
			}
		}
	}
	return woke
}
