package core

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTruncDiscards checks the kernel behaviour readLine rests on: after a
// recv(MSG_PEEK), recv(MSG_TRUNC) on TCP consumes the bytes without
// copying them into the buffer it is given; on a unix stream socket it
// copies them (so unix sockets keep LuaSocket's bufSize reads).
func TestTruncDiscards(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	defer c.Close()
	defer srv.Close()
	us, peer := socketPair(t, l)
	defer us.Close()
	defer unix.Close(peer)
	data := strings.Repeat("0123456789", 3000)
	for _, k := range []struct {
		name   string
		s      *Socket
		write  func()
		copies bool
	}{
		{"tcp", srv, func() { peerSendAll(t, c, data) }, false},
		{"unix", us, func() { peerWrite(t, peer, data) }, true},
	} {
		k.write()
		waitQueued(t, k.s.fd, len(data))
		buf := make([]byte, 20000)
		if n, _, err := unix.Recvfrom(k.s.fd, buf, unix.MSG_PEEK); n != 20000 || err != nil {
			t.Fatalf("%s: peek %d, %v", k.name, n, err)
		}
		clear(buf)
		if n, _, err := unix.Recvfrom(k.s.fd, buf[:12000], unix.MSG_TRUNC); n != 12000 || err != nil {
			t.Fatalf("%s: MSG_TRUNC recv %d, %v", k.name, n, err)
		}
		if copied := buf[0] != 0; copied != k.copies {
			t.Fatalf("%s: MSG_TRUNC copied: %v, want %v", k.name, copied, k.copies)
		}
		n, _, err := unix.Recvfrom(k.s.fd, buf, 0)
		if err != nil || n != 18000 || string(buf[:n]) != data[12000:] {
			t.Fatalf("%s: after the MSG_TRUNC recv: %d bytes, %v; want the last 18000", k.name, n, err)
		}
	}
}

