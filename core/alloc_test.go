package core

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// trackAlloc is an Allocator that records its live blocks and poisons a
// block when it is freed, so a result read after its buffer was freed, a
// double free or a leak shows up.
type trackAlloc struct {
	t      testing.TB
	live   map[uintptr][]byte
	allocs int
	frees  int
}

// newTrackAlloc makes an empty tracker.
func newTrackAlloc(t testing.TB) *trackAlloc {
	return &trackAlloc{t: t, live: make(map[uintptr][]byte)}
}

// Alloc returns a fresh block of n bytes, filled with 0xAA.
func (a *trackAlloc) Alloc(n int) []byte {
	b := bytes.Repeat([]byte{0xAA}, n)
	a.live[uintptr(unsafe.Pointer(&b[0]))] = b
	a.allocs++
	return b
}

// Free poisons and forgets a live block; anything else is an error.
func (a *trackAlloc) Free(b []byte) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	blk, ok := a.live[base]
	if !ok || cap(b) != len(blk) {
		a.t.Errorf("Free of a block not allocated (or freed twice): %#x cap %d", base, cap(b))
		return
	}
	for i := range blk {
		blk[i] = 0xDD
	}
	delete(a.live, base)
	a.frees++
}

// newAllocLoop makes a test loop receiving into a tracker.
func newAllocLoop(t *testing.T) (*Loop, *trackAlloc) {
	l, _ := newTestLoop(t)
	a := newTrackAlloc(t)
	if err := l.SetAllocator(a); err != nil {
		t.Fatal(err)
	}
	return l, a
}

// TestAllocatorResults checks that every result lies in the allocator's
// memory (Owned) and that close frees every block exactly once.
func TestAllocatorResults(t *testing.T) {
	l, a := newAllocLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "one\r\ntwo\nthree")
	for _, want := range []string{"one", "two"} {
		res, err := s.Receive(PatLine, 0, 0)
		if err != nil || string(res) != want || !s.Owned(res) {
			t.Fatalf("got %q %v owned=%v, want %q", res, err, s.Owned(res), want)
		}
	}
	res, err := s.Receive(PatCount, 5, 0)
	if err != nil || string(res) != "three" || !s.Owned(res) {
		t.Fatalf("count: %q %v", res, err)
	}
	if s.Owned([]byte("three")) || s.Owned(nil) {
		t.Fatal("Owned says yes for Go memory")
	}
	big := strings.Repeat("x", 600<<10) // grows past the pool's largest
	go func() { rawWrite(peer, big); unix.Shutdown(peer, unix.SHUT_WR) }()
	err = drive(t, l, 1, func() (e error) { res, e = s.Receive(PatAll, 0, 1); return e })
	if err != nil || string(res) != big || !s.Owned(res) {
		t.Fatalf("all: %d bytes, %v, owned=%v", len(res), err, s.Owned(res))
	}
	if err := l.SetAllocator(goAllocator{}); err != ErrInvalid {
		t.Fatalf("SetAllocator after a receive: %v", err)
	}
	l.Close()
	if len(a.live) != 0 || a.allocs != a.frees {
		t.Fatalf("after close: %d blocks live, %d allocs, %d frees", len(a.live), a.allocs, a.frees)
	}
}

// TestAllocatorRetire checks that a result in a buffer core let go of (a
// big buffer drained at EOF, too large for the pool) stays intact through
// other calls until the next receive, which frees the buffer.
func TestAllocatorRetire(t *testing.T) {
	l, a := newAllocLoop(t)
	s, peer := socketPair(t, l)
	s2, peer2 := socketPair(t, l)
	big := strings.Repeat("0123456789", 40<<10) // 400 KiB > maxPoolBuf
	go func() { rawWrite(peer, big); unix.Shutdown(peer, unix.SHUT_WR) }()
	var res []byte
	err := drive(t, l, 1, func() (e error) { // EOF ends it: partial
		res, e = s.Receive(PatCount, len(big)+1, 1)
		return e
	})
	if err != ErrClosed || string(res) != big {
		t.Fatalf("got %d bytes, %v", len(res), err)
	}
	frees := a.frees
	if err := s.Close(); err != nil { // a call on the loop, not a receive
		t.Fatal(err)
	}
	if a.frees != frees || string(res) != big {
		t.Fatal("the last result was freed before the next receive")
	}
	peerWrite(t, peer2, "next\n")
	if r2, err := s2.Receive(PatLine, 0, 0); err != nil || string(r2) != "next" {
		t.Fatalf("next receive: %q %v", r2, err)
	}
	if a.frees == frees {
		t.Fatal("the retired big buffer was not freed at the next receive")
	}
}

// TestAllocatorUnreadAliasing unreads the last result itself (a caller
// handing back the pointer it got): the data must come back intact.
func TestAllocatorUnreadAliasing(t *testing.T) {
	l, _ := newAllocLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "abc\ndef\n")
	res, err := s.Receive(PatLine, 0, 0)
	if err != nil || string(res) != "abc" {
		t.Fatal(string(res), err)
	}
	if err := s.Unread(res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"abcdef"} {
		if r, err := s.Receive(PatLine, 0, 0); err != nil || string(r) != want {
			t.Fatalf("got %q %v, want %q", r, err, want)
		}
	}
}

