package core

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A read look answers as socket.select does for a LuaSocket object with
// data in its buffer (check_dirty): data asok holds for the socket is
// ready, whatever the fd says. The data reaches that buffer without the
// look's retry seeing the fd readable when a receive delivered with the
// look reads the fd first (a host that retries the receive before the
// look: asok.select in the main thread, which runs the whole batch
// before it retries), when the receive's retry is one armed by Select
// (offer.go: the read made in C, the rest kept until settled), at a
// receive's last look at its deadline, and by Unread.

// TestLookSeesBuffered checks that the retry of a look delivered with a
// receive, made after the receive took one line and left the next one
// buffered (the fd empty), finds the socket ready; before, it parked
// again, and the select waited with the data there.
func TestLookSeesBuffered(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	look(t, s, DirRead, 1)
	peerWrite(t, peer, "a\nb\n")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 3}) {
		t.Fatalf("got %v, want [1 3]", got)
	}
	if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "a" {
		t.Fatalf("receive: %q %v", res, err)
	}
	if err := s.Wait(DirRead|WaitLook, 1); err != nil {
		t.Fatalf("look's retry with %q buffered: %v, want ready", s.rb.data(), err)
	}
	// a new look sees it too, and token 0 (a poll)
	if err := s.Wait(DirRead|WaitLook, 2); err != nil {
		t.Fatalf("a new look with data buffered: %v, want ready", err)
	}
	if err := s.Wait(DirRead|WaitLook, 0); err != nil {
		t.Fatalf("a polling look with data buffered: %v, want ready", err)
	}
	// the write looks do not (the send side has no buffer in asok)
	if res, err := s.Receive(PatLine, 0, 3); err != nil || string(res) != "b" {
		t.Fatalf("receive: %q %v", res, err)
	}
	look(t, s, DirRead, 1) // nothing buffered, nothing to read: it parks
	if n := l.byTok.len(); n != 1 {
		t.Fatalf("%d tokens parked, want 1", n)
	}
}

// TestLookSeesOfferRest checks the same with the receive's retry armed
// by Select and made outside core (a Pickup: the C half of asok_receive):
// its read took the line and kept the rest, which the look's retry must
// see (settled first); before, the look parked with the fd empty.
func TestLookSeesOfferRest(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	look(t, s, DirRead, 1)
	peerWrite(t, peer, "a\nb\n")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 3}) {
		t.Fatalf("got %v, want [1 3]", got)
	}
	if res, ok := pk.take(s, 3, PatLine, 0); !ok || res != "a" {
		t.Fatalf("the armed retry: %q %v, want the line", res, ok)
	}
	if err := s.Wait(DirRead|WaitLook, 1); err != nil {
		t.Fatalf("look's retry after the armed retry kept %q: %v, want ready", "b\n", err)
	}
	if res, err := s.Receive(PatLine, 0, 4); err != nil || string(res) != "b" {
		t.Fatalf("the next receive: %q %v, want the kept line", res, err)
	}
}

// TestLookSeesLastLook checks it at a receive's deadline: the last look
// (expire.go) reads what arrived just before into the buffer, before the
// Select's epoll_wait, which then reports no edge (the fd is empty): the
// look is delivered by that read, ahead of the receive, and its retry
// finds the buffer full. Before, nothing delivered it.
func TestLookSeesLastLook(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	s.SetTimeout(time.Second, -1)
	parkReceive(t, s, PatLine, 0, 3)
	look(t, s, DirRead, 1)
	peerWrite(t, peer, "a\nb\n")
	clk.t += 2 * time.Second
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 3}) {
		t.Fatalf("got %v, want [1 3]", got)
	}
	if err := s.Wait(DirRead|WaitLook, 1); err != nil {
		t.Fatalf("look's retry with %q buffered by the last look: %v, want ready", s.rb.data(), err)
	}
}

// TestLookUnread checks that Unread wakes the read looks (no event comes
// for data put in the buffer), whose retries find the socket ready.
func TestLookUnread(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	look(t, s, DirRead, 1)
	look(t, s, DirRead, 3)
	if err := s.Unread([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1, 3}) {
		t.Fatalf("after Unread: %v, want [1 3]", got)
	}
	for _, tok := range []Token{1, 3} {
		if err := s.Wait(DirRead|WaitLook, tok); err != nil {
			t.Fatalf("look %d's retry: %v, want ready", tok, err)
		}
	}
}

