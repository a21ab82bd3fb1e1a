package core

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"golang.org/x/sys/unix"
)

// queueReader models a socket's kernel receive queue: stream's first sent
// bytes have arrived, read from pos on; errAgain when it holds nothing,
// EOF once closed.
type queueReader struct {
	stream    []byte
	sent, pos int
	closed    bool
}

// readRaw implements rawReader: one read takes what is queued, up to len(p).
func (q *queueReader) readRaw(p []byte) (int, error) {
	if q.pos == q.sent {
		if q.closed {
			return 0, nil
		}
		return 0, errAgain
	}
	n := copy(p, q.stream[q.pos:q.sent])
	q.pos += n
	return n, nil
}

// readLine implements rawReader (LuaSocket's bufSize reads).
func (q *queueReader) readLine(p []byte) (int, error) {
	return readLineSteps(q, p)
}

// tcpPair6 is tcpPair over IPv6 loopback (skipped without it).
func tcpPair6(t testing.TB, l *Loop) (client, server *Socket) {
	t.Helper()
	ln, err := l.NewTCP(6)
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Bind("::1", 0); err != nil {
		ln.Close()
		t.Skipf("no IPv6 loopback: %v", err)
	}
	if err := ln.Listen(0); err != nil {
		t.Fatal(err)
	}
	_, port, _ := ln.LocalAddr()
	return acceptPair(t, l, ln, 6, "::1", port)
}

// lineLen draws a line length: short, about LuaSocket's reads (8 KiB,
// 16 KiB: one or two), or long (readLine's peek, up to past 64 KiB).
func lineLen(r *rand.Rand) int {
	switch r.Intn(6) {
	case 0, 1:
		return r.Intn(100)
	case 2:
		return bufSize - 2 + r.Intn(5)
	case 3:
		return 2*bufSize - 2 + r.Intn(5)
	}
	return 2*bufSize + r.Intn(60000)
}

// TestLongLineModel: seeded streams of lines of every length (CRs in some,
// a line cut across pieces) arrive piece by piece on a TCP socket (IPv4,
// IPv6); after each piece, receives of lines, counts and '*a' that never
// wait (token 0: a would-block is a timeout with the partial result)
// return what LuaSocket's buffer returns over the same arrivals, and leave
// what it leaves: buffered (dirty()), in the kernel (a close then sends a
// reset) and counted (getstats); at the end the peer's close, read as
// LuaSocket reads it. The receives of long lines are core's readLine
// (recv(MSG_PEEK), recv(MSG_TRUNC)), the socket's hint set and cleared by
// the lines before.
func TestLongLineModel(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for seed := int64(1); seed <= 12; seed++ {
			longLineModel(t, seed, v6)
		}
	}
}

// TestLongLineModelWaits: the same streams read by receives with a token
// that wait for the next piece, as a LuaSocket receive with no timeout
// does: each is woken by the piece's edge (none is missed: the short-read
// shortcut, rdrained, is set by a peek only when the kernel's queue was
// empty), a receive that waits again has left nothing in the kernel, and
// each ends with LuaSocket's result, buffered, kernel and getstats.
func TestLongLineModelWaits(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for seed := int64(1); seed <= 12; seed++ {
			longLineWaits(t, seed, v6)
		}
	}
}

// lineStream is a seeded stream of lines of every length (lineLen), CRs in
// some.
func lineStream(r *rand.Rand) []byte {
	var stream []byte
	for len(stream) < 600000 {
		line := bytes.Repeat([]byte{byte('a' + r.Intn(26))}, lineLen(r))
		if len(line) > 0 && r.Intn(5) == 0 {
			line[r.Intn(len(line))] = '\r'
		}
		stream = append(append(stream, line...), '\n')
	}
	return stream
}

