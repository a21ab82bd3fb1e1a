package main

import (
	"testing"
	"unsafe"

	"github.com/asok-lua/asok/core"
	"golang.org/x/sys/unix"
)

// TestResultPtr checks that a received result is handed out in place (C
// memory from cAllocator) and that Go memory is copied to the output
// buffer instead.
func TestResultPtr(t *testing.T) {
	l, err := core.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	lh := newLoopHandle(l)
	if lh == nil {
		t.Fatal("newLoopHandle failed")
	}
	defer lh.free()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	s, err := l.Wrap(fds[0], true)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fds[1], []byte("hello\nworld\n"))
	for _, want := range []string{"hello", "world"} {
		res, err := s.Receive(core.PatLine, 0, 0)
		if err != nil || string(res) != want {
			t.Fatalf("got %q %v", res, err)
		}
		p, ok := lh.resultPtr(s, res)
		if !ok || p != unsafe.Pointer(&res[0]) || p == lh.out {
			t.Fatalf("%q: not handed out in place (%p, out %p)", want, p, lh.out)
		}
	}
	if l.SetAllocator(cAllocator{}) != core.ErrInvalid {
		t.Fatal("SetAllocator accepted after a receive")
	}
	goMem := []byte("go memory")
	p, ok := lh.resultPtr(s, goMem)
	if !ok || p != lh.out || string(unsafe.Slice((*byte)(p), len(goMem))) != "go memory" {
		t.Fatal("Go memory not copied to the output buffer")
	}
}

// TestCAllocator allocates, writes and frees C blocks.
func TestCAllocator(t *testing.T) {
	var a cAllocator
	for _, n := range []int{0, 1, 4096, 1 << 20} {
		b := a.Alloc(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("Alloc(%d): len %d cap %d", n, len(b), cap(b))
		}
		for i := range b {
			b[i] = byte(i)
		}
		a.Free(b[:0])
	}
}

// TestAlignedBlocks checks that blocks of alignFrom bytes and more start
// on a page, below and above glibc's mmap threshold (128 KiB: malloc
// returned such a block 16 bytes past a page).
func TestAlignedBlocks(t *testing.T) {
	var a cAllocator
	for _, n := range []int{alignFrom, 64 << 10, 147456, 1 << 20} {
		b := a.Alloc(n)
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(b))); p%4096 != 0 {
			t.Errorf("Alloc(%d) = %#x: %d bytes past a page", n, p, p%4096)
		}
		a.Free(b)
	}
}

// TestLongLineAligned receives 64 KiB lines over TCP on a loop with
// cAllocator, as the harness's stream cell does, and checks that each
// line, read into its buffer by the kernel, is handed out in place from
// the start of a page (the kernel's copy into a buffer 16 bytes past a
// page ran several times slower: alignFrom).
func TestLongLineAligned(t *testing.T) {
	l, err := core.NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	lh := newLoopHandle(l)
	if lh == nil {
		t.Fatal("newLoopHandle failed")
	}
	defer lh.free()
	srv, cli := tcpPair(t)
	defer unix.Close(cli)
	s, err := l.Wrap(srv, true)
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64<<10)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	line[len(line)-1] = '\n'
	for i := 0; i < 3; i++ {
		if n, err := unix.Write(cli, line); n != len(line) || err != nil {
			t.Fatalf("write: %d %v", n, err)
		}
		for spins := 0; ; spins++ { // until the kernel holds the whole line
			n, err := unix.IoctlGetInt(srv, unix.SIOCINQ)
			if err != nil || spins == 1e6 {
				t.Fatalf("SIOCINQ: %d %v", n, err)
			}
			if n == len(line) {
				break
			}
		}
		res, err := s.Receive(core.PatLine, 0, 0)
		if err != nil || len(res) != len(line)-1 {
			t.Fatalf("line %d: %d bytes, %v", i, len(res), err)
		}
		p, ok := lh.resultPtr(s, res)
		if !ok || p != unsafe.Pointer(&res[0]) {
			t.Fatalf("line %d: not handed out in place", i)
		}
		if off := uintptr(p) % 4096; off != 0 {
			t.Errorf("line %d: received %d bytes past a page", i, off)
		}
	}
}

// tcpPair returns the two ends of a loopback TCP connection (blocking
// fds; the first is the accepted one).
func tcpPair(t *testing.T) (int, int) {
	t.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(cli, sa); err != nil {
		t.Fatal(err)
	}
	srv, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	return srv, cli
}