// TestLookAfterReceive checks a receive made while a look waits, after
// data arrived and before a Select saw it: its read takes one line, keeps
// the next and empties the fd, so the next epoll_wait reports no edge;
// the receive delivers the look (before, nothing did: the look waited
// with the line buffered, where a turn in the queue, before looks, kept
// the receive behind it). A receive that leaves nothing wakes no one.
func TestLookAfterReceive(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	look(t, s, DirRead, 1)
	look(t, s, DirRead, 2)
	peerWrite(t, peer, "a\nb\n")
	if res, err := s.Receive(PatLine, 0, 5); err != nil || string(res) != "a" {
		t.Fatalf("receive: %q %v", res, err)
	}
	if got := selectTokens(t, l, 0); !slices.Equal(got, []Token{1, 2}) {
		t.Fatalf("after the receive left %q: %v, want [1 2]", s.rb.data(), got)
	}
	if res, err := s.Receive(PatLine, 0, 5); err != nil || string(res) != "b" {
		t.Fatalf("receive: %q %v", res, err)
	}
	look(t, s, DirRead, 1) // their retries: nothing left, they wait again
	look(t, s, DirRead, 2)
	peerWrite(t, peer, "c\n")
	// (token 0: a receive with a token trusts the last short read, which
	// emptied the fd, until an edge comes: receive.go)
	if res, err := s.Receive(PatLine, 0, 0); err != nil || string(res) != "c" {
		t.Fatalf("receive: %q %v", res, err)
	}
	if got := selectTokens(t, l, 0); len(got) != 0 {
		t.Fatalf("a receive that left nothing: %v delivered, want none", got)
	}
}

// TestLookKeepsOffer checks that a look retried before the receive's
// armed retry, the fd still full, leaves that retry armed (its read is
// still to be made in C: nothing to settle), and that the receive then
// takes its line there.
func TestLookKeepsOffer(t *testing.T) {
	l, _ := newTestLoop(t)
	pk := newFakePick(t, l)
	s, peer := socketPair(t, l)
	parkReceive(t, s, PatLine, 0, 3)
	look(t, s, DirRead, 1)
	peerWrite(t, peer, "a\n")
	if got := selectTokens(t, l, time.Second); !slices.Equal(got, []Token{1, 3}) {
		t.Fatalf("got %v, want [1 3]", got)
	}
	if err := s.Wait(DirRead|WaitLook, 1); err != nil {
		t.Fatalf("look's retry: %v, want ready", err)
	}
	if res, ok := pk.take(s, 3, PatLine, 0); !ok || res != "a" {
		t.Fatalf("the armed retry after the look's: %q %v, want the line (still armed)", res, ok)
	}
}

// TestUnreadListener checks that a listening socket takes no unread bytes
// (nobody would read them, and a read look would call the listener ready
// with no connection pending, for ever): Unread is ErrInvalid, whether it
// listens by Listen or by a listen(2) of the fd's owner behind asok's
// back; Listen refuses a socket holding unread bytes; a read look on the
// listener still waits.
func TestUnreadListener(t *testing.T) {
	l, _ := newTestLoop(t)
	ln, _ := listenTCP(t, l)
	for _, p := range []string{"x", ""} {
		if err := ln.Unread([]byte(p)); err != ErrInvalid {
			t.Fatalf("Unread(%q) on a listener: %v, want ErrInvalid", p, err)
		}
	}
	if n := ln.Buffered(); n != 0 {
		t.Fatalf("listener buffers %d bytes", n)
	}
	if err := ln.Wait(DirRead|WaitLook, 1); err != ErrWait {
		t.Fatalf("read look on the listener: %v, want ErrWait", err)
	}
	// listen(2) behind asok's back
	raw, err := l.NewTCP(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Bind("127.0.0.1", 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(raw.Fd(), 4); err != nil {
		t.Fatal(err)
	}
	if err := raw.Unread([]byte("x")); err != ErrInvalid {
		t.Fatalf("Unread on a socket listen(2)ed by its owner: %v, want ErrInvalid", err)
	}
	// unread first, then Listen
	s, err := l.NewTCP(4)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unread([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(0); err != ErrInvalid {
		t.Fatalf("Listen with unread bytes: %v, want ErrInvalid", err)
	}
}
