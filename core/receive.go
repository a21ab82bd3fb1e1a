package core

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// scratchSize is the size of the per-loop read buffer.
const scratchSize = 64 << 10

// directRead: once this much of an unfinished result is buffered, reads go
// straight into the socket's buffer (no copy from scratch). Below it they
// go through scratch, so that a socket holding a few bytes holds a small
// buffer.
const directRead = 16 << 10

// Bounds of the per-loop pool of socket receive buffers.
const (
	minBuf     = 4 << 10
	maxPoolBuf = 256 << 10
	maxPool    = 32
)

// bufSize is LuaSocket's BUF_SIZE (buffer.c): its buffer reads at most
// this much per recv, and only once it is empty. What it holds after a
// call (the rest of its last read) shows: in dirty(), in what a receive
// after close still returns, and in the bytes left in the kernel (a close
// with unread bytes sends a reset). A stream receive reads as much as
// LuaSocket's reads would add up to (readSize), never more.
const bufSize = 8192

// readSize returns how many bytes a stream receive of pattern p (count n),
// with have bytes buffered, asks the kernel for next, at most room (a
// multiple of bufSize, or less than one: then room), as LuaSocket's
// buffer reads would add up to: a line reads bufSize (its end may be in
// the first bytes), a count the rest of n rounded up to bufSize (LuaSocket
// reads bufSize after bufSize until it has n; a count of 0 makes one such
// read), '*a' any amount (it keeps nothing: everything up to EOF is the
// result, or the partial).
func readSize(p Pattern, n, have, room int) int {
	size := bufSize
	switch {
	case p == PatAll:
		size = room
	case p == PatCount && n-have > bufSize:
		size = (n - have + bufSize - 1) / bufSize * bufSize
	}
	if size > room {
		size = max(room/bufSize*bufSize, min(room, bufSize))
	}
	return size
}

// longLine reports whether a receive of pattern p, under receive limit
// limit, whose have buffered bytes hold no complete result, reads the
// rest of its line with readLine: a line already longer than two of
// LuaSocket's reads, or than one when the last line taken from the socket
// that was longer than one was longer than two (hinted: rxbuf.long). A
// short line still costs one recv and a line of up to two reads two, as
// LuaSocket's (but for one after a long line: three); a stream of long
// lines three for up to 72 KiB (a read, a peek, a discard), short lines
// between them or not. Not
// under a limit: its reads stay bufSize (what a cut leaves buffered is
// asok's own answer, kept as it was).
func longLine(p Pattern, have, limit int, hinted bool) bool {
	return p == PatLine && limit == 0 && (have >= 2*bufSize || (hinted && have >= bufSize))
}

// lineAsk is what a readLine asks for in room bytes for a line with have
// bytes buffered, last the length of the socket's last long line
// (rxbuf.long; 0: none): while the line is no longer than that, what it
// still needs if it is as long, rounded up to bufSize (a peek copies all
// it finds up to its size: a stream of lines of one length copies no
// byte LuaSocket's reads would not take), else lineRoom.
func lineAsk(room, have, last int) int {
	size := lineRoom(room)
	if need := last + 1 - have; need > 0 && need < size {
		size = (need + bufSize - 1) / bufSize * bufSize
	}
	return size
}

// lineRoom is the most a readLine asks for in room bytes: scratchSize at
// most (a peek copies all it finds up to its size, whatever the line
// takes), a multiple of bufSize (where LuaSocket's reads end); 0 if room
// holds no bufSize.
func lineRoom(room int) int {
	return min(room, scratchSize) / bufSize * bufSize
}

// errAgain is the internal "would block" of a raw read.
const errAgain = unix.EAGAIN

// rawReader is a transport the receive engine reads from: n > 0 bytes,
// (0, nil) at EOF, errAgain when it would block, or another error.
// readLine is readRaw for a line past LuaSocket's first read (longLine):
// it takes what LuaSocket's bufSize reads would, one after another, until
// one holds a '\n' or comes back short, at most len(p) (a multiple of
// bufSize); it may take less (one bufSize read).
type rawReader interface {
	readRaw(p []byte) (int, error)
	readLine(p []byte) (int, error)
}

