package core

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestEchoTCP runs a request/response round trip over loopback TCP.
func TestEchoTCP(t *testing.T) {
	l, _ := newTestLoop(t)
	c, s := tcpPair(t, l)
	for _, msg := range []string{"hello", "", "world with spaces"} {
		if _, err := c.Send([]byte(msg+"\r\n"), 1); err != nil {
			t.Fatal(err)
		}
		var line []byte
		err := drive(t, l, 2, func() (e error) { line, e = s.Receive(PatLine, 0, 2); return e })
		if err != nil || string(line) != msg {
			t.Fatalf("server got %q, %v", line, err)
		}
		if n, err := s.Send(append(line, '\n'), 3); err != nil || n != len(msg)+1 {
			t.Fatalf("echo send %d, %v", n, err)
		}
		err = drive(t, l, 4, func() (e error) { line, e = c.Receive(PatLine, 0, 4); return e })
		if err != nil || string(line) != msg {
			t.Fatalf("client got %q, %v", line, err)
		}
	}
	ip, port, err := c.LocalAddr()
	if err != nil || ip != "127.0.0.1" || port == 0 {
		t.Fatalf("LocalAddr %q %d %v", ip, port, err)
	}
	if l.NumSockets() != 2 {
		t.Fatalf("NumSockets = %d", l.NumSockets())
	}
	if err := s.Shutdown(1); err != nil {
		t.Fatal(err)
	}
	var all []byte
	if err := drive(t, l, 5, func() (e error) { all, e = c.Receive(PatAll, 0, 5); return e }); err != ErrClosed || len(all) != 0 {
		t.Fatalf("after shutdown: %q %v", all, err)
	}
	if err := s.Shutdown(7); err != ErrInvalid {
		t.Fatalf("bad how: %v", err)
	}
}

// TestFIFOReaders parks 3 tokens on one socket: they get the lines in
// order, each delivered only when it is the head.
func TestFIFOReaders(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	for tok := Token(1); tok <= 3; tok++ {
		if _, err := s.Receive(PatLine, 0, tok); err != ErrWait {
			t.Fatalf("token %d: %v", tok, err)
		}
	}
	peerWrite(t, peer, "a\nb\nc\n")
	for i, want := range []string{"a", "b", "c"} {
		tok := Token(i + 1)
		if got := selectTokens(t, l, 1e9); !slices.Equal(got, []Token{tok}) {
			t.Fatalf("select got %v, want [%d]", got, tok)
		}
		if i < 2 { // a later waiter retrying early still waits its turn
			if _, err := s.Receive(PatLine, 0, tok+1); err != ErrWait {
				t.Fatalf("early retry: %v", err)
			}
		}
		line, err := s.Receive(PatLine, 0, tok)
		if err != nil || string(line) != want {
			t.Fatalf("token %d got %q, %v", tok, line, err)
		}
	}
	if l.byTok.len() != 0 {
		t.Fatalf("%d waiters left", l.byTok.len())
	}
}

// TestFIFOSenders sends 4 distinct 4 MiB blocks from 4 tokens through one
// socket while the peer reads: the peer sees 4 whole blocks, in order.
func TestFIFOSenders(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	const size = 4 << 20
	blocks := make([][]byte, 4)
	for i := range blocks {
		blocks[i] = bytes.Repeat([]byte{byte('A' + i)}, size)
	}
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 4*size)
		n := 0
		for n < len(buf) {
			k, err := unix.Read(peer, buf[n:])
			if err != nil || k == 0 {
				break
			}
			n += k
		}
		got <- buf[:n]
	}()
	pending := map[Token]bool{}
	var order []Token
	try := func(tok Token) {
		n, err := s.Send(blocks[tok-1], tok)
		switch err {
		case nil:
			if n != size {
				t.Errorf("token %d sent %d", tok, n)
			}
			order = append(order, tok)
			delete(pending, tok)
		case ErrWait:
			pending[tok] = true
		default:
			t.Fatalf("token %d: %v", tok, err)
		}
	}
	for tok := Token(1); tok <= 4; tok++ {
		try(tok)
	}
	for rounds := 0; len(pending) > 0; rounds++ {
		if rounds > 100000 {
			t.Fatal("senders never finished")
		}
		for _, tok := range selectTokens(t, l, 1e9) {
			try(tok)
		}
	}
	data := <-got
	if !slices.Equal(order, []Token{1, 2, 3, 4}) {
		t.Fatalf("completion order %v", order)
	}
	if len(data) != 4*size {
		t.Fatalf("peer read %d bytes", len(data))
	}
	for i := range blocks {
		if !bytes.Equal(data[i*size:(i+1)*size], blocks[i]) {
			t.Fatalf("block %d interleaved", i)
		}
	}
}

