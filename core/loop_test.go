package core

import (
	"container/heap"
	"math/rand"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSleepOrder checks that sleepers fire in deadline order, equal
// deadlines in the order they were set, and only once due.
func TestSleepOrder(t *testing.T) {
	l, clk := newTestLoop(t)
	durs := []time.Duration{3, 1, 2, 1, 3, 0, -5}
	for i, d := range durs {
		if err := l.Sleep(d*time.Second, Token(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Timeout(); got != 0 {
		t.Fatalf("Timeout = %v, want 0 (a sleeper is due)", got)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{6, 7}) {
		t.Fatalf("at +0s got %v, want [6 7]", got)
	}
	if got := l.Timeout(); got != time.Second {
		t.Fatalf("Timeout = %v, want 1s", got)
	}
	clk.t += time.Second
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2, 4}) {
		t.Fatalf("at +1s got %v, want [2 4]", got)
	}
	clk.t += 2 * time.Second
	out := make([]Token, 2)
	n, err := l.Select(0, out)
	if err != nil || n != 2 || !slices.Equal(out, []Token{3, 1}) {
		t.Fatalf("at +3s got %v %v, want [3 1]", out[:n], err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{5}) {
		t.Fatalf("rest got %v, want [5]", got)
	}
	if got := l.Timeout(); got != -1 {
		t.Fatalf("Timeout = %v, want -1", got)
	}
	if err := l.Sleep(time.Second, 1); err != nil { // delivered tokens are free again
		t.Fatalf("re-sleep: %v", err)
	}
}

// TestSleepManyRandom checks heap order for many sleepers.
func TestSleepManyRandom(t *testing.T) {
	l, clk := newTestLoop(t)
	r := rand.New(rand.NewSource(1))
	type sl struct {
		d   time.Duration
		tok Token
	}
	var all []sl
	for i := 1; i <= 2000; i++ {
		d := time.Duration(r.Intn(50)) * time.Millisecond
		all = append(all, sl{d, Token(i)})
		if err := l.Sleep(d, Token(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 500; i++ { // cancel a quarter
		tok := Token(r.Intn(2000) + 1)
		l.Cancel(tok)
		all = slices.DeleteFunc(all, func(s sl) bool { return s.tok == tok })
	}
	slices.SortStableFunc(all, func(a, b sl) int { return int(a.d - b.d) })
	clk.t += time.Second
	out := make([]Token, 3000)
	n, err := l.Select(0, out)
	if err != nil || n != len(all) {
		t.Fatalf("got %d tokens (%v), want %d", n, err, len(all))
	}
	for i, s := range all {
		if out[i] != s.tok {
			t.Fatalf("position %d: got %d, want %d", i, out[i], s.tok)
		}
	}
}

// TestSleepErrors checks token 0, busy tokens and overflow clamping.
func TestSleepErrors(t *testing.T) {
	l, _ := newTestLoop(t)
	if err := l.Sleep(time.Second, 0); err != ErrInvalid {
		t.Fatalf("token 0: %v", err)
	}
	if err := l.Sleep(1<<62, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Sleep(time.Second, 1); err != ErrBusy {
		t.Fatalf("busy: %v", err)
	}
	if err := l.Sleep(time.Duration(1<<63-1), 2); err != nil {
		t.Fatal(err)
	}
	if w := l.byTok.get(2); w.deadline != maxTime {
		t.Fatalf("overflow not clamped: %v", w.deadline)
	}
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}

// TestCancel checks that a cancelled sleeper, or a delivered but not yet
// drained one, is not returned, and that its token is free again.
func TestCancel(t *testing.T) {
	l, clk := newTestLoop(t)
	l.Sleep(time.Second, 1)
	l.Sleep(time.Second, 2)
	l.Sleep(0, 3)
	l.Cancel(1)
	l.Cancel(99) // not parked: no-op
	clk.t += time.Second
	l.expire(clk.t) // 2 and 3 delivered, not yet drained
	l.Cancel(3)
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2]", got)
	}
	if err := l.Sleep(0, 1); err != nil {
		t.Fatalf("cancelled token not free: %v", err)
	}
	if l.byTok.len() != 1 || len(l.timers.h) != 1 {
		t.Fatalf("leaked waiters: %d tokens, %d timers", l.byTok.len(), len(l.timers.h))
	}
}

// TestWake checks that Wake from another goroutine ends a blocking
// Select, and that repeated wakes are coalesced and drained.
func TestWake(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(20 * time.Millisecond)
		for i := 0; i < 3; i++ {
			if err := l.Wake(); err != nil {
				t.Error(err)
			}
		}
	}()
	n, err := l.Select(-1, make([]Token, 4))
	<-done
	if n != 0 || err != nil {
		t.Fatalf("Select = %d, %v", n, err)
	}
	l.Select(0, nil) // drain any wake written after the first returned
	var buf [8]byte
	if _, err := unix.Read(l.p.efd, buf[:]); err != unix.EAGAIN {
		t.Fatalf("eventfd not drained: %v", err)
	}
	if l.p.pending.Load() != 0 {
		t.Fatal("wake flag not re-armed")
	}
	l.Wake()
	if n, err := l.Select(-1, nil); n != 0 || err != nil {
		t.Fatalf("second wake: %d %v", n, err)
	}
}

// TestLoopClose checks that Close closes owned fds only, drops tokens and
// is idempotent; later calls report ErrClosed.
func TestLoopClose(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	defer unix.Close(fds[1])
	owned, _ := l.Wrap(fds[0], true)
	fds2, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	defer unix.Close(fds2[0])
	defer unix.Close(fds2[1])
	borrowed, _ := l.Wrap(fds2[0], false)
	if _, err := owned.Receive(PatLine, 0, 1); err != ErrWait {
		t.Fatal(err)
	}
	l.Sleep(time.Second, 2)
	epfd := l.Fd()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("owned fd still open: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(fds2[0]), unix.F_GETFD, 0); err != nil {
		t.Fatalf("borrowed fd closed: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(epfd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("epoll fd still open: %v", err)
	}
	if l.Fd() != -1 || l.NumSockets() != 0 || owned.Fd() != -1 || borrowed.Fd() != -1 {
		t.Fatal("state not cleared")
	}
	if _, err := l.Select(0, nil); err != ErrClosed {
		t.Fatalf("Select after close: %v", err)
	}
	if _, err := owned.Receive(PatLine, 0, 1); err != ErrClosed {
		t.Fatalf("Receive after close: %v", err)
	}
	if err := l.Wake(); err != ErrClosed {
		t.Fatalf("Wake after close: %v", err)
	}
}

// TestTimerHeapInvariant checks index bookkeeping under random removals.
func TestTimerHeapInvariant(t *testing.T) {
	var tm timers
	r := rand.New(rand.NewSource(2))
	var ws []*waiter
	for i := 0; i < 500; i++ {
		w := &waiter{tidx: -1}
		tm.set(w, time.Duration(r.Intn(100)))
		ws = append(ws, w)
	}
	for _, i := range r.Perm(500)[:200] {
		tm.stop(ws[i])
		tm.stop(ws[i]) // twice: no-op
		if ws[i].tidx != -1 {
			t.Fatal("stopped timer keeps an index")
		}
	}
	for i, w := range tm.h {
		if w.tidx != i {
			t.Fatalf("index %d holds tidx %d", i, w.tidx)
		}
	}
	last := time.Duration(-1)
	var lastSeq uint64
	for tm.h.Len() > 0 {
		w := heap.Pop(&tm.h).(*waiter)
		if w.deadline < last || (w.deadline == last && w.seq < lastSeq) {
			t.Fatal("heap order broken")
		}
		last, lastSeq = w.deadline, w.seq
	}
}

// TestClockHelpers checks overflow clamping and millisecond rounding.
func TestClockHelpers(t *testing.T) {
	if addClamp(maxTime-5, 10) != maxTime || addClamp(5, -3) != 5 || addClamp(5, 3) != 8 {
		t.Fatal("addClamp")
	}
	cases := map[time.Duration]int{-1: -1, 0: 0, 1: 1, time.Millisecond: 1, time.Millisecond + 1: 2, maxTime: 1<<31 - 1}
	for d, want := range cases {
		if got := msCeil(d); got != want {
			t.Errorf("msCeil(%v) = %d, want %d", d, got, want)
		}
	}
}
