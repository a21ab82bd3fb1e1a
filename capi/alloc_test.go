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