// rxEngine holds the per-loop scratch buffer all reads go into, a pool of
// socket buffers (allocated lazily, released when drained) and the buffers
// retired since the last receive; all from alloc (see alloc.go).
type rxEngine struct {
	scratch []byte
	pool    [][]byte
	retired [][]byte
	alloc   Allocator
	used    bool // alloc has been called: SetAllocator is too late
}

// rxbuf is one socket's receive buffer: its data is buf[r:]; scan counts
// leading data bytes known to hold no '\n'; long: the length of the last
// line taken from it of those longer than one bufSize read if it was
// longer than two, else 0 (longLine's hint, lineAsk's size; kept when the
// buffer is released).
type rxbuf struct {
	buf  []byte
	r    int
	scan int
	long int
}

// newRxEngine makes an engine on Go memory; the scratch buffer is
// allocated at the first receive.
func newRxEngine() rxEngine {
	return rxEngine{alloc: goAllocator{}, retired: make([][]byte, 0, maxPool)}
}

// begin starts a receive: the last result is no longer needed, so the
// retired buffers are pooled or freed; it returns the scratch buffer.
func (e *rxEngine) begin() []byte {
	if len(e.retired) > 0 {
		e.flush()
	}
	if e.scratch == nil {
		e.scratch = e.allocBuf(scratchSize)[:scratchSize]
	}
	return e.scratch
}

// get returns an empty buffer with capacity >= need, from the pool if it can.
func (e *rxEngine) get(need int) []byte {
	for i := len(e.pool) - 1; i >= 0; i-- {
		if b := e.pool[i]; cap(b) >= need {
			e.pool[i] = e.pool[len(e.pool)-1]
			e.pool[len(e.pool)-1] = nil
			e.pool = e.pool[:len(e.pool)-1]
			return b[:0]
		}
	}
	return e.allocBuf(max(need, minBuf))
}

// put gives back a buffer no longer used; it may hold the last result, so
// it is retired (pooled or freed at the next receive), never reused now.
func (e *rxEngine) put(b []byte) {
	e.retire(b)
}

// data returns the buffered bytes.
func (b *rxbuf) data() []byte {
	if b.buf == nil {
		return nil
	}
	return b.buf[b.r:]
}

// consume drops k bytes from the front, releasing the buffer when drained.
func (b *rxbuf) consume(e *rxEngine, k int) {
	b.r += k
	b.scan = 0
	if b.r >= len(b.buf) {
		b.release(e)
	}
}

// release drops all buffered data and gives the buffer back.
func (b *rxbuf) release(e *rxEngine) {
	e.put(b.buf)
	*b = rxbuf{long: b.long}
}

// add appends p to the buffered data, compacting or growing as needed.
func (b *rxbuf) add(e *rxEngine, p []byte) {
	n := copy(b.tail(e, len(p)), p)
	b.buf = b.buf[:len(b.buf)+n]
}

// tail returns the free space after b's data, at least min bytes, made
// by compacting or growing (a bigger buffer is twice what it must hold).
// add copies there; reads go there directly once a long result is under
// way.
func (b *rxbuf) tail(e *rxEngine, min int) []byte {
	if b.buf == nil {
		b.buf, b.r = e.get(min), 0
	}
	if cap(b.buf)-len(b.buf) < min {
		live := len(b.buf) - b.r
		if b.r > 0 && live+min <= cap(b.buf) {
			copy(b.buf, b.buf[b.r:])
		} else {
			nb := e.get(2 * (live + min))
			nb = append(nb, b.buf[b.r:]...)
			e.put(b.buf)
			b.buf = nb
		}
		b.buf, b.r = b.buf[:live], 0
	}
	return b.buf[len(b.buf):cap(b.buf)]
}

