package core

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// proxyStep is one exchange of a fake proxy: the bytes it expects, then
// its reply.
type proxyStep struct{ expect, reply string }

// fakeProxy serves steps on the raw fd peer from a goroutine (blocking
// I/O), writing replies one byte at a time with a pause if split. The
// returned channel yields nil, or what went wrong, when it is done.
func fakeProxy(peer int, split bool, steps ...proxyStep) <-chan error {
	done := make(chan error, 1)
	go func() {
		for _, st := range steps {
			got := make([]byte, len(st.expect))
			for off := 0; off < len(got); {
				n, err := unix.Read(peer, got[off:])
				if err != nil || n == 0 {
					done <- fmt.Errorf("read after %q: %v", got[:off], err)
					return
				}
				off += n
			}
			if string(got) != st.expect {
				done <- fmt.Errorf("proxy got %q, want %q", got, st.expect)
				return
			}
			for i := 0; i < len(st.reply); {
				k := len(st.reply) - i
				if split {
					k = 1
					time.Sleep(2 * time.Millisecond)
				}
				n, err := unix.Write(peer, []byte(st.reply[i:i+k]))
				if err != nil {
					done <- err
					return
				}
				i += n
			}
		}
		done <- nil
	}()
	return done
}

// proxyDone fails the test if the fake proxy reported a problem.
func proxyDone(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fake proxy never finished")
	}
}

// TestSocks4 checks the request bytes and each reply code's outcome, and
// that bytes after the reply stay buffered for the caller.
func TestSocks4(t *testing.T) {
	cases := []struct {
		code byte
		vn   byte
		want error
	}{
		{90, 0, nil}, {91, 0, ErrSocks4Rejected}, {92, 0, ErrSocks4Identd},
		{93, 0, ErrSocks4UserID}, {94, 0, ErrSocks4Failed}, {90, 4, ErrSocks4Reply},
	}
	for _, c := range cases {
		l, _ := newTestLoop(t)
		s, peer := socketPair(t, l)
		done := fakeProxy(peer, false, proxyStep{
			"\x04\x01\x1f\x90\x0a\x00\x00\x01bob\x00",
			string([]byte{c.vn, c.code}) + "\x00\x00\x00\x00\x00\x00extra"})
		err := drive(t, l, 7, func() error { return s.Socks4Connect("10.0.0.1", 8080, "bob", 7) })
		if err != c.want {
			t.Fatalf("code %d vn %d: %v, want %v", c.code, c.vn, err, c.want)
		}
		proxyDone(t, done)
		if err == nil {
			if res, err := s.Receive(PatCount, 5, 7); err != nil || string(res) != "extra" {
				t.Fatalf("after the reply: %q %v", res, err)
			}
		}
	}
}

// TestSocks5 covers address types, authentication and the reply codes.
func TestSocks5(t *testing.T) {
	const noAuth, greetUser = "\x05\x01\x00", "\x05\x02\x00\x02"
	okV4 := "\x05\x00\x00\x01\x01\x02\x03\x04\x00\x50"
	cases := []struct {
		name, host, user, pass string
		steps                  []proxyStep
		want                   error
	}{
		{"ipv4", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x05\x00"},
			{"\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50", okV4}}, nil},
		{"name", "example.org", "", "", []proxyStep{{noAuth, "\x05\x00"},
			{"\x05\x01\x00\x03\x0bexample.org\x00\x50", "\x05\x00\x00\x03\x04abcd\x00\x50"}}, nil},
		{"ipv6", "[::1]", "", "", []proxyStep{{noAuth, "\x05\x00"},
			{"\x05\x01\x00\x04" + strings.Repeat("\x00", 15) + "\x01\x00\x50",
				"\x05\x00\x00\x04" + strings.Repeat("\x00", 16) + "\x00\x50"}}, nil},
		{"auth ok", "1.2.3.4", "al", "pw", []proxyStep{{greetUser, "\x05\x02"},
			{"\x01\x02al\x02pw", "\x01\x00"},
			{"\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50", okV4}}, nil},
		{"auth ok, no auth chosen", "1.2.3.4", "al", "", []proxyStep{{greetUser, "\x05\x00"},
			{"\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50", okV4}}, nil},
		{"auth fail", "1.2.3.4", "al", "", []proxyStep{{greetUser, "\x05\x02"},
			{"\x01\x02al\x00", "\x01\x01"}}, ErrSocks5Auth},
		{"no method", "1.2.3.4", "al", "", []proxyStep{{greetUser, "\x05\xff"}}, ErrSocks5NoMethod},
		{"wants auth", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x05\xff"}}, ErrSocks5NoAuth},
		{"method not offered", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x05\x02"}}, ErrSocks5Method},
		{"not socks5", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x04\x00"}}, ErrSocks5Reply},
		{"refused", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x05\x00"},
			{"\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50", "\x05\x05\x00\x01"}}, ErrSocks5Refused},
		{"unknown code", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x05\x00"},
			{"\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50", "\x05\x09\x00\x01"}}, ErrSocks5Failed},
		{"bad atyp", "1.2.3.4", "", "", []proxyStep{{noAuth, "\x05\x00"},
			{"\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50", "\x05\x00\x00\x07"}}, ErrSocks5Atyp},
	}
	for _, c := range cases {
		for _, split := range []bool{false, true} {
			l, _ := newTestLoop(t)
			s, peer := socketPair(t, l)
			steps := append([]proxyStep(nil), c.steps...)
			steps[len(steps)-1].reply += "tail"
			done := fakeProxy(peer, split, steps...)
			waits := 0
			err := drive(t, l, 9, func() error {
				err := s.Socks5Connect(c.host, 80, c.user, c.pass, 9)
				if err == ErrWait {
					waits++
				}
				return err
			})
			if err != c.want {
				t.Fatalf("%s (split %v): %v, want %v", c.name, split, err, c.want)
			}
			proxyDone(t, done)
			if split && waits < len(c.steps) {
				t.Fatalf("%s: split reply, only %d waits", c.name, waits)
			}
			if s.socks != nil {
				t.Fatalf("%s: handshake state kept", c.name)
			}
			if err == nil {
				var res []byte
				err = drive(t, l, 9, func() (err error) { res, err = s.Receive(PatCount, 4, 9); return err })
				if err != nil || string(res) != "tail" {
					t.Fatalf("%s (split %v): after the reply: %q %v", c.name, split, res, err)
				}
			}
		}
	}
}

