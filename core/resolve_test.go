package core

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeAnswer is what fakeResolver returns for one host.
type fakeAnswer struct {
	addrs []string
	err   error
}

// fakeResolver answers from a table; while gate is non-nil every lookup
// waits for it to close (or for its context to end, unless deaf).
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string]fakeAnswer
	calls   []string // "network host"
	gate    chan struct{}
	deaf    bool // ignore the context: finish only when gate closes
}

// LookupNetIP implements Resolver.
func (f *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	f.calls = append(f.calls, network+" "+host)
	gate, deaf, ans := f.gate, f.deaf, f.answers[host]
	f.mu.Unlock()
	if gate != nil {
		if deaf {
			<-gate
		} else {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, &net.DNSError{Err: ctx.Err().Error(), Name: host, IsTimeout: true}
			}
		}
	}
	if ans.err != nil {
		return nil, ans.err
	}
	if ans.addrs == nil {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ans.addrs {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// callList returns a copy of the calls seen so far.
func (f *fakeResolver) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// resolveLoop makes a test loop using a fake resolver with answers.
func resolveLoop(t *testing.T, answers map[string]fakeAnswer) (*Loop, *fakeResolver) {
	t.Helper()
	l, _ := newTestLoop(t)
	f := &fakeResolver{answers: answers}
	l.SetResolver(f, 0)
	t.Cleanup(l.waitLookups)
	return l, f
}

// resolveAll runs Resolve to completion, waiting for tok between calls.
func resolveAll(t *testing.T, l *Loop, host string, family int, tok Token) ([]string, error) {
	t.Helper()
	var addrs []netip.Addr
	err := drive(t, l, tok, func() (err error) {
		addrs, err = l.Resolve(host, family, tok)
		return err
	})
	var out []string
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out, err
}

func TestResolveNumeric(t *testing.T) {
	l, f := resolveLoop(t, nil)
	cases := []struct {
		host   string
		family int
		want   string
		err    error
	}{
		{"127.0.0.1", 0, "127.0.0.1", nil},
		{"127.0.0.1", 4, "127.0.0.1", nil},
		{"::1", 6, "::1", nil},
		{"::1", 0, "::1", nil},
		{"fe80::1%lo", 0, "fe80::1%lo", nil},
		{"127.1", 0, "127.0.0.1", nil},
		{"0x7f.1", 4, "127.0.0.1", nil},
		{"0177.0.0.01", 0, "127.0.0.1", nil},
		{"2130706433", 0, "127.0.0.1", nil},
		{"10.1.65535", 0, "10.1.255.255", nil},
		{"127.0.0.1", 6, "", ErrFamily},
		{"::1", 4, "", ErrFamily},
		{"::ffff:127.0.0.1", 4, "", ErrFamily},
		{"::1", 5, "", ErrInvalid},
	}
	for _, c := range cases {
		// token 0: numeric hosts never need to wait
		got, err := l.Resolve(c.host, c.family, 0)
		if err != c.err || (err == nil && (len(got) != 1 || got[0].String() != c.want)) {
			t.Errorf("Resolve(%q, %d) = %v, %v; want %s, %v", c.host, c.family, got, err, c.want, c.err)
		}
	}
	for _, name := range []string{"256.1.1.1", "1.2.3.4.5", "1e100.net", "0x", "08", "1.2.16777216"} {
		if _, ok := parseNumericHost(name); ok {
			t.Errorf("%q parsed as numeric", name)
		}
	}
	if calls := f.callList(); len(calls) != 0 || l.NumLookups() != 0 {
		t.Fatalf("numeric hosts reached the resolver: %v", calls)
	}
}

func TestResolveName(t *testing.T) {
	l, f := resolveLoop(t, map[string]fakeAnswer{
		"dual.test": {addrs: []string{"::ffff:10.0.0.1", "2001:db8::1", "10.0.0.1", "10.0.0.2"}},
	})
	f.gate = make(chan struct{})
	if _, err := l.Resolve("dual.test", 0, 7); err != ErrWait {
		t.Fatalf("first call: %v, want ErrWait", err)
	}
	if _, err := l.Resolve("dual.test", 0, 7); err != ErrWait {
		t.Fatalf("call before the result: %v, want ErrWait", err)
	}
	if toks := selectTokens(t, l, 0); len(toks) != 0 {
		t.Fatalf("delivered before the lookup finished: %v", toks)
	}
	close(f.gate)
	if others := waitFor(t, l, 7); len(others) != 0 {
		t.Fatalf("other tokens: %v", others)
	}
	got, err := l.Resolve("dual.test", 0, 7)
	want := []string{"10.0.0.1", "2001:db8::1", "10.0.0.2"} // unmapped, deduplicated, in order
	if err != nil || len(got) != 3 || got[0].String() != want[0] || got[1].String() != want[1] || got[2].String() != want[2] {
		t.Fatalf("result %v, %v; want %v", got, err, want)
	}
	// forgotten: the same token starts a new lookup
	if _, err := l.Resolve("dual.test", 0, 7); err != ErrWait {
		t.Fatalf("after the result: %v, want a new lookup (ErrWait)", err)
	}
	waitFor(t, l, 7) // its goroutine has called the resolver (counted below)
	if _, err := l.Resolve("dual.test", 0, 7); err != nil {
		t.Fatalf("second lookup: %v", err)
	}
	for fam, w := range map[int][]string{4: {"10.0.0.1", "10.0.0.2"}, 6: {"2001:db8::1"}} {
		got, err := resolveAll(t, l, "dual.test", fam, Token(100+fam))
		if err != nil || !slices.Equal(got, w) {
			t.Errorf("family %d: %v, %v; want %v", fam, got, err, w)
		}
	}
	if n := l.NumLookups(); n != 4 {
		t.Errorf("NumLookups = %d, want 4", n)
	}
	nets := f.callList()
	slices.Sort(nets)
	if !slices.Equal(nets, []string{"ip dual.test", "ip dual.test", "ip4 dual.test", "ip6 dual.test"}) {
		t.Errorf("resolver calls %v", nets)
	}
}

func TestResolveErrors(t *testing.T) {
	l, _ := resolveLoop(t, map[string]fakeAnswer{
		"v4only.test": {addrs: []string{"192.0.2.1"}},
		"temp.test":   {err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}},
		"slow.test":   {err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}},
		"odd.test":    {err: &net.DNSError{Err: "refused"}},
		"addr.test":   {err: &net.AddrError{Err: "no suitable address found", Addr: "addr.test"}},
		"empty.test":  {addrs: []string{}},
		"other.test":  {err: errors.New("something else")},
	})
	cases := []struct {
		host   string
		family int
		err    error
	}{
		{"no.such.host.invalid", 0, ErrNoName},
		{"v4only.test", 6, ErrNoName},
		{"addr.test", 6, ErrNoName},
		{"empty.test", 0, ErrNoName},
		{"temp.test", 0, ErrAgain},
		{"slow.test", 0, ErrAgain},
		{"odd.test", 0, ErrFail},
		{"other.test", 0, ErrFail},
	}
	for i, c := range cases {
		got, err := resolveAll(t, l, c.host, c.family, Token(i+1))
		if err != c.err || got != nil {
			t.Errorf("%s/%d: %v, %v; want %v", c.host, c.family, got, err, c.err)
		}
	}
	if _, err := l.Resolve("", 0, 50); err != ErrNoName {
		t.Errorf("empty host: %v", err)
	}
	if _, err := l.Resolve("name.test", 0, 0); err != ErrTimeout {
		t.Errorf("token 0 with a name: %v, want ErrTimeout", err)
	}
}