// peerSendAll sends all of data on c (blocking peer side of a core socket:
// loopback takes it into the other end's queue).
func peerSendAll(t testing.TB, c *Socket, data string) {
	t.Helper()
	for rest := []byte(data); len(rest) > 0; {
		n, err := unix.Write(c.fd, rest)
		if err == unix.EAGAIN {
			pollNowWait(c.fd, unix.POLLOUT)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
}

// pollNowWait waits (up to 1 s) for fd to be ready for events.
func pollNowWait(fd int, events int16) {
	p := []unix.PollFd{{Fd: int32(fd), Events: events}}
	unix.Poll(p, 1000)
}

// waitQueued waits (up to 10 s) until fd's receive queue holds n bytes
// (SIOCINQ): loopback has them there soon after the send.
func waitQueued(t testing.TB, fd, n int) {
	t.Helper()
	for i := 0; i < 10000; i++ {
		q, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if q >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("fd %d never held %d bytes", fd, n)
}

// lsReads is what LuaSocket's reads do for a line ending at index end of
// a stream of total bytes whose first pos are read already: bufSize reads
// (the last short) from pos until one holds the '\n'. It returns the
// reads and where the kernel's queue starts after them.
func lsReads(end, pos, total int) (reads, at int) {
	if end < pos {
		return 0, pos // the line is buffered whole
	}
	at = min(total, pos+(end-pos+bufSize)/bufSize*bufSize)
	return (at - pos + bufSize - 1) / bufSize, at
}

// TestLongLineReads: two lines of a length over TCP, the first on a fresh
// socket, the second after it, lines ending just before, at and after
// 8,192*k, with nothing, a little or more than 8 KiB behind them. Each
// receive leaves buffered, and in the kernel, what LuaSocket's 8 KiB
// reads leave, and makes: a line within LuaSocket's first two reads, as
// many recv calls as they; a longer one, on a fresh socket, four for up
// to 80 KiB (two reads, a peek, a discard; ten 8 KiB reads before); after
// a line of 16 KiB or more, a line as long within two reads as many, a
// longer one three for up to 72 KiB (a read, a peek, a discard).
func TestLongLineReads(t *testing.T) {
	for _, n := range []int{8191, 8192, 8193, 16383, 16384, 16385, 24575, 65535, 65536, 65537, 70000, 73727} {
		for _, behind := range []int{0, 5, 9000, 30000} {
			l, _ := newTestLoop(t)
			c, srv := tcpPair(t, l)
			// (room for the whole stream in srv's queue)
			if err := unix.SetsockoptInt(srv.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20); err != nil {
				t.Fatal(err)
			}
			line := strings.Repeat("x", n)
			stream := line + "\n" + line + "\n" + strings.Repeat("y", behind) + "\n"
			peerSendAll(t, c, stream)
			waitQueued(t, srv.fd, len(stream))
			pos := 0
			for i, end := range []int{n, 2*n + 1} {
				r0 := l.Reads()
				res, err := srv.Receive(PatLine, 0, Token(7+i))
				reads := int(l.Reads() - r0)
				if err != nil || string(res) != line {
					t.Fatalf("line %d (+%d), #%d: %d bytes, %v", n, behind, i+1, len(res), err)
				}
				lsr, at := lsReads(end, pos, len(stream))
				pos = at
				if got := srv.Buffered(); got != at-end-1 {
					t.Fatalf("line %d (+%d), #%d: %d bytes buffered after, want %d (LuaSocket's)", n, behind, i+1, got, at-end-1)
				}
				if q, _ := unix.IoctlGetInt(srv.fd, unix.SIOCINQ); q != len(stream)-at {
					t.Fatalf("line %d (+%d), #%d: %d bytes left in the kernel, want %d", n, behind, i+1, q, len(stream)-at)
				}
				want := lsr // LuaSocket's
				hinted := i == 1 && n >= 2*bufSize
				switch {
				case hinted && lsr > 2: // (one read left: a plain read)
					want = 3
				case !hinted && lsr > 2:
					want = 4
				}
				if reads != want {
					t.Fatalf("line %d (+%d), #%d: %d recv calls, want %d (LuaSocket's: %d)", n, behind, i+1, reads, want, lsr)
				}
			}
			c.Close()
			srv.Close()
		}
	}
}

// TestLongLineDrained: a peek that saw less than it asked for and took it
// all emptied the kernel queue (rdrained: a receive with a token parks
// without another syscall, the next arrival's edge wakes it); one that
// took less than it saw did not (the next receive reads: it would never
// be woken).
func TestLongLineDrained(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	defer c.Close()
	defer srv.Close()
	part := strings.Repeat("a", 20000) // no '\n': all of it taken
	peerSendAll(t, c, part)
	waitQueued(t, srv.fd, len(part))
	r0 := l.Reads()
	if _, err := srv.Receive(PatLine, 0, 5); err != ErrWait {
		t.Fatalf("receive of a partial line: %v, want ErrWait", err)
	}
	if reads := l.Reads() - r0; reads != 4 || !srv.rdrained {
		t.Fatalf("%d recv calls, drained %v; want 4 (two reads, a peek that drained, a discard), true", reads, srv.rdrained)
	}
	if got := len(srv.rb.data()); got != 20000 {
		t.Fatalf("buffered %d, want 20000", got)
	}
	// two lines of 20,000 behind it: the peek sees them both and takes
	// the 8 KiB read holding the first '\n', its first
	rest := "\n" + strings.Repeat("b", 20000) + "\n" + strings.Repeat("c", 20000) + "\n"
	peerSendAll(t, c, rest)
	waitQueued(t, srv.fd, len(rest))
	waitFor(t, l, 5)
	r0 = l.Reads()
	res, err := srv.Receive(PatLine, 0, 5)
	if err != nil || string(res) != part {
		t.Fatalf("line: %d bytes, %v", len(res), err)
	}
	if reads := l.Reads() - r0; reads != 2 || srv.rdrained {
		t.Fatalf("%d recv calls, drained %v; want 2 (a peek, a discard of less than it saw), false", reads, srv.rdrained)
	}
	if got, want := len(srv.rb.data()), bufSize-1; got != want { // (the 8 KiB read after the wait)
		t.Fatalf("buffered %d, want %d", got, want)
	}
	for _, want := range []string{strings.Repeat("b", 20000), strings.Repeat("c", 20000)} {
		res, err := srv.Receive(PatLine, 0, 6)
		if err != nil || !bytes.Equal(res, []byte(want)) {
			t.Fatalf("next line: %d bytes, %v; want %d bytes at once", len(res), err, len(want))
		}
	}
}

// TestLongLineUnixSteps: on a unix stream socket a long line is still read
// 8 KiB at a time (MSG_TRUNC copies there): nine reads for 65,537 bytes.
func TestLongLineUnixSteps(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	defer s.Close()
	defer unix.Close(peer)
	line := strings.Repeat("u", 65536)
	peerWrite(t, peer, line+"\n"+strings.Repeat("v", 10000))
	r0 := l.Reads()
	res, err := s.Receive(PatLine, 0, 3)
	if err != nil || string(res) != line {
		t.Fatalf("line: %d bytes, %v", len(res), err)
	}
	if reads := l.Reads() - r0; reads != 9 {
		t.Fatalf("%d recv calls, want 9", reads)
	}
	if s.Buffered() != 9*bufSize-65537 {
		t.Fatalf("buffered %d, want %d", s.Buffered(), 9*bufSize-65537)
	}
}

// TestLongLinesThreeReads: a stream of 64 KiB lines (the benchmark's
// stream cell) over TCP takes at most three recv calls a line after the
// first (a read, a peek, a discard), where LuaSocket's 8 KiB reads take
// eight or nine; what stays buffered is LuaSocket's throughout.
func TestLongLinesThreeReads(t *testing.T) {
	l, _ := newTestLoop(t)
	c, srv := tcpPair(t, l)
	defer c.Close()
	defer srv.Close()
	if err := unix.SetsockoptInt(srv.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20); err != nil {
		t.Fatal(err)
	}
	const lines = 5
	var stream strings.Builder
	for i := 0; i < lines; i++ {
		stream.WriteString(strings.Repeat(string(rune('a'+i)), 65536) + "\n")
	}
	peerSendAll(t, c, stream.String())
	waitQueued(t, srv.fd, stream.Len())
	pos := 0
	for i := 0; i < lines; i++ {
		r0 := l.Reads()
		res, err := srv.Receive(PatLine, 0, 9)
		reads := l.Reads() - r0
		if err != nil || len(res) != 65536 || res[0] != byte('a'+i) {
			t.Fatalf("line %d: %d bytes, %v", i+1, len(res), err)
		}
		_, at := lsReads(65537*(i+1)-1, pos, stream.Len())
		pos = at
		if got := srv.Buffered(); got != at-65537*(i+1) {
			t.Fatalf("line %d: buffered %d, want %d (LuaSocket's)", i+1, got, at-65537*(i+1))
		}
		if i > 0 && reads > 3 {
			t.Fatalf("line %d: %d recv calls, want at most 3", i+1, reads)
		}
	}
}