// TestCloseWakesReaders checks that Close delivers every parked token and
// their retries get ErrClosed with an empty partial.
func TestCloseWakesReaders(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "partial")
	for tok := Token(1); tok <= 3; tok++ {
		if _, err := s.Receive(PatLine, 0, tok); err != ErrWait {
			t.Fatal(err)
		}
	}
	if s.Held() != 7 || s.Buffered() != 0 { // the head receive's partial
		t.Fatalf("Held = %d, Buffered = %d", s.Held(), s.Buffered())
	}
	fd := s.Fd()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatal("owned fd not closed")
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1, 2, 3}) {
		t.Fatalf("select got %v", got)
	}
	for tok := Token(1); tok <= 3; tok++ { // the buffered bytes: the first one's partial result
		want := map[Token]string{1: "partial"}[tok]
		if res, err := s.Receive(PatLine, 0, tok); err != ErrClosed || string(res) != want {
			t.Fatalf("retry %d: %q %v, want %q closed", tok, res, err, want)
		}
	}
	if s.Fd() != -1 || s.Buffered() != 0 || l.NumSockets() != 0 || l.byTok.len() != 0 {
		t.Fatal("socket state not cleared")
	}
	for _, err := range []error{s.Bind("*", 0), s.Listen(1), s.Unread([]byte("x")), s.Shutdown(2), s.Wait(DirRead, 1), s.Connect("127.0.0.1", 1, 1)} {
		if err != ErrClosed {
			t.Fatalf("op after close: %v", err)
		}
	}
	if n, err := s.Send([]byte("x"), 1); n != 0 || err != ErrClosed {
		t.Fatalf("send after close: %d %v", n, err)
	}
}

// TestCloseDeliveredOnce checks that a token delivered (drained) before
// Close is not delivered a second time by Close.
func TestCloseDeliveredOnce(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.Receive(PatLine, 0, 1)
	s.Receive(PatLine, 0, 2)
	peerWrite(t, peer, "x")
	if got := selectTokens(t, l, 1e9); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v", got)
	}
	s.Close() // token 1 was handed out already; token 2 was not
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2]", got)
	}
}

// TestCloseOwedKeepsTokenBusy: a token whose waiter a close released is in
// use until Select hands out that delivery (a sleep or another socket's
// operation on it got both deliveries, the first one early), and a retry
// on the closed socket takes the delivery's place (it is not handed out
// after the retry learnt of the close).
func TestCloseOwedKeepsTokenBusy(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	s2, _ := socketPair(t, l)
	s.Receive(PatLine, 0, 2)
	s.Receive(PatLine, 0, 3)
	s.Close()
	if err := l.Sleep(0, 2); err != ErrBusy {
		t.Fatalf("sleep on an owed token: %v, want ErrBusy", err)
	}
	if _, err := s2.Receive(PatLine, 0, 2); err != ErrBusy {
		t.Fatalf("receive on an owed token: %v, want ErrBusy", err)
	}
	if _, err := s.Receive(PatLine, 0, 3); err != ErrClosed { // token 3's retry
		t.Fatalf("retry after close: %v", err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2] (3 retried already)", got)
	}
	if err := l.Sleep(0, 2); err != nil {
		t.Fatalf("sleep once handed out: %v", err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2] once", got)
	}
	if l.owed != 0 {
		t.Fatalf("owed %d, want 0", l.owed)
	}
}

// TestCloseOwedOtherClosedSocket checks that a call with an owed token on
// another closed socket gets ErrClosed without dropping what the first
// close owes the token (it was dropped: the token's owner never woke).
func TestCloseOwedOtherClosedSocket(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	s2, _ := socketPair(t, l)
	s2.Close()
	parkReceive(t, s, PatLine, 0, 2)
	s.Close()
	if _, err := s2.Receive(PatLine, 0, 2); err != ErrClosed {
		t.Fatalf("on the other closed socket: %v", err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2]: the first close's delivery", got)
	}
	if _, err := s.Receive(PatLine, 0, 2); err != ErrClosed {
		t.Fatalf("its retry: %v", err)
	}
	if l.owed != 0 {
		t.Fatalf("owed %d, want 0", l.owed)
	}
}

