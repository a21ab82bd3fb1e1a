package core

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkPingpongIdle is the reactor's share of issue 5's idle sweep:
// 100 active sockets take turns (the peer writes a line, Select delivers
// the token, Receive reads it and parks again), with 0 or 14,000 other
// sockets registered, each with a receive parked. Equal ns/op with and
// without them means no work per poll or per operation grows with the
// number of idle sockets (the loop is edge-triggered epoll with fd-indexed
// dispatch). Needs about 14,200 descriptors (RLIMIT_NOFILE raised to the
// hard limit; skipped if that is too low).
func BenchmarkPingpongIdle(b *testing.B) {
	for _, idle := range []int{0, 14000} {
		b.Run(map[int]string{0: "idle=0", 14000: "idle=14000"}[idle], func(b *testing.B) {
			benchPingpongIdle(b, idle)
		})
	}
}

// benchPingpongIdle runs one case of BenchmarkPingpongIdle.
func benchPingpongIdle(b *testing.B, idle int) {
	const active = 100
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	if need := uint64(idle + 2*active + 64); lim.Max < need {
		b.Skipf("RLIMIT_NOFILE %d < %d", lim.Max, need)
	}
	l, err := NewLoop()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	tok := Token(1)
	// idle sockets: both ends of idle/2 pairs, each with a receive parked
	for i := 0; i < idle/2; i++ {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, fd := range fds {
			s, err := l.Wrap(fd, true)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Receive(PatLine, 0, tok); err != ErrWait {
				b.Fatal(err)
			}
			tok++
		}
	}
	socks := make([]*Socket, active)
	peers := make([]int, active)
	toks := make([]Token, active)
	for i := range socks {
		socks[i], peers[i] = socketPair(b, l)
		toks[i] = tok
		tok++
		if _, err := socks[i].Receive(PatLine, 0, toks[i]); err != ErrWait {
			b.Fatal(err)
		}
	}
	out := make([]Token, 8)
	msg := []byte("ping\n")
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		unix.Write(peers[i], msg)
		if n, err := l.Select(time.Second, out); n != 1 || err != nil || out[0] != toks[i] {
			b.Fatal(n, err)
		}
		if _, err := socks[i].Receive(PatLine, 0, toks[i]); err != nil {
			b.Fatal(err)
		}
		toks[i] = tok // a fresh token per operation, as the Lua binding uses
		tok++
		if _, err := socks[i].Receive(PatLine, 0, toks[i]); err != ErrWait {
			b.Fatal(err)
		}
		i = (i + 1) % active
	}
}