// unread puts a copy of p in front of the buffered data.
func (b *rxbuf) unread(e *rxEngine, p []byte) {
	if len(p) == 0 {
		return
	}
	b.scan = 0
	if b.buf != nil && b.r >= len(p) {
		b.r -= len(p)
		copy(b.buf[b.r:], p)
		return
	}
	live := b.data()
	nb := e.get(len(p) + len(live))
	nb = append(nb, p...)
	nb = append(nb, live...)
	e.put(b.buf)
	b.buf, b.r = nb, 0
}

// receive reads pattern p (count n) from rd through b. It returns the
// result, or errAgain with nothing consumed (the caller parks or calls
// partial), or at EOF / on a read error the partial result, consumed, with
// ErrClosed or the error (see eofResult). The result aliases the scratch
// buffer or b: valid until the next call on the loop.
func (e *rxEngine) receive(rd rawReader, b *rxbuf, p Pattern, n int) ([]byte, error) {
	return e.receiveLimit(rd, b, p, n, 0)
}

// receiveLimit is receive with a receive limit (SetLimit; 0: none): once
// the buffered data cannot complete p within limit bytes, the first limit
// bytes are returned (consumed) with ErrLimit.
func (e *rxEngine) receiveLimit(rd rawReader, b *rxbuf, p Pattern, n, limit int) ([]byte, error) {
	scratch := e.begin()
	for {
		if overLimit(p, b.data(), limit) {
			return e.cut(b, p, limit), ErrLimit
		}
		if res, ok := e.buffered(b, p, n); ok {
			return res, nil
		}
		data := b.data()
		into := scratch
		long := longLine(p, len(data), limit, b.long > 0)
		// a long result under way: read in place (a long line's readLine
		// too: up to scratchSize at once)
		direct := limit == 0 && (len(data) >= directRead || long)
		if direct {
			into = b.tail(e, scratchSize)
		}
		var k int
		var err error
		if size := lineAsk(len(into), len(data), b.long); long && size > 0 {
			k, err = rd.readLine(into[:size])
		} else {
			k, err = rd.readRaw(into[:readSize(p, n, len(data), len(into))])
		}
		if err == errAgain {
			return nil, errAgain
		}
		if err != nil {
			return e.partial(b, p), err
		}
		if k == 0 {
			res, err := eofResult(p, b.data())
			b.release(e) // res stays valid: the buffer is only retired
			return res, err
		}
		if direct {
			if long { // a '\n' readLine took is in its last bufSize bytes: not scanned twice
				b.scan = len(data) + (k-1)/bufSize*bufSize
			}
			b.buf = b.buf[:len(b.buf)+k]
			continue
		}
		chunk := scratch[:k]
		if len(data) == 0 && limit == 0 { // complete straight from scratch, copy only leftovers
			if end, skip, ok, sc := matchEnd(p, n, chunk, 0); ok {
				res := result(p, chunk[:end])
				if rest := chunk[end+skip:]; len(rest) > 0 {
					b.add(e, rest)
				}
				return res, nil
			} else {
				b.add(e, chunk)
				b.scan = sc
				continue
			}
		}
		b.add(e, chunk)
	}
}

// buffered completes pattern p from the buffered data alone, if it can.
func (e *rxEngine) buffered(b *rxbuf, p Pattern, n int) ([]byte, bool) {
	data := b.data()
	end, skip, ok, sc := matchEnd(p, n, data, b.scan)
	if !ok {
		b.scan = sc
		return nil, false
	}
	res := result(p, data[:end])
	b.consume(e, end+skip)
	if p == PatLine && end >= bufSize { // (a shorter line costs the hint nothing)
		b.long = longHint(end)
	}
	return res, true
}

// partial consumes and returns everything buffered as pattern p's partial
// result (on timeout or error).
func (e *rxEngine) partial(b *rxbuf, p Pattern) []byte {
	res := result(p, b.data())
	b.release(e)
	return res
}

