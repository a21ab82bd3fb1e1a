package core

import (
	"errors"
	"strings"
	"testing"
)

// TestReceiveLimit checks the receive limit, one row per rule: lines and
// "*a" past the limit fail with their first limit bytes, the rest stays
// buffered; lines within it, counts and limit 0 are untouched.
func TestReceiveLimit(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name        string
		chunks      []string
		p           Pattern
		n, limit    int
		want        string
		wantErr     error
		wantNext    string // the next line-receive's result
		wantNextErr error
	}{
		{"line within", []string{"abcd\nrest\n"}, PatLine, 0, 4, "abcd", nil, "rest", nil},
		{"line just over", []string{"abcde\nrest\n"}, PatLine, 0, 4, "abcd", ErrLimit, "e", nil},
		{"long line in pieces", []string{long[:3000], long[3000:], "\n"}, PatLine, 0, 100, long[:100], ErrLimit, long[100:], nil},
		{"CRs count, are dropped", []string{"\r\r\r\rab\n"}, PatLine, 0, 4, "", ErrLimit, "ab", nil},
		{"no limit", []string{long, "\n"}, PatLine, 0, 0, long, nil, "", ErrClosed},
		{"all over", []string{long}, PatAll, 0, 10, long[:10], ErrLimit, long[10:], ErrClosed},
		{"all within", []string{"0123456789"}, PatAll, 0, 10, "0123456789", nil, "", ErrClosed},
		{"count not limited", []string{long}, PatCount, 5000, 10, long[:5000], nil, long[5000:], ErrClosed},
		{"line at EOF within", []string{"abc"}, PatLine, 0, 10, "abc", ErrClosed, "", ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRxEngine()
			var b rxbuf
			rd := &chunkReader{chunks: append([]string(nil), tc.chunks...)}
			got, err := e.receiveLimit(rd, &b, tc.p, tc.n, tc.limit)
			if string(got) != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("got %q %v, want %q %v", trunc(got), err, trunc([]byte(tc.want)), tc.wantErr)
			}
			got, err = e.receiveLimit(rd, &b, PatLine, 0, 0)
			if string(got) != tc.wantNext || err != tc.wantNextErr {
				t.Fatalf("next: got %q %v, want %q %v", trunc(got), err, trunc([]byte(tc.wantNext)), tc.wantNextErr)
			}
		})
	}
}

// TestSocketLimit: a peer sending an endless line is cut at the limit
// (memory stays bounded) and the socket keeps working.
func TestSocketLimit(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	if s.Limit() != 0 {
		t.Fatalf("default limit %d", s.Limit())
	}
	s.SetLimit(1000)
	peerWrite(t, peer, strings.Repeat("y", 5000))
	got, err := s.Receive(PatLine, 0, 1)
	if err != ErrLimit || string(got) != strings.Repeat("y", 1000) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if s.Buffered() > 5000 {
		t.Fatalf("buffered %d", s.Buffered())
	}
	s.SetLimit(-5)
	if s.Limit() != 0 {
		t.Fatalf("negative limit kept: %d", s.Limit())
	}
	peerWrite(t, peer, "\n")
	for {
		got, err = s.Receive(PatLine, 0, 2)
		if err != ErrWait {
			break
		}
		waitFor(t, l, 2)
	}
	if err != nil || len(got) != 4000 {
		t.Fatalf("after the limit: %d bytes, %v", len(got), err)
	}
}
