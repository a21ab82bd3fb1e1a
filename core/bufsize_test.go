package core

import (
	"strings"
	"testing"
)

// TestReadsAsLuaSocket checks that a stream receive reads what LuaSocket's
// 8,192-byte buffer reads would add up to (readSize), so that what stays
// buffered afterwards (dirty(), a receive after close) is LuaSocket's: 9,000
// or 30,000 bytes wait in the kernel, one receive runs, Buffered counts the
// rest of its reads. Before, a read asked for 64 KiB and kept it all.
func TestReadsAsLuaSocket(t *testing.T) {
	for _, c := range []struct {
		name  string
		data  string
		p     Pattern
		n     int
		res   int // result length
		after int // bytes buffered after the receive
	}{
		{"count 2", strings.Repeat("a", 9000), PatCount, 2, 2, 8190},
		{"line", strings.Repeat("x\n", 4500), PatLine, 0, 1, 8190},
		{"count 8192", strings.Repeat("a", 9000), PatCount, 8192, 8192, 0},
		{"count 8193", strings.Repeat("a", 9000), PatCount, 8193, 8193, 807},
		{"count 0", strings.Repeat("a", 9000), PatCount, 0, 0, 8192},
		{"count 16385", strings.Repeat("a", 30000), PatCount, 16385, 16385, 8191},
		{"long line", strings.Repeat("a", 20000) + "\n" + strings.Repeat("b", 9000), PatLine, 0, 20000, 24576 - 20001},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, _ := newTestLoop(t)
			s, peer := socketPair(t, l)
			peerWrite(t, peer, c.data)
			res, err := s.Receive(c.p, c.n, 0)
			if err != nil || len(res) != c.res {
				t.Fatalf("receive: %d bytes, %v; want %d bytes", len(res), err, c.res)
			}
			if got := s.Buffered(); got != c.after {
				t.Fatalf("buffered after the receive: %d, want %d (LuaSocket's)", got, c.after)
			}
		})
	}
}

// TestReadSize checks readSize's rounding against room.
func TestReadSize(t *testing.T) {
	for _, c := range []struct {
		p                   Pattern
		n, have, room, want int
	}{
		{PatLine, 0, 0, 65536, 8192},
		{PatLine, 0, 100, 4096, 4096},
		{PatAll, 0, 0, 65536, 65536},
		{PatCount, 0, 0, 65536, 8192},
		{PatCount, 8193, 0, 65536, 16384},
		{PatCount, 8193, 1, 65536, 8192},
		{PatCount, 1 << 20, 0, 65536, 65536},
		{PatCount, 1 << 20, 0, 70000, 65536},
	} {
		if got := readSize(c.p, c.n, c.have, c.room); got != c.want {
			t.Errorf("readSize(%v, %d, %d, %d) = %d, want %d", c.p, c.n, c.have, c.room, got, c.want)
		}
	}
}