// readRaw reads from s's fd: EINTR retried, EAGAIN as errAgain. A
// throttled socket reads at most its budget; without budget it answers
// errAgain with the bucket's wake-up pending (block parks on a timer).
func (s *Socket) readRaw(p []byte) (int, error) {
	if err := s.rerr; err != nil { // seen by an offer's read (offer.go)
		s.rerr = nil
		if err == errEOF {
			return 0, nil
		}
		return 0, err
	}
	b := s.thr[0]
	if b != nil {
		p = p[:min(int64(len(p)), b.allow(s.l.now(), b.quantum))]
		if len(p) == 0 {
			return 0, errAgain
		}
	}
	if s.rdrained && s.rdTok {
		return 0, errAgain
	}
	n, err := s.recvFlags(p, 0)
	if err != nil {
		return 0, err
	}
	s.rxTotal += uint64(n)
	if b != nil {
		b.take(n)
	}
	// A short read on a stream socket emptied the kernel queue: the next
	// read would say EAGAIN and the next arrival raises an edge (unless
	// noShort: urgent mark, EOF or error pending).
	s.rdrained = n > 0 && n < len(p) && s.typ == unix.SOCK_STREAM && !s.noShort
	return n, nil
}

// readLine implements rawReader's readLine. On TCP it is two syscalls and
// one copy for up to len(p) bytes, where LuaSocket's reads are len(p) /
// bufSize syscalls (eight for 64 KiB: the kernel's cost per call made a
// 64 KiB line cost 1.5-2 times the CPU, docs/reliability.md item 59):
// recv(MSG_PEEK) of len(p) copies what the kernel holds, up to len(p),
// without consuming it; the line's end in it, if any, gives what
// LuaSocket's reads would take, the peeked bytes up to the end of the
// bufSize read holding the '\n' (or all of them: its reads take
// min(bufSize, what is there) until the queue is empty); recv(MSG_TRUNC)
// of that many consumes them: TCP discards them without copying
// (tcp(7); the peek's copy is theirs), and the bytes peeked past them stay
// in the kernel, as LuaSocket leaves them. Other sockets make one bufSize
// read (readRaw): a unix stream socket's MSG_TRUNC copies (and the same
// bytes would only be copied twice), a throttled socket's budget is
// taken read by read, a shortcut or a kept error answers first.
func (s *Socket) readLine(p []byte) (int, error) {
	if len(p) <= bufSize || s.thr[0] != nil || s.rerr != nil || !s.peeksLines() {
		return s.readRaw(p[:min(len(p), bufSize)])
	}
	if s.rdrained && s.rdTok {
		return 0, errAgain
	}
	n, err := s.recvFlags(p, unix.MSG_PEEK)
	if err != nil || n == 0 {
		if n == 0 && err == nil {
			s.rdrained = false // EOF (as readRaw)
		}
		return 0, err
	}
	k := n
	if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
		k = min(n, (i+bufSize)/bufSize*bufSize)
	}
	// (p, not NULL: a protocol that ignores MSG_TRUNC copies the bytes
	// just peeked over themselves instead of failing with EFAULT)
	m, err := s.recvFlags(p[:k], unix.MSG_TRUNC)
	if err != nil || m == 0 {
		return 0, err // (another reader of the fd took the bytes)
	}
	s.rxTotal += uint64(m)
	// the queue was empty only if the peek saw less than it asked and all
	// of it was taken
	s.rdrained = n < len(p) && m == n && !s.noShort
	return m, nil
}

// recvFlags is one recv(2) on s's fd with flags (EINTR retried, EAGAIN as
// errAgain, which marks s drained; another error as sysErr).
func (s *Socket) recvFlags(p []byte, flags int) (int, error) {
	for {
		s.l.reads++
		n, err := recvWith(s.fd, p, flags)
		switch {
		case err == nil:
			return n, nil
		case err == unix.EINTR:
			continue
		case isAgain(err):
			s.rdrained = true
			return 0, errAgain
		}
		return 0, sysErr("recv", err)
	}
}

// peeksLines reports whether s reads long lines with readLine's peek: a
// TCP socket (SO_PROTOCOL asked once, at its first long line: a stream
// socket of another protocol, SCTP or MPTCP, may not discard with
// MSG_TRUNC).
func (s *Socket) peeksLines() bool {
	if s.peek == 0 {
		s.peek = -1
		if s.typ == unix.SOCK_STREAM && (s.family == unix.AF_INET || s.family == unix.AF_INET6) {
			if proto, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err == nil && proto == unix.IPPROTO_TCP {
				s.peek = 1
			}
		}
	}
	return s.peek > 0
}

