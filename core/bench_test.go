package core

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkReceiveLine reads one line per op that completes at once from
// the scratch buffer (steady state: 0 allocs/op).
// (These call Receive with token 0, which always tries the read: with a
// token, a read right after a short one is skipped until epoll says more
// arrived, and no Select runs here.)
func BenchmarkReceiveLine(b *testing.B) {
	l, _ := newTestLoop(b)
	s, peer := socketPair(b, l)
	line := []byte("GET /index.html HTTP/1.1\r\n")
	b.ReportAllocs()
	for b.Loop() {
		unix.Write(peer, line)
		if res, err := s.Receive(PatLine, 0, 0); err != nil || len(res) != len(line)-2 {
			b.Fatalf("%q %v", res, err)
		}
	}
}

// BenchmarkReceiveLineBuffered reads 64 lines per write: most results come
// from the socket buffer (pooled, 0 allocs/op in steady state).
func BenchmarkReceiveLineBuffered(b *testing.B) {
	l, _ := newTestLoop(b)
	s, peer := socketPair(b, l)
	batch := bytes.Repeat([]byte("Header-Name: some value here\r\n"), 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%64 == 0 {
			unix.Write(peer, batch)
		}
		i++
		if _, err := s.Receive(PatLine, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParkDeliver measures a whole park / event / Select / retry
// cycle (waiters recycled: 0 allocs/op).
func BenchmarkParkDeliver(b *testing.B) {
	l, _ := newTestLoop(b)
	s, peer := socketPair(b, l)
	out := make([]Token, 8)
	msg := []byte("ping\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Receive(PatLine, 0, 1); err != ErrWait {
			b.Fatal(err)
		}
		unix.Write(peer, msg)
		if n, err := l.Select(time.Second, out); n != 1 || err != nil {
			b.Fatal(n, err)
		}
		if _, err := s.Receive(PatLine, 0, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend sends 1 KiB per op, drained by the peer.
func BenchmarkSend(b *testing.B) {
	l, _ := newTestLoop(b)
	s, peer := socketPair(b, l)
	data := bytes.Repeat([]byte("s"), 1024)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if n, err := s.Send(data, 1); err != nil || n != len(data) {
			b.Fatal(n, err)
		}
		unix.Read(peer, buf)
	}
}

// BenchmarkSelectManyReady parks 1000 zero sleeps and drains them with
// one Select (per op: 1000 tokens).
func BenchmarkSelectManyReady(b *testing.B) {
	l, _ := newTestLoop(b)
	out := make([]Token, 1000)
	b.ReportAllocs()
	for b.Loop() {
		for tok := Token(1); tok <= 1000; tok++ {
			l.Sleep(0, tok)
		}
		if n, err := l.Select(0, out); n != 1000 || err != nil {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkTimers arms and cancels a timer among 10000 pending ones.
func BenchmarkTimers(b *testing.B) {
	l, _ := newTestLoop(b)
	for tok := Token(1); tok <= 10000; tok++ {
		l.Sleep(time.Duration(tok)*time.Millisecond, tok)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		tok := Token(20000 + i%1000)
		l.Sleep(time.Duration(i%20000)*time.Millisecond, tok)
		l.Cancel(tok)
	}
}

// BenchmarkReceiveCount reads 512-byte records (PatCount), 8 per write:
// the fixed-size pattern next to the line pattern above.
func BenchmarkReceiveCount(b *testing.B) {
	l, _ := newTestLoop(b)
	s, peer := socketPair(b, l)
	batch := bytes.Repeat([]byte("r"), 8*512)
	b.ReportAllocs()
	b.SetBytes(512)
	i := 0
	for b.Loop() {
		if i%8 == 0 {
			unix.Write(peer, batch)
		}
		i++
		if res, err := s.Receive(PatCount, 512, 0); err != nil || len(res) != 512 {
			b.Fatal(len(res), err)
		}
	}
}

// BenchmarkReceiveWouldBlock is the receive every pingpong round trip
// makes before it yields: read(2) says EAGAIN and the token is (re)parked.
func BenchmarkReceiveWouldBlock(b *testing.B) {
	l, _ := newTestLoop(b)
	s, _ := socketPair(b, l)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Receive(PatLine, 0, 1); err != ErrWait {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelectManyReadySockets parks a line receive on each of 256
// sockets, makes all of them readable, and collects the 256 tokens with
// one Select (epoll events -> queue heads -> ready list); per op: one
// socket's park, event and delivery.
func BenchmarkSelectManyReadySockets(b *testing.B) {
	const n = 256
	l, _ := newTestLoop(b)
	socks := make([]*Socket, n)
	peers := make([]int, n)
	for i := range socks {
		socks[i], peers[i] = socketPair(b, l)
	}
	out := make([]Token, n)
	msg := []byte("ping\n")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % n
		if _, err := socks[k].Receive(PatLine, 0, Token(k+1)); err != ErrWait {
			b.Fatal(err)
		}
		unix.Write(peers[k], msg)
		i++
		if k == n-1 {
			got := 0
			for got < n {
				m, err := l.Select(time.Second, out)
				if err != nil {
					b.Fatal(err)
				}
				got += m
			}
			for j := range socks {
				if _, err := socks[j].Receive(PatLine, 0, Token(j+1)); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkReceiveLongLineTCP reads one 64 KiB line per op over loopback
// TCP (the stream cell's receive side: docs/reliability.md items 40 and
// 59), four lines written at a time, all in the kernel's queue before
// they are read (one thread: the time is the receive's CPU, plus the
// writes'); reads/op is the recv calls.
func BenchmarkReceiveLongLineTCP(b *testing.B) {
	l, _ := newTestLoop(b)
	c, s := tcpPair(b, l)
	defer c.Close()
	defer s.Close()
	unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	line := append(bytes.Repeat([]byte("0123456789abcdef"), 4096), '\n')
	batch := bytes.Repeat(line, 4)
	b.ReportAllocs()
	r0, n, sent := l.Reads(), 0, 0
	for b.Loop() {
		if n%4 == 0 {
			for rest := batch; len(rest) > 0; {
				k, err := unix.Write(c.fd, rest)
				if err == unix.EAGAIN {
					pollNowWait(c.fd, unix.POLLOUT)
					continue
				}
				if err != nil {
					b.Fatal(err)
				}
				rest = rest[k:]
			}
			sent += len(batch)
			waitQueued(b, s.fd, sent-int(s.Received()))
		}
		n++
		if res, err := s.Receive(PatLine, 0, 0); err != nil || len(res) != 65536 {
			b.Fatalf("%d bytes, %v", len(res), err)
		}
	}
	b.ReportMetric(float64(l.Reads()-r0)/float64(n), "reads/op")
}
