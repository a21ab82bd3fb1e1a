package core

import (
	"os"
	"os/signal"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSelectSignals: signals the process catches, arriving every 20 ms at
// the thread waiting in Select, neither end the wait early nor keep it
// from ending: a Select with a timeout returns at it, and a sleep's token
// is delivered. Each EINTR used to restart epoll_wait with the whole wait,
// so while the signals kept coming neither ever returned.
func TestSelectSignals(t *testing.T) {
	sigs := make(chan os.Signal, 1024)
	signal.Notify(sigs, unix.SIGUSR1)
	defer signal.Stop(sigs)
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	type result struct {
		n1, n2 int
		err    error
		tok    Token
	}
	done := make(chan result, 1)
	tids := make(chan int, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		out := make([]Token, 4)
		var r result
		r.n1, r.err = l.Select(300*time.Millisecond, out) // nothing ready: its timeout
		if r.err == nil {
			r.err = l.Sleep(200*time.Millisecond, 7)
		}
		if r.err == nil {
			r.n2, r.err = l.Select(-1, out) // the sleep's token
			r.tok = out[0]
		}
		done <- r
	}()
	tid := <-tids
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	hang := time.After(30 * time.Second)
	for {
		select {
		case r := <-done:
			if r.err != nil || r.n1 != 0 || r.n2 != 1 || r.tok != 7 {
				t.Fatalf("got %+v, want no error, 0 tokens then token 7", r)
			}
			if len(sigs) == 0 {
				t.Fatal("no signal was caught: the test proved nothing")
			}
			return
		case <-tick.C:
			if err := unix.Tgkill(unix.Getpid(), tid, unix.SIGUSR1); err != nil {
				t.Fatal(err)
			}
		case <-hang:
			t.Fatal("Select never returned while signals kept coming")
		}
	}
}