// TestPeerHangupWakesAll checks that a peer close wakes the head, and each
// retry's completion wakes the next, so no waiter stays parked.
func TestPeerHangupWakesAll(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	for tok := Token(1); tok <= 3; tok++ {
		s.Receive(PatLine, 0, tok)
	}
	peerWrite(t, peer, "tail")
	unix.Close(peer)
	want := []string{"tail", "", ""}
	for i := range 3 {
		tok := Token(i + 1)
		waitFor(t, l, tok)
		res, err := s.Receive(PatLine, 0, tok)
		if err != ErrClosed || string(res) != want[i] {
			t.Fatalf("token %d: %q %v", tok, res, err)
		}
	}
}

// TestPeerResetWakesAll resets a TCP connection under 3 parked readers.
func TestPeerResetWakesAll(t *testing.T) {
	l, _ := newTestLoop(t)
	c, s := tcpPair(t, l)
	for tok := Token(1); tok <= 3; tok++ {
		if _, err := c.Receive(PatAll, 0, tok); err != ErrWait {
			t.Fatal(err)
		}
	}
	if err := unix.SetsockoptLinger(s.Fd(), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var errs []error
	for tok := Token(1); tok <= 3; tok++ {
		waitFor(t, l, tok)
		_, err := c.Receive(PatAll, 0, tok)
		if err == nil || err == ErrWait {
			t.Fatalf("token %d: %v", tok, err)
		}
		errs = append(errs, err)
	}
	if !isErrno(errs[0], unix.ECONNRESET) {
		t.Fatalf("head got %v, want ECONNRESET", errs[0])
	}
	if l.byTok.len() != 0 {
		t.Fatal("waiters left parked")
	}
}

// TestFdReuse checks that an fd number reused after Close gets no stale
// wake-up, and that a socket whose fd was closed behind asok's back is
// marked closed when the number is wrapped again.
func TestFdReuse(t *testing.T) {
	l, _ := newTestLoop(t)
	a, peerA := socketPair(t, l)
	a.Receive(PatLine, 0, 1)
	peerWrite(t, peerA, "x\n") // an event is pending for a's registration
	oldFd, oldID := a.Fd(), a.id
	a.Close()
	b, _ := socketPair(t, l)
	if b.Fd() != oldFd {
		t.Skipf("fd %d not reused (got %d)", oldFd, b.Fd())
	}
	if _, err := b.Receive(PatLine, 0, 2); err != ErrWait {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1}) {
		t.Fatalf("got %v, want only the close delivery [1]", got)
	}
	stale := []unix.EpollEvent{{Events: unix.EPOLLIN}}
	setEventID(&stale[0], oldID)
	l.dispatch(stale) // an event queued for the old id is dropped
	if l.hasReady() {
		t.Fatal("stale event delivered a token")
	}

	// b's fd closed behind asok's back, then the number reused.
	fd := b.Fd()
	unix.Close(fd)
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	defer unix.Close(fds[1])
	if fds[0] != fd { // a lower number was free: put it at the old one
		if err := unix.Dup3(fds[0], fd, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		unix.Close(fds[0])
		fds[0] = fd
	}
	c, err := l.Wrap(fds[0], true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Wrap(fds[0], true); err != unix.EEXIST {
		t.Fatalf("double wrap: %v", err)
	}
	if b.Fd() != -1 || c.Fd() != fd {
		t.Fatal("old socket not marked closed")
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{2}) {
		t.Fatalf("got %v, want [2]", got)
	}
	if _, err := b.Receive(PatLine, 0, 2); err != ErrClosed {
		t.Fatalf("old socket retry: %v", err)
	}
	b.Close() // must not DEL or close the fd number now owned by c
	peerWrite(t, fds[1], "ok\n")
	if line, err := c.Receive(PatLine, 0, 3); err != nil || string(line) != "ok" {
		t.Fatalf("new socket: %q %v", line, err)
	}
}

// TestWrapListenAccept wraps a listening fd made outside asok and accepts.
func TestWrapListenAccept(t *testing.T) {
	l, _ := newTestLoop(t)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	unix.Listen(fd, 8)
	ln, err := l.Wrap(fd, true)
	if err != nil || !ln.listening {
		t.Fatalf("wrap: %v listening=%v", err, ln != nil && ln.listening)
	}
	if _, err := ln.Accept(1); err != ErrWait {
		t.Fatalf("accept: %v", err)
	}
	if _, err := ln.Accept(0); err != ErrTimeout {
		t.Fatalf("token 0 behind a waiter: %v", err)
	}
	_, port, _ := ln.LocalAddr()
	cfd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, l, 1)
	conn, err := ln.Accept(1)
	if err != nil || conn.listening {
		t.Fatalf("accept retry: %v", err)
	}
	if fl, _ := unix.FcntlInt(uintptr(conn.Fd()), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
		t.Fatal("accepted socket is blocking")
	}
	peerWrite(t, cfd, "hi\n")
	var line []byte
	if err := drive(t, l, 2, func() (e error) { line, e = conn.Receive(PatLine, 0, 2); return e }); err != nil || string(line) != "hi" {
		t.Fatalf("got %q %v", line, err)
	}
	if l.NumSockets() != 2 {
		t.Fatalf("NumSockets = %d", l.NumSockets())
	}
	pfds := make([]int, 2) // not a socket
	unix.Pipe2(pfds, unix.O_CLOEXEC)
	defer unix.Close(pfds[0])
	defer unix.Close(pfds[1])
	if _, err := l.Wrap(pfds[0], false); err != ErrInvalid {
		t.Fatalf("wrap pipe: %v", err)
	}
}

// TestConnectRefused connects to a closed port: ECONNREFUSED after the wait.
func TestConnectRefused(t *testing.T) {
	l, _ := newTestLoop(t)
	ln, port := listenTCP(t, l)
	ln.Close()
	c, _ := l.NewTCP(4)
	err := drive(t, l, 1, func() error { return c.Connect("127.0.0.1", port, 1) })
	if !isErrno(err, unix.ECONNREFUSED) || !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("got %v, want ECONNREFUSED", err)
	}
	if err := c.Connect("localhost", port, 2); err != ErrInvalid {
		t.Fatalf("name: %v", err)
	}
	if err := c.Connect("127.0.0.1", 70000, 2); err != ErrInvalid {
		t.Fatalf("port: %v", err)
	}
	if err := c.Connect("::1", port, 2); err != ErrInvalid {
		t.Fatalf("v6 address on v4 socket: %v", err)
	}
}