func TestResolveTimeout(t *testing.T) {
	l, f := resolveLoop(t, nil)
	f.gate = make(chan struct{}) // never opened: the context ends the lookup
	defer close(f.gate)
	l.SetResolver(f, 20*time.Millisecond)
	if _, err := resolveAll(t, l, "hang.test", 0, 1); err != ErrAgain {
		t.Fatalf("timed out lookup: %v, want ErrAgain", err)
	}
}

func TestResolveBusy(t *testing.T) {
	l, f := resolveLoop(t, nil)
	f.gate = make(chan struct{})
	defer close(f.gate)
	if err := l.Sleep(time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve("a.test", 0, 1); err != ErrBusy {
		t.Errorf("token sleeping: %v, want ErrBusy", err)
	}
	if _, err := l.Resolve("a.test", 0, 2); err != ErrWait {
		t.Fatal(err)
	}
	if err := l.Sleep(time.Hour, 2); err != ErrBusy {
		t.Errorf("Sleep on a resolving token: %v, want ErrBusy", err)
	}
	s, _ := socketPair(t, l)
	if _, err := s.Receive(PatLine, 0, 2); err != ErrBusy {
		t.Errorf("Receive on a resolving token: %v, want ErrBusy", err)
	}
	if _, err := l.Resolve("b.test", 0, 2); err != ErrBusy {
		t.Errorf("another host on the same token: %v, want ErrBusy", err)
	}
	if _, err := l.Resolve("a.test", 4, 2); err != ErrBusy {
		t.Errorf("another family on the same token: %v, want ErrBusy", err)
	}
}

func TestResolveCancel(t *testing.T) {
	l, f := resolveLoop(t, map[string]fakeAnswer{"a.test": {addrs: []string{"192.0.2.7"}}})
	f.gate = make(chan struct{})
	f.deaf = true // the goroutine finishes only when the gate opens
	if _, err := l.Resolve("a.test", 0, 3); err != ErrWait {
		t.Fatal(err)
	}
	l.Cancel(3)
	// tok 3 is free again at once
	if err := l.Sleep(0, 3); err != nil {
		t.Fatalf("Sleep after Cancel: %v", err)
	}
	close(f.gate)
	l.waitLookups() // the late result has been posted
	toks := selectTokens(t, l, 50*time.Millisecond)
	if !slices.Equal(toks, []Token{3}) {
		t.Fatalf("after cancel got %v, want only the sleeper [3]", toks)
	}
	if toks := selectTokens(t, l, 0); len(toks) != 0 {
		t.Fatalf("late result delivered: %v", toks)
	}
	// cancel after delivery, before the retry: the result is forgotten
	got, err := resolveAll(t, l, "a.test", 0, 4)
	if err != nil || !slices.Equal(got, []string{"192.0.2.7"}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := l.Resolve("a.test", 0, 5); err != ErrWait {
		t.Fatal(err)
	}
	waitFor(t, l, 5)
	l.Cancel(5)
	if _, err := l.Resolve("a.test", 0, 5); err != ErrWait {
		t.Fatalf("after cancel the retry starts over: %v", err)
	}
}

func TestResolveRetryBeforeSelect(t *testing.T) {
	l, f := resolveLoop(t, map[string]fakeAnswer{"a.test": {addrs: []string{"192.0.2.9"}}})
	if _, err := l.Resolve("a.test", 0, 9); err != ErrWait {
		t.Fatal(err)
	}
	l.waitLookups()
	l.collectLookups() // collected and delivered, not yet handed out
	if got, err := l.Resolve("a.test", 0, 9); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if toks := selectTokens(t, l, 0); len(toks) != 0 {
		t.Fatalf("token handed out after its result was taken: %v", toks)
	}
	if len(f.callList()) != 1 {
		t.Fatal(f.callList())
	}
}

func TestResolveMany(t *testing.T) {
	l, _ := resolveLoop(t, map[string]fakeAnswer{"a.test": {addrs: []string{"192.0.2.1"}}})
	const n = 200
	for tok := Token(1); tok <= n; tok++ {
		if _, err := l.Resolve("a.test", 0, tok); err != ErrWait {
			t.Fatal(err)
		}
	}
	seen := make(map[Token]int)
	deadline := time.Now().Add(10 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		for _, tok := range selectTokens(t, l, 100*time.Millisecond) {
			seen[tok]++
			if got, err := l.Resolve("a.test", 0, tok); err != nil || len(got) != 1 {
				t.Fatalf("token %d: %v %v", tok, got, err)
			}
		}
	}
	for tok := Token(1); tok <= n; tok++ {
		if seen[tok] != 1 {
			t.Fatalf("token %d delivered %d times", tok, seen[tok])
		}
	}
}

func TestResolveClose(t *testing.T) {
	for _, deaf := range []bool{false, true} {
		l, err := NewLoop()
		if err != nil {
			t.Fatal(err)
		}
		f := &fakeResolver{gate: make(chan struct{}), deaf: deaf}
		l.SetResolver(f, 0)
		for tok := Token(1); tok <= 10; tok++ {
			if _, err := l.Resolve("a.test", 0, tok); err != ErrWait {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Resolve("a.test", 0, 1); err != ErrClosed {
			t.Fatalf("Resolve after Close: %v", err)
		}
		if deaf {
			close(f.gate) // late results after Close: dropped
		}
		done := make(chan struct{})
		go func() { l.waitLookups(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("deaf=%v: lookup goroutines still running after Close", deaf)
		}
	}
}

func TestResolveLocalhost(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer l.waitLookups()
	for _, fam := range []int{0, 4} {
		got, err := resolveAll(t, l, "localhost", fam, Token(1+fam))
		if err != nil || !slices.Contains(got, "127.0.0.1") {
			t.Fatalf("localhost/%d: %v, %v", fam, got, err)
		}
	}
	if l.NumLookups() != 2 {
		t.Fatalf("NumLookups = %d: localhost did not go through the resolver", l.NumLookups())
	}
	if _, err := resolveAll(t, l, "no.such.host.invalid", 0, 9); err != ErrNoName {
		t.Fatalf("unknown name: %v", err)
	}
}

// TestResolveCancelNoEarlySelect: the late result of a cancelled lookup
// wakes the poller but delivers nothing; Select waits on for its timeout
// or a token (only the host's Wake returns early with nothing).
func TestResolveCancelNoEarlySelect(t *testing.T) {
	l, err := NewLoop() // the real clock: the sleeper below comes due
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f := &fakeResolver{answers: map[string]fakeAnswer{"a.test": {addrs: []string{"192.0.2.7"}}}}
	l.SetResolver(f, 0)
	t.Cleanup(l.waitLookups)
	f.gate = make(chan struct{})
	f.deaf = true
	if _, err := l.Resolve("a.test", 0, 3); err != ErrWait {
		t.Fatal(err)
	}
	l.Cancel(3)
	close(f.gate)
	l.waitLookups() // posted, and the poller woken
	if err := l.Sleep(20*time.Millisecond, 4); err != nil {
		t.Fatal(err)
	}
	out := make([]Token, 4)
	n, err := l.Select(10*time.Second, out)
	if err != nil || n != 1 || out[0] != 4 {
		t.Fatalf("Select after a cancelled lookup's post: %d %v %v, want the sleeper [4]", n, out[:n], err)
	}
	// the host's Wake still ends a Select early, with nothing
	if err := l.Wake(); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Select(-1, out); err != nil || n != 0 {
		t.Fatalf("Select after Wake: %d %v", n, err)
	}
}
