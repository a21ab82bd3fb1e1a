package core

// Name resolution without blocking the loop. A host name is looked up on a
// goroutine (the only goroutines core starts); the result is posted to a
// mutex-protected completion list and the loop is woken through its
// eventfd. Select moves completions to the ready list (the token is
// delivered), and the retry of Resolve with the same token returns the
// result and forgets it. Numeric hosts answer at once, without a goroutine.
//
// Errors are those of LuaSocket 3.1.0 (usocket.c socket_gaistrerror,
// pierror.h), so that a binding can hand back its exact strings.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver looks up the addresses of a host name (network "ip", "ip4" or
// "ip6"); *net.Resolver implements it. It is called on its own goroutine.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DefaultResolveTimeout bounds one lookup (the system resolver's own
// timeouts, resolv.conf's, normally end it much sooner).
const DefaultResolveTimeout = 30 * time.Second

// Resolution errors: LuaSocket's strings for getaddrinfo's EAI_* codes.
var (
	// ErrNoName is EAI_NONAME: no such host, or no address of the family.
	ErrNoName = errors.New("host or service not provided, or not known")
	// ErrAgain is EAI_AGAIN: the name server did not answer in time.
	ErrAgain = errors.New("temporary failure in name resolution")
	// ErrFail is EAI_FAIL: any other resolver failure.
	ErrFail = errors.New("non-recoverable failure in name resolution")
	// ErrFamily is EAI_ADDRFAMILY: a numeric host of the other family
	// (glibc's gai_strerror text, which LuaSocket passes through).
	ErrFamily = errors.New("Address family for hostname not supported")
)

// lookup is one name lookup, from the first Resolve to the retry that
// returns its result.
type lookup struct {
	tok      Token
	host     string
	family   int
	w        *waiter // the parked token's waiter
	gen      uint32  // w.gen when parked
	cancel   context.CancelFunc
	addrs    []netip.Addr // set by the goroutine before posting
	err      error
	finished bool // collected by the loop: the retry returns the result
}

// resolver is a loop's lookup state. pending and the waiters belong to
// the loop thread; done and closed are shared with the lookup goroutines.
type resolver struct {
	r       Resolver      // nil: net.DefaultResolver
	timeout time.Duration // 0: DefaultResolveTimeout
	pending map[Token]*lookup
	started uint64 // lookups started on a goroutine (a statistic)

	mu     sync.Mutex
	done   []*lookup // finished lookups, not yet collected
	closed bool      // the loop closed: results are dropped
	posted atomic.Bool
	wg     sync.WaitGroup // running lookup goroutines
}

// SetResolver replaces the resolver used by Resolve (nil: the system's,
// net.DefaultResolver) and the bound on one lookup (<= 0: the default).
// Lookups already started keep theirs.
func (l *Loop) SetResolver(r Resolver, timeout time.Duration) {
	l.res.r, l.res.timeout = r, timeout
}

// NumLookups returns how many lookups were started on a goroutine since
// the loop was created (numeric hosts are not counted).
func (l *Loop) NumLookups() uint64 {
	return l.res.started
}

// Resolve returns the addresses of host for family (0: any, 4: IPv4, 6:
// IPv6), in the resolver's order, IPv4 ones in 4-byte form. A numeric host
// (netip syntax or inet_aton's forms such as "127.1") answers at once. A
// name starts a lookup on a goroutine, parks tok and returns ErrWait; tok
// is delivered when the result is in, and the retry (same tok, host and
// family) returns it. Token 0 never parks: a name gives ErrTimeout.
// Errors: ErrNoName, ErrAgain, ErrFail, ErrFamily, ErrInvalid (family),
// ErrBusy (tok parked elsewhere, or on a lookup of another host),
// ErrClosed. Cancel(tok) abandons a lookup.
func (l *Loop) Resolve(host string, family int, tok Token) ([]netip.Addr, error) {
	if l.closed {
		return nil, ErrClosed
	}
	network, ok := lookupNetwork(family)
	if !ok {
		return nil, ErrInvalid
	}
	if a, ok := parseNumericHost(host); ok {
		if (family == 4 && !a.Is4()) || (family == 6 && !a.Is6()) {
			return nil, ErrFamily
		}
		return []netip.Addr{a}, nil
	}
	if lk := l.res.pending[tok]; lk != nil && tok != 0 {
		if lk.host != host || lk.family != family {
			return nil, ErrBusy
		}
		if !lk.finished {
			return nil, ErrWait
		}
		delete(l.res.pending, tok)
		if w := l.byTok.get(tok); w != nil && w == lk.w && w.gen == lk.gen {
			l.release(w) // retried before Select handed tok out
		}
		return lk.addrs, lk.err
	}
	if host == "" {
		return nil, ErrNoName // getaddrinfo(""): EAI_NONAME
	}
	if tok == 0 {
		return nil, ErrTimeout
	}
	if l.parked(tok) != nil || l.owes(tok) {
		return nil, ErrBusy
	}
	if len(l.shares) > 0 { // a new operation of tok (shares.go)
		l.leaveShare(tok, nil)
	}
	l.startLookup(host, family, network, tok)
	return nil, ErrWait
}

