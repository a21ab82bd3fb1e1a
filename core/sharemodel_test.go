package core

import (
	"bytes"
	"testing"
)

// The model of a closed socket's shares for FuzzLookWake (shares.go):
// what the socket had buffered at its close goes to the receives waiting
// then, in call order, each retry with its own pattern (another one than
// it waited with included: the same call, item 47), then to the calls
// made after the close. Its bytes are made unique (wakeModel.unique, line
// ends aside), so each result's place in that stream is known, and the
// model checks, for every result:
//   - it is one run of the stream (no bytes left out in its middle);
//   - no byte comes out twice;
//   - the results are in stream order: the waiters' in call order, then
//     the calls after the close in the order they are made (while no
//     waiter's retry changed its pattern after bytes past its share came
//     out: what it leaves is read next then, out of order, item 47);
// and at the end (every waiter retried, the rest read), that every byte
// came out, unless a waiter was cancelled or its token moved to another
// call: its share may go with it.

// closedModel is the model of one closed socket's stream.
type closedModel struct {
	data      []byte         // what the socket had buffered at its close
	ambiguous bool           // a byte value (not a line end) twice in data: places not checked
	waiters   []closedWaiter // the receives waiting at the close, in call order
	out       []int          // how often each byte of data came out (pinned results)
	loose     int            // line ends that came out in results of line ends only
	spans     []closedSpan   // the pinned results so far
	posts     int            // the calls after the close so far
	readPast  bool           // a call after the close read bytes
	reordered bool           // a retry changed its pattern after such bytes came out
	lossOK    bool           // a waiter cancelled or moved: its share may be gone
}

// closedWaiter is a receive waiting at the close.
type closedWaiter struct {
	tok     Token
	pat     Pattern
	n       int
	pending bool // neither retried nor cancelled yet
}

// closedSpan is where a result came from in the stream and its place in
// the order: waiter k is (0, k), the i-th call after the close (1, i).
type closedSpan struct {
	start, end int
	post       bool
	key        int
}

// newClosedModel records s's buffered bytes and waiting receives, right
// before its close.
func newClosedModel(s *Socket) *closedModel {
	s.settled() // (Close's own first step: an armed retry's bytes are s's)
	c := &closedModel{data: append([]byte(nil), s.rb.data()...)}
	c.out = make([]int, len(c.data))
	seen := map[byte]bool{}
	for _, b := range c.data {
		if b != '\n' && seen[b] {
			c.ambiguous = true
		}
		seen[b] = true
	}
	for w := s.rq.head; w != nil; w = w.next {
		if w.receiving || w.recvq {
			c.waiters = append(c.waiters, closedWaiter{tok: w.tok, pat: w.pat, n: w.cnt, pending: true})
		}
	}
	return c
}

// waiter returns the index of tok's pending waiter, -1 if none.
func (c *closedModel) waiter(tok Token) int {
	for k, w := range c.waiters {
		if w.tok == tok && w.pending {
			return k
		}
	}
	return -1
}

// gone notes that tok's call ended without a result here (Cancel, or its
// token moved to another call): its share may go with it.
func (c *closedModel) gone(tok Token) {
	if k := c.waiter(tok); k >= 0 {
		c.waiters[k].pending = false
		c.lossOK = true
	}
}

// result checks the result of a receive of tok (pattern p, count n) on
// the closed socket and records it.
func (c *closedModel) result(t *testing.T, tok Token, p Pattern, n int, res []byte, err error) {
	t.Helper()
	sp := closedSpan{post: true, key: c.posts}
	if k := c.waiter(tok); k >= 0 && tok != 0 {
		w := &c.waiters[k]
		w.pending = false
		past := c.readPast // (a call after the close read bytes)
		for _, o := range c.waiters[k+1:] {
			past = past || !o.pending // (a later waiter's share is out, or gone)
		}
		if past && (w.pat != p || (p == PatCount && w.n != n)) {
			c.reordered = true
		}
		sp = closedSpan{key: k}
	} else {
		c.posts++
	}
	raw := res
	if p == PatLine && err == nil {
		raw = append(append([]byte(nil), res...), '\n')
	}
	if len(raw) == 0 {
		return
	}
	if sp.post {
		c.readPast = true
	}
	q := bytes.IndexFunc(raw, func(r rune) bool { return r != '\n' })
	if q < 0 || c.ambiguous { // line ends only: no place to pin
		c.loose += bytes.Count(raw, []byte("\n"))
		if !c.ambiguous && c.loose > bytes.Count(c.data, []byte("\n")) {
			t.Fatalf("closed: %q: more line ends than the stream %q had", raw, c.data)
		}
		return
	}
	at := bytes.IndexByte(c.data, raw[q])
	sp.start, sp.end = at-q, at-q+len(raw)
	if at < 0 || sp.start < 0 || sp.end > len(c.data) || !bytes.Equal(c.data[sp.start:sp.end], raw) {
		t.Fatalf("closed: tok %d %v %d: %q %v is not one run of the stream %q", tok, p, n, res, err, c.data)
	}
	for i := sp.start; i < sp.end; i++ {
		if c.out[i]++; c.out[i] > 1 {
			t.Fatalf("closed: tok %d: %q %v: byte %d of %q came out twice", tok, res, err, i, c.data)
		}
	}
	if !c.reordered {
		for _, o := range c.spans {
			before := o.post == sp.post && o.key < sp.key || !o.post && sp.post
			after := o.post == sp.post && o.key > sp.key || o.post && !sp.post
			if before && o.end > sp.start || after && o.start < sp.end {
				t.Fatalf("closed: tok %d: %q %v at [%d,%d) out of order with [%d,%d) (%+v, %+v) of %q",
					tok, res, err, sp.start, sp.end, o.start, o.end, o, sp, c.data)
			}
		}
	}
	c.spans = append(c.spans, sp)
}

// finish checks, once everything was read, that every byte came out
// (unless a share may have gone with its call).
func (c *closedModel) finish(t *testing.T) {
	t.Helper()
	if c.ambiguous || c.lossOK {
		return
	}
	for k, w := range c.waiters {
		if w.pending {
			t.Fatalf("closed: waiter %d (tok %d) never retried", k, w.tok)
		}
	}
	nl := c.loose
	for i, b := range c.data {
		switch {
		case c.out[i] == 1:
		case b == '\n' && nl > 0:
			nl--
		default:
			t.Fatalf("closed: byte %d of %q never came out (%v, %d loose line ends)", i, c.data, c.out, c.loose)
		}
	}
	if nl != 0 {
		t.Fatalf("closed: %d line ends too many came out of %q", nl, c.data)
	}
}