// TestIPv6 binds and connects over ::1.
func TestIPv6(t *testing.T) {
	l, _ := newTestLoop(t)
	ln, err := l.NewTCP(6)
	if err != nil {
		t.Skip("no IPv6 on this machine:", err)
	}
	if err := ln.Bind("::1", 0); err != nil {
		t.Skip("no IPv6 loopback (::1) on this machine:", err)
	}
	ln.Listen(0)
	ip, port, _ := ln.LocalAddr()
	if ip != "::1" {
		t.Fatalf("ip %q", ip)
	}
	c, _ := l.NewTCP(6)
	if err := drive(t, l, 1, func() error { return c.Connect("::1", port, 1) }); err != nil {
		t.Fatal(err)
	}
	if _, err := l.NewTCP(5); err != ErrInvalid {
		t.Fatalf("family 5: %v", err)
	}
}

// TestCloseCutsSendShort checks that a send cut short by Close reports, on
// its retry's ErrClosed, the bytes it had sent (the peer gets them), once;
// the send queued behind it had sent nothing.
func TestCloseCutsSendShort(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer, data := smallSendBuf(t, l)
	sent, err := s.Send(data, 5)
	if err != ErrWait || sent == 0 || sent >= len(data) {
		t.Fatalf("first send: %d %v", sent, err)
	}
	if n, err := s.Send([]byte("queued"), 6); err != ErrWait || n != 0 {
		t.Fatalf("queued send: %d %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{5, 6}) {
		t.Fatalf("select got %v", got)
	}
	if n, err := s.Send(data, 5); err != ErrClosed || n != sent {
		t.Fatalf("retry after close: %d %v, want %d closed", n, err, sent)
	}
	if n, err := s.Send(data, 5); err != ErrClosed || n != 0 {
		t.Fatalf("second retry after close: %d %v, want 0 closed", n, err)
	}
	if n, err := s.Send([]byte("queued"), 6); err != ErrClosed || n != 0 {
		t.Fatalf("queued retry after close: %d %v", n, err)
	}
	buf := make([]byte, 64<<10)
	got := 0
	for {
		k, err := unix.Read(peer, buf)
		if k <= 0 || err != nil {
			break
		}
		got += k
	}
	if got != sent {
		t.Fatalf("the peer got %d bytes, the send said %d", got, sent)
	}
}

// TestReceiveAfterClose checks that what s had buffered when it was closed
// is still served, as LuaSocket's buffer is after its close: whole
// patterns, then the rest as a partial result; "*a" returns the rest.
func TestReceiveAfterClose(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "ab\ncd\nef")
	if res, err := s.Receive(PatLine, 0, 1); err != nil || string(res) != "ab" {
		t.Fatalf("before close: %q %v", res, err)
	}
	s.Close()
	if s.Buffered() != 5 {
		t.Fatalf("Buffered after close = %d", s.Buffered())
	}
	if res, err := s.Receive(PatLine, 0, 1); err != nil || string(res) != "cd" {
		t.Fatalf("line after close: %q %v", res, err)
	}
	if res, err := s.Receive(PatCount, 1, 1); err != nil || string(res) != "e" {
		t.Fatalf("count after close: %q %v", res, err)
	}
	if res, err := s.Receive(PatAll, 0, 1); err != nil || string(res) != "f" {
		t.Fatalf("*a after close: %q %v", res, err)
	}
	if res, err := s.Receive(PatAll, 0, 1); err != ErrClosed || len(res) != 0 {
		t.Fatalf("then: %q %v", res, err)
	}
}