// modelPair is a TCP pair (IPv6 or not) whose receiving end holds 4 MiB.
func modelPair(t *testing.T, l *Loop, v6 bool) (c, srv *Socket) {
	if v6 {
		c, srv = tcpPair6(t, l)
	} else {
		c, srv = tcpPair(t, l)
	}
	if err := unix.SetsockoptInt(srv.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// checkState compares srv's buffered bytes, kernel queue and getstats
// count with LuaSocket's over q.
func checkState(t *testing.T, what string, srv *Socket, q *queueReader, ls *lsBuffer) {
	t.Helper()
	if srv.Buffered() != len(ls.buf) {
		t.Fatalf("%s: %d bytes buffered, LuaSocket's buffer %d", what, srv.Buffered(), len(ls.buf))
	}
	if inq, _ := unix.IoctlGetInt(srv.fd, unix.SIOCINQ); inq != q.sent-q.pos {
		t.Fatalf("%s: %d bytes in the kernel, want %d", what, inq, q.sent-q.pos)
	}
	if srv.Received() != uint64(q.pos-len(ls.buf)) { // (getstats: what receives took)
		t.Fatalf("%s: received %d, want %d", what, srv.Received(), q.pos-len(ls.buf))
	}
}

// drawPattern draws a receive: mostly lines, some counts, a few '*a'.
func drawPattern(r *rand.Rand) (Pattern, int) {
	counts := []int{0, 1, 100, bufSize, bufSize + 1, 20000, 70000}
	switch r.Intn(10) {
	case 0, 1:
		return PatCount, counts[r.Intn(len(counts))]
	case 2:
		if r.Intn(4) == 0 {
			return PatAll, 0
		}
	}
	return PatLine, 0
}

func longLineWaits(t *testing.T, seed int64, v6 bool) {
	r := rand.New(rand.NewSource(seed))
	l, _ := newTestLoop(t)
	c, srv := modelPair(t, l, v6)
	defer c.Close()
	defer srv.Close()
	stream := lineStream(r)
	q := &queueReader{stream: stream}
	ls := &lsBuffer{rd: q}
	tok := Token(100)
	var p Pattern
	var n int
	var part []byte // the model's partial result so far (a waiting receive)
	waiting, waits := false, 0
	for step := 0; ; step++ {
		what := fmt.Sprintf("v6 %v seed %d step %d", v6, seed, step)
		if waiting { // the next piece (or the end), then its edge
			if q.sent < len(stream) {
				k := min(len(stream)-q.sent, 1+r.Intn(120000))
				peerSendAll(t, c, string(stream[q.sent:q.sent+k]))
				q.sent += k
				waitQueued(t, srv.fd, q.sent-q.pos)
			} else {
				c.Close()
				q.closed = true
			}
			waitFor(t, l, tok)
		} else {
			p, n = drawPattern(r)
			part = nil
			tok++
		}
		// the model: a blocking receive goes on where it waited
		mn := n
		if p == PatCount {
			mn = max(n-len(part), 0)
		}
		want, wantErr := ls.receive(p, mn)
		if wantErr == ErrClosed && p == PatAll && len(part) > 0 {
			wantErr = nil
		}
		want = append(append([]byte(nil), part...), want...)
		got, err := srv.Receive(p, n, tok)
		if err == ErrWait {
			if wantErr != ErrTimeout {
				t.Fatalf("%s (%d,%d): waits; LuaSocket's %d bytes, %v", what, p, n, len(want), wantErr)
			}
			part, waiting = want, true
			if inq, _ := unix.IoctlGetInt(srv.fd, unix.SIOCINQ); inq != q.sent-q.pos {
				t.Fatalf("%s: waits with %d bytes in the kernel, want %d", what, inq, q.sent-q.pos)
			}
			waits++
			continue
		}
		waiting = false
		if err != wantErr || !bytes.Equal(got, want) {
			t.Fatalf("%s (%d,%d): %d bytes, %v; LuaSocket's %d bytes, %v", what, p, n, len(got), err, len(want), wantErr)
		}
		checkState(t, what, srv, q, ls)
		if err == ErrClosed || (q.closed && p == PatAll) {
			if waits < 5 {
				t.Fatalf("%s: %d waits", what, waits)
			}
			t.Logf("%s: %d waits, %d recv calls", what, waits, l.Reads())
			return
		}
	}
}

func longLineModel(t *testing.T, seed int64, v6 bool) {
	r := rand.New(rand.NewSource(seed))
	l, _ := newTestLoop(t)
	var c, srv *Socket
	if v6 {
		c, srv = tcpPair6(t, l)
	} else {
		c, srv = tcpPair(t, l)
	}
	defer c.Close()
	defer srv.Close()
	if err := unix.SetsockoptInt(srv.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
		t.Fatal(err)
	}
	stream := lineStream(r)
	q := &queueReader{stream: stream}
	ls := &lsBuffer{rd: q}
	counts := []int{0, 1, 100, bufSize, bufSize + 1, 20000, 70000}
	name := func(step int) string { return fmt.Sprintf("v6 %v seed %d step %d", v6, seed, step) }
	for step := 0; ; step++ {
		if q.sent < len(stream) {
			k := min(len(stream)-q.sent, 1+r.Intn(120000))
			peerSendAll(t, c, string(stream[q.sent:q.sent+k]))
			q.sent += k
			waitQueued(t, srv.fd, q.sent-q.pos)
		} else if !q.closed {
			c.Close()
			q.closed = true
			pollNowWait(srv.fd, unix.POLLRDHUP) // (the FIN is in)
		} else {
			break
		}
		for i := r.Intn(6); i >= 0; i-- {
			p, n := PatLine, 0
			switch r.Intn(10) {
			case 0, 1:
				p, n = PatCount, counts[r.Intn(len(counts))]
			case 2:
				if r.Intn(4) == 0 {
					p = PatAll
				}
			}
			want, wantErr := ls.receive(p, n)
			got, err := srv.Receive(p, n, 0)
			if err != wantErr || !bytes.Equal(got, want) {
				t.Fatalf("%s (%d,%d): %d bytes, %v; LuaSocket's %d bytes, %v", name(step), p, n, len(got), err, len(want), wantErr)
			}
			if srv.Buffered() != len(ls.buf) {
				t.Fatalf("%s (%d,%d): %d bytes buffered, LuaSocket's buffer %d", name(step), p, n, srv.Buffered(), len(ls.buf))
			}
			if inq, _ := unix.IoctlGetInt(srv.fd, unix.SIOCINQ); inq != q.sent-q.pos {
				t.Fatalf("%s (%d,%d): %d bytes in the kernel, want %d", name(step), p, n, inq, q.sent-q.pos)
			}
			if srv.Received() != uint64(q.pos-len(ls.buf)) { // (getstats: what receives took)
				t.Fatalf("%s (%d,%d): received %d, want %d", name(step), p, n, srv.Received(), q.pos-len(ls.buf))
			}
			if err == ErrClosed {
				return
			}
		}
	}
}
