package core

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkReceiveLine reads one line per op that completes at once from
// the scratch buffer (steady state: 0 allocs/op).
func BenchmarkReceiveLine(b *testing.B) {
	l, _ := newTestLoop(b)
	s, peer := socketPair(b, l)
	line := []byte("GET /index.html HTTP/1.1\r\n")
	b.ReportAllocs()
	for b.Loop() {
		unix.Write(peer, line)
		if res, err := s.Receive(PatLine, 0, 1); err != nil || len(res) != len(line)-2 {
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
		if _, err := s.Receive(PatLine, 0, 1); err != nil {
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
