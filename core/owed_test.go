package core

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// checkOwed checks the index of deliveries owed after a close (owedAt):
// every position holds a live released entry of its token, and owed
// counts them all.
func checkOwed(t *testing.T, l *Loop) {
	t.Helper()
	n := 0
	for tok, ps := range l.owedAt {
		if len(ps) == 0 {
			t.Fatalf("token %d: empty list kept", tok)
		}
		for _, p := range ps {
			i := p - l.rbase
			if i < l.rhead || i >= len(l.ready) {
				t.Fatalf("token %d: position %d outside the list [%d, %d)", tok, p, l.rbase+l.rhead, l.rbase+len(l.ready))
			}
			if e := l.ready[i]; e.w != nil || e.dead || e.tok != tok {
				t.Fatalf("token %d: position %d holds %+v", tok, p, e)
			}
			n++
		}
	}
	if n != l.owed {
		t.Fatalf("owed %d, index holds %d", l.owed, n)
	}
}

// TestMassCloseOwed closes many sockets with waiters at once: heads
// already delivered but not handed out (their entries orphaned), and
// waiters behind them (delivered by the close). It then hands the tokens
// out in small batches, so the ready list is compacted between them,
// while some owners learn of the close first (a retry on the closed
// socket drops the delivery), some tokens are cancelled and some tried for
// a sleep (busy while owed). Every token is handed out once, or not at all
// if its owner already knew, and nothing stays owed.
func TestMassCloseOwed(t *testing.T) {
	const nsock, per = 60, 3
	l, _ := newTestLoop(t)
	socks := make([]*Socket, nsock)
	owner := map[Token]*Socket{}
	for i := range socks {
		s, peer := socketPair(t, l)
		socks[i] = s
		for k := range per {
			tok := Token(i*per + k + 1)
			parkReceive(t, s, PatLine, 0, tok)
			owner[tok] = s
		}
		if i%2 == 0 {
			peerWrite(t, peer, "part") // the head is delivered, no line yet
		}
	}
	// deliver the heads of the even sockets, hand out none of them
	var none [0]Token
	deadline := time.Now().Add(5 * time.Second)
	for len(l.ready)-l.rhead < nsock/2 && time.Now().Before(deadline) {
		if _, err := l.Select(10*time.Millisecond, none[:]); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(l.ready) - l.rhead; got != nsock/2 {
		t.Fatalf("%d heads delivered, want %d", got, nsock/2)
	}
	for _, s := range socks {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	checkOwed(t, l)
	if l.owed != nsock*per {
		t.Fatalf("owed %d, want %d", l.owed, nsock*per)
	}
	want := map[Token]bool{}
	for tok := range owner {
		want[tok] = true
	}
	for tok := Token(1); tok <= nsock*per; tok++ {
		switch tok % 7 {
		case 1: // its owner retries on the closed socket first: not handed out
			if _, err := owner[tok].Receive(PatLine, 0, tok); err != ErrClosed {
				t.Fatalf("retry of %d: %v", tok, err)
			}
			delete(want, tok)
		case 2: // cancelled: not handed out
			l.Cancel(tok)
			delete(want, tok)
		case 3: // busy until handed out
			if err := l.Sleep(0, tok); err != ErrBusy {
				t.Fatalf("sleep on owed %d: %v", tok, err)
			}
		}
	}
	checkOwed(t, l)
	got := map[Token]int{}
	out := make([]Token, 5)
	for l.hasReady() {
		n, err := l.Select(0, out)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range out[:n] {
			got[tok]++
			if !want[tok] || got[tok] > 1 {
				t.Fatalf("token %d handed out (want %v, count %d)", tok, want[tok], got[tok])
			}
			if l.owes(tok) {
				t.Fatalf("token %d still owed once handed out", tok)
			}
			// its owner learns of the close now: nothing left to drop
			if _, err := owner[tok].Receive(PatLine, 0, tok); err != ErrClosed {
				t.Fatalf("retry of %d: %v", tok, err)
			}
		}
		checkOwed(t, l)
	}
	if len(got) != len(want) {
		t.Fatalf("%d tokens handed out, want %d", len(got), len(want))
	}
	if l.owed != 0 || len(l.owedAt) != 0 {
		t.Fatalf("owed %d, index %d entries after all", l.owed, len(l.owedAt))
	}
}

// BenchmarkMassCloseWake closes n/4 sockets with 4 receives parked on
// each, then hands every token out (256 per Select, as the Lua binding
// asks) and retries each on its closed socket, as the woken owners do.
// Figures are per waiter: flat as n grows (each owner's retry and each
// handed-out delivery find the token's owed entries by index; they used to
// scan the ready list, 0.75 s for 30,000 waiters from Lua).
func BenchmarkMassCloseWake(b *testing.B) {
	for _, n := range []int{1000, 16000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			l, _ := newTestLoop(b)
			out := make([]Token, 256)
			var elapsed time.Duration
			rounds := 0
			for b.Loop() {
				b.StopTimer()
				socks := make([]*Socket, n/4)
				peers := make([]int, n/4)
				for i := range socks {
					fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						b.Fatal(err)
					}
					if socks[i], err = l.Wrap(fds[0], true); err != nil {
						b.Fatal(err)
					}
					peers[i] = fds[1]
					for k := range 4 {
						if _, err := socks[i].Receive(PatLine, 0, Token(i*4+k+1)); err != ErrWait {
							b.Fatal(err)
						}
					}
				}
				b.StartTimer()
				t0 := time.Now()
				for _, s := range socks {
					s.Close()
				}
				woken := 0
				for woken < n {
					k, err := l.Select(0, out)
					if err != nil || k == 0 {
						b.Fatalf("%d of %d woken: %v", woken, n, err)
					}
					for _, tok := range out[:k] {
						socks[(tok-1)/4].Receive(PatLine, 0, tok)
					}
					woken += k
				}
				elapsed += time.Since(t0)
				rounds++
				b.StopTimer()
				for _, p := range peers {
					unix.Close(p)
				}
				for _, s := range socks {
					s.Free()
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(rounds*n), "ns/waiter")
		})
	}
}