// startLookup parks tok (a waiter without timer or queue) and runs the
// lookup of host on a goroutine.
func (l *Loop) startLookup(host string, family int, network string, tok Token) {
	rs := &l.res
	if rs.pending == nil {
		rs.pending = make(map[Token]*lookup)
	}
	timeout := rs.timeout
	if timeout <= 0 {
		timeout = DefaultResolveTimeout
	}
	r := rs.r
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	w := l.newWaiter(tok, nil, l.now())
	lk := &lookup{tok: tok, host: host, family: family, w: w, gen: w.gen, cancel: cancel}
	rs.pending[tok] = lk
	rs.started++
	rs.wg.Add(1)
	go l.runLookup(ctx, r, network, lk)
}

// runLookup is the lookup goroutine: it asks r, posts the result to the
// completion list and wakes the loop. After the loop closed the result is
// dropped.
func (l *Loop) runLookup(ctx context.Context, r Resolver, network string, lk *lookup) {
	defer l.res.wg.Done()
	addrs, err := r.LookupNetIP(ctx, network, lk.host)
	ctxErr := ctx.Err()
	lk.cancel()
	if err == nil {
		addrs, err = filterAddrs(addrs, lk.family)
	} else {
		err = resolveError(err, ctxErr)
	}
	rs := &l.res
	rs.mu.Lock()
	if rs.closed {
		rs.mu.Unlock()
		return
	}
	lk.addrs, lk.err = addrs, err
	rs.done = append(rs.done, lk)
	rs.posted.Store(true)
	rs.mu.Unlock()
	// not l.Wake: a post ends a Select only through the token it
	// delivers (Select); ErrClosed if the loop closed since: nobody waits
	_ = l.p.wake()
}

// collectLookups moves posted results to their lookups and delivers their
// tokens; results of cancelled lookups are dropped. Loop thread.
func (l *Loop) collectLookups() {
	rs := &l.res
	if !rs.posted.Load() {
		return
	}
	rs.mu.Lock()
	done := rs.done
	rs.done = nil
	rs.posted.Store(false)
	rs.mu.Unlock()
	for _, lk := range done {
		if rs.pending[lk.tok] != lk {
			continue // cancelled: its waiter may serve another token now
		}
		lk.finished = true
		l.deliver(lk.w)
	}
}

// forgetLookup abandons tok's lookup, if any: its result will be dropped.
// Cancel calls it; the caller releases tok's waiter.
func (l *Loop) forgetLookup(tok Token) {
	if lk := l.res.pending[tok]; lk != nil {
		delete(l.res.pending, tok)
		lk.cancel()
	}
}

// closeLookups drops every lookup at Loop.Close: running goroutines are
// cancelled and their results dropped when they finish.
func (l *Loop) closeLookups() {
	rs := &l.res
	rs.mu.Lock()
	rs.closed = true
	rs.done = nil
	rs.posted.Store(false)
	rs.mu.Unlock()
	for _, lk := range rs.pending {
		lk.cancel()
	}
	rs.pending = nil
}

// waitLookups waits until every lookup goroutine has returned (tests).
func (l *Loop) waitLookups() {
	l.res.wg.Wait()
}

// lookupNetwork maps a family (0, 4, 6) to a Resolver network.
func lookupNetwork(family int) (string, bool) {
	switch family {
	case 0:
		return "ip", true
	case 4:
		return "ip4", true
	case 6:
		return "ip6", true
	}
	return "", false
}

// filterAddrs returns addrs unmapped (IPv4 in 4-byte form), of family
// only, without duplicates, in order; none left is ErrNoName (getaddrinfo
// with a family hint answers EAI_NONAME for a name without such address).
func filterAddrs(addrs []netip.Addr, family int) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() || (family == 4 && !a.Is4()) || (family == 6 && !a.Is6()) {
			continue
		}
		dup := false
		for _, b := range out {
			dup = dup || a == b
		}
		if !dup {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoName
	}
	return out, nil
}

// resolveError maps a resolver error to LuaSocket's: not found -> ErrNoName,
// timeouts and temporary failures -> ErrAgain, anything else -> ErrFail.
// ctxErr is the lookup context's error when the resolver returned.
func resolveError(err, ctxErr error) error {
	var de *net.DNSError
	var ae *net.AddrError
	switch {
	case errors.As(err, &de):
		if de.IsNotFound {
			return ErrNoName
		}
		if de.IsTimeout || de.IsTemporary {
			return ErrAgain
		}
	case errors.As(err, &ae): // "no suitable address found" (other family)
		return ErrNoName
	case errors.Is(err, context.DeadlineExceeded), ctxErr != nil:
		return ErrAgain
	}
	return ErrFail
}