// TestAllocatorDgram reads datagrams into the scratch buffer and, beyond
// it, into the large-datagram buffer: both from the allocator.
func TestAllocatorDgram(t *testing.T) {
	l, a := newAllocLoop(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	s, err := l.Wrap(fds[0], true)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{100, 90000, 120000, 50} {
		d := bytes.Repeat([]byte{byte(size)}, size)
		if _, err := unix.Write(fds[1], d); err != nil {
			t.Skip("cannot send a large unix datagram:", err)
		}
		res, err := s.Receive(PatCount, 200000, 0)
		if err != nil || !bytes.Equal(res, d) || !s.Owned(res) {
			t.Fatalf("size %d: %d bytes, %v, owned=%v", size, len(res), err, s.Owned(res))
		}
	}
	l.Close()
	if len(a.live) != 0 {
		t.Fatalf("%d blocks live after close", len(a.live))
	}
}

// TestAllocatorNoAllocs checks that steady-state receives, straight from
// the scratch buffer and from pooled socket buffers, allocate nothing.
func TestAllocatorNoAllocs(t *testing.T) {
	l, a := newAllocLoop(t)
	s, peer := socketPair(t, l)
	line := []byte("GET /index.html HTTP/1.1\r\n")
	batch := bytes.Repeat(line, 8)
	var fail error
	op := func() {
		unix.Write(peer, batch)
		for range 8 {
			if res, err := s.Receive(PatLine, 0, 0); err != nil || len(res) != len(line)-2 {
				fail = err
			}
		}
		unix.Write(peer, line)
		if _, err := s.Receive(PatLine, 0, 0); err != nil {
			fail = err
		}
	}
	op()
	allocs := a.allocs
	if n := testing.AllocsPerRun(200, op); n != 0 || fail != nil {
		t.Fatalf("%v allocs per op (err %v)", n, fail)
	}
	if a.allocs != allocs {
		t.Fatalf("%d Alloc calls in steady state", a.allocs-allocs)
	}
}

// rawWrite writes all of p to fd from a helper goroutine (errors end it:
// the receiving side then fails).
func rawWrite(fd int, p string) {
	for b := []byte(p); len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err != nil {
			return
		}
		b = b[n:]
	}
}

// BenchmarkReceiveLineAlloc reads one line per op straight from the
// scratch buffer and 64-line batches from pooled socket buffers, on a loop
// with an Allocator (tok 0: the read is never skipped for a pending edge).
func BenchmarkReceiveLineAlloc(b *testing.B) {
	l, _ := newTestLoop(b)
	if err := l.SetAllocator(newTrackAlloc(b)); err != nil {
		b.Fatal(err)
	}
	s, peer := socketPair(b, l)
	batch := bytes.Repeat([]byte("Header-Name: some value here\r\n"), 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%64 == 0 {
			unix.Write(peer, batch)
		}
		i++
		if res, err := s.Receive(PatLine, 0, 0); err != nil || len(res) != 28 {
			b.Fatalf("%q %v", res, err)
		}
	}
}

// TestAllocatorDgramNoAllocs checks that a steady UDP exchange receives
// into the allocator's memory without allocating.
func TestAllocatorDgramNoAllocs(t *testing.T) {
	l, a := newAllocLoop(t)
	r, ip, port := udpBound(t, l, 4)
	w, _, _ := udpBound(t, l, 4)
	msg := []byte("datagram payload")
	var fail error
	op := func() {
		if _, err := w.SendTo(msg, ip, port, 0); err != nil {
			fail = err
			return
		}
		res, _, _, err := r.ReceiveFrom(100, 0)
		if err != nil || !bytes.Equal(res, msg) || !r.Owned(res) {
			fail = ErrInvalid
		}
	}
	op()
	allocs := a.allocs
	if n := testing.AllocsPerRun(200, op); n != 0 || fail != nil || a.allocs != allocs {
		t.Fatalf("%v allocs per op, %d Alloc calls (err %v)", n, a.allocs-allocs, fail)
	}
}

// TestAllocatorFreeKept checks that the buffer a socket closed with unread
// data keeps (receives after a close still get it) is given back when the
// socket is freed, and at the loop's close for a socket closed but never
// freed: 200 sockets freed that way leave the live blocks bounded by the
// pool, not one block each.
func TestAllocatorFreeKept(t *testing.T) {
	l, a := newAllocLoop(t)
	for i := 0; i < 200; i++ {
		s, peer := socketPair(t, l)
		peerWrite(t, peer, "a\nb\n")
		if res, err := s.Receive(PatLine, 0, 0); err != nil || string(res) != "a" {
			t.Fatalf("receive %d: %q %v", i, res, err)
		}
		if i%2 == 0 {
			s.Close() // closed first, then freed: the buffer is kept until then
			if res, err := s.Receive(PatLine, 0, 0); err != nil || string(res) != "b" {
				t.Fatalf("receive after close %d: %q %v", i, res, err)
			}
			s.Free()
			continue
		}
		if err := s.Free(); err != nil { // freed with "b\n" unread
			t.Fatal(err)
		}
		unix.Close(peer)
	}
	if live := len(a.live); live > maxPool+4 {
		t.Fatalf("%d blocks live after 200 sockets freed with unread data", live)
	}
	s, peer := socketPair(t, l) // closed with unread data, never freed
	peerWrite(t, peer, "a\nb\n")
	if res, err := s.Receive(PatLine, 0, 0); err != nil || string(res) != "a" {
		t.Fatalf("receive: %q %v", res, err)
	}
	s.Close()
	l.Close()
	if len(a.live) != 0 || a.allocs != a.frees {
		t.Fatalf("after the loop's close: %d blocks live, %d allocs, %d frees", len(a.live), a.allocs, a.frees)
	}
}