// TestCloseServesWaitersInOrder checks that what a socket had buffered
// when it was closed goes to the receives waiting then, in call order,
// whatever order they and later calls run in: a receive called after the
// close, or a later waiter retrying first, took what an earlier waiter
// was owed.
func TestCloseServesWaitersInOrder(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	peerWrite(t, peer, "one\ntwo\nthr")
	if _, err := s.Receive(PatCount, 100, 1); err != ErrWait { // holds the 11 bytes
		t.Fatalf("first waiter: %v", err)
	}
	parkReceive(t, s, PatLine, 0, 2)
	s.Close()
	for _, c := range []struct {
		tok  Token
		pat  Pattern
		want string
	}{
		{3, PatLine, ""},               // called after the close: nothing left for it
		{2, PatLine, ""},               // the second waiter, retrying first
		{1, PatCount, "one\ntwo\nthr"}, // the first waiter: all, as its partial result
		{1, PatCount, ""},              // once
	} {
		res, err := s.Receive(c.pat, 100, c.tok)
		if err != ErrClosed || string(res) != c.want {
			t.Fatalf("token %d: %q %v, want %q closed", c.tok, res, err, c.want)
		}
	}
	s2, peer2 := socketPair(t, l) // waiters served as far as the data goes
	peerWrite(t, peer2, "ab\ncd")
	if res, err := s2.Receive(PatLine, 0, 4); err != nil || string(res) != "ab" {
		t.Fatalf("first line: %q %v", res, err)
	}
	parkReceive(t, s2, PatCount, 5, 5)
	parkReceive(t, s2, PatAll, 0, 6)
	s2.Close()
	if res, err := s2.Receive(PatAll, 0, 6); err != ErrClosed || len(res) != 0 {
		t.Fatalf("second waiter after close: %q %v", res, err)
	}
	if res, err := s2.Receive(PatCount, 5, 5); err != ErrClosed || string(res) != "cd" {
		t.Fatalf("first waiter after close: %q %v", res, err)
	}
}

// TestCloseAfterSendTimedOut checks that a send whose deadline passed
// before the close reports its timeout with what it had sent, not
// 'closed' (as a receive does: shares.go).
func TestCloseAfterSendTimedOut(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _, data := smallSendBuf(t, l)
	sent, err := s.Send(data, 5)
	if err != ErrWait || sent == 0 {
		t.Fatalf("first send: %d %v", sent, err)
	}
	s.SetTimeout(0, -1) // ends it now
	s.Close()
	if n, err := s.Send(data, 5); err != ErrTimeout || n != sent {
		t.Fatalf("retry: %d %v, want %d timeout", n, err, sent)
	}
}