// TestSocksTimeout: a silent proxy makes the handshake time out (token 0
// at once; a token at its deadline), and the socket forgets it.
func TestSocksTimeout(t *testing.T) {
	l, clk := newTestLoop(t)
	s, peer := socketPair(t, l)
	if err := s.Socks4Connect("1.2.3.4", 1, "", 0); err != ErrTimeout || s.socks != nil {
		t.Fatalf("token 0: %v", err)
	}
	drain := make([]byte, 64)
	readFd(t, peer, drain)
	s.SetTimeout(time.Second, -1)
	if err := s.Socks5Connect("h", 1, "", "", 3); err != ErrWait {
		t.Fatal(err)
	}
	clk.t += time.Second
	waitFor(t, l, 3)
	if err := s.Socks5Connect("h", 1, "", "", 3); err != ErrTimeout || s.socks != nil {
		t.Fatalf("deadline: %v", err)
	}
}

// TestSocksClosed: the proxy closing mid-reply is ErrClosed.
func TestSocksClosed(t *testing.T) {
	l, _ := newTestLoop(t)
	s, peer := socketPair(t, l)
	done := fakeProxy(peer, false, proxyStep{"\x05\x01\x00", "\x05"})
	go func() { // half a reply, then EOF
		<-done
		unix.Shutdown(peer, unix.SHUT_WR)
	}()
	if err := drive(t, l, 4, func() error {
		return s.Socks5Connect("h", 1, "", "", 4)
	}); err != ErrClosed {
		t.Fatal(err)
	}
}

// TestSocksArgs checks argument validation and the retry rules.
func TestSocksArgs(t *testing.T) {
	l, _ := newTestLoop(t)
	s, _ := socketPair(t, l)
	long := strings.Repeat("x", 256)
	for i, err := range []error{
		s.Socks4Connect("::1", 80, "", 1),
		s.Socks4Connect("example.org", 80, "", 1),
		s.Socks4Connect("1.2.3.256", 80, "", 1),
		s.Socks4Connect("1.2.3.4", 65536, "", 1),
		s.Socks4Connect("1.2.3.4", -1, "", 1),
		s.Socks4Connect("1.2.3.4", 80, long, 1),
		s.Socks5Connect("", 80, "", "", 1),
		s.Socks5Connect(long, 80, "", "", 1),
		s.Socks5Connect("h", 80, long, "", 1),
		s.Socks5Connect("h", 80, "u", long, 1),
		s.Socks5Connect("h\x00", 80, "", "", 1),
		s.Socks5Connect("h", 80, "", "pw", 1), // a password that would not be sent
	} {
		if err != ErrInvalid {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	if err := s.Socks5Connect(strings.Repeat("x", 255), 80, "", "", 1); err != ErrWait {
		t.Fatal(err)
	}
	if err := s.Socks5Connect("other", 80, "", "", 1); err != ErrInvalid {
		t.Fatalf("other arguments: %v", err)
	}
	if err := s.Socks5Connect("other", 80, "", "", 2); err != ErrBusy {
		t.Fatalf("other token: %v", err)
	}
	s.Close()
	if err := s.Socks5Connect("h", 80, "", "", 1); err != ErrClosed {
		t.Fatalf("closed: %v", err)
	}
	// its retry learned of the close: the token is free (asok.h, Tokens),
	// as after any operation's (it stayed in use until Select handed the
	// close's delivery out)
	if err := l.Sleep(0, 1); err != nil {
		t.Fatalf("token 1 after its retry on the closed socket: %v", err)
	}
}

// TestSocksErrorText checks the messages the C API's strings copy.
func TestSocksErrorText(t *testing.T) {
	if ErrSocks5Auth.Error() != "socks5: authentication failed" ||
		ErrSocks5Refused.Error() != "socks5: connection refused" ||
		ErrSocks4Rejected.Error() != "socks4: request rejected or failed" ||
		SocksError(-1).Error() != "socks: unknown error" {
		t.Fatal("messages differ from the Lua binding's")
	}
}