// longHint is rxbuf.long after a line of n bytes longer than bufSize.
func longHint(n int) int {
	if n < 2*bufSize {
		return 0
	}
	return n
}

// PeekLine is, for an armed retry (offer.go) of a line receive, the
// length of s's last long line if the retry may read on a line its first
// bufSize read did not end as readLine does (lineAsk's size for that
// length: the retry has nothing buffered, its first read is all it has),
// else 0: s is a TCP socket without a receive throttle or limit, and the
// last line it received that was longer than bufSize was longer than two
// (longLine's hint).
func (s *Socket) PeekLine() int {
	if s.rb.long == 0 || s.thr[0] != nil || s.limit != 0 || !s.peeksLines() {
		return 0
	}
	return s.rb.long
}

// Receive reads one LuaSocket pattern from s (buffer.c semantics): see
// PatLine, PatAll, PatCount. On ErrTimeout, ErrClosed or a system error the
// partial result is returned and consumed; on ErrWait nothing is consumed.
// A parked call whose deadline passed returns, at its next call, ErrTimeout
// with the partial result it had buffered, without reading more (unless the
// buffered data completes the pattern). The result is valid until the next
// call on the same loop. On a datagram socket only PatCount is valid: one
// datagram truncated to n (see udp.go).
func (s *Socket) Receive(p Pattern, n int, tok Token) ([]byte, error) {
	if !validPattern(p, n) || (s.isDgram() && p != PatCount) {
		return nil, ErrInvalid
	}
	if s.isDgram() {
		return s.receiveDgram(n, tok, false)
	}
	w, start, err := s.begin(&s.rq, tok, true)
	if err == ErrWait { // queued behind the head: what it waits for, for a close
		if qw := s.l.parked(tok); qw != nil {
			qw.recvq, qw.pat, qw.cnt = true, p, n
		}
		return nil, ErrWait
	}
	if err == ErrClosed {
		if len(s.closedRecv) > 0 && tok != 0 {
			if res, ok, err := s.resultAtClose(tok, p, n); ok {
				return res, err
			}
		}
		if len(s.rb.data()) > 0 {
			s.restRead = len(s.closedRecv) > 0 || s.restRead
			return s.receiveClosed(p, n)
		}
	}
	if err != nil {
		if w == nil {
			return nil, err
		}
		// expired: what the last look saw, the receive limit applied
		var res []byte
		if overLimit(p, s.rb.data(), s.limit) {
			res, err = s.l.rx.cut(&s.rb, p, s.limit), ErrLimit
		} else if r, ok := s.l.rx.buffered(&s.rb, p, n); ok {
			res, err = r, nil
		} else {
			res = s.l.rx.partial(&s.rb, p)
		}
		s.done(&s.rq, w)
		return res, err
	}
	s.rdTok = tok != 0 && !s.polls()
	res, err := s.l.rx.receiveLimit(s, &s.rb, p, n, s.limit)
	if err == errAgain {
		if w, err = s.block(&s.rq, w, tok, start); err == ErrWait {
			w.receiving, w.pat, w.cnt = true, p, n
			// (its read may have left data, and taken the edge: look.go;
			// the partial it waits with is its own: unclaimed)
			s.lookBuffered()
			return nil, ErrWait
		}
		res = s.l.rx.partial(&s.rb, p)
	}
	s.done(&s.rq, w)
	return res, err
}

// receiveClosed serves pattern p from what s had buffered when it was
// closed, as LuaSocket's buffer does after its close: a complete result,
// or the rest as the partial result of 'closed' ("*a": as its result).
func (s *Socket) receiveClosed(p Pattern, n int) ([]byte, error) {
	if res, ok := s.l.rx.buffered(&s.rb, p, n); ok {
		return res, nil
	}
	res := s.l.rx.partial(&s.rb, p)
	if p == PatAll && len(res) > 0 {
		return res, nil
	}
	return res, ErrClosed
}
