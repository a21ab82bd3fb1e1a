package core

// smallTokens bounds the tokens kept in a slice indexed by the token: the
// Lua binding recycles small tokens for its receives and sends (below
// 2^16 in its Lua glue, from 2^16 for those parked in C), so their lookup
// is an index, not a hash probe (a cache miss with tens of thousands
// parked). Larger tokens, any 64-bit value a C caller chooses, go to a
// map. The slice grows to the largest small token parked: at most 1 MiB.
const smallTokens = 1 << 17

// tokTable maps parked tokens to their waiters.
type tokTable struct {
	small  []*waiter // by token, grown on demand (at most smallTokens)
	big    map[Token]*waiter
	maxBig Token // no token above it is in big
	n      int   // parked tokens
}

// get returns the waiter parked under tok, or nil. Tokens above every big
// token ever parked (the binding's other tokens are increasing) need no
// map lookup.
func (t *tokTable) get(tok Token) *waiter {
	if tok < Token(len(t.small)) {
		return t.small[tok]
	}
	if tok < smallTokens || tok > t.maxBig {
		return nil
	}
	return t.big[tok]
}

// set parks w under tok (not parked yet).
func (t *tokTable) set(tok Token, w *waiter) {
	t.n++
	if tok < smallTokens {
		if tok >= Token(len(t.small)) {
			grown := make([]*waiter, min(max(2*len(t.small), int(tok)+1, 64), smallTokens))
			copy(grown, t.small)
			t.small = grown
		}
		t.small[tok] = w
		return
	}
	if t.big == nil {
		t.big = make(map[Token]*waiter)
	}
	t.big[tok] = w
	t.maxBig = max(t.maxBig, tok)
}

// del removes tok (parked).
func (t *tokTable) del(tok Token) {
	t.n--
	if tok < smallTokens {
		t.small[tok] = nil
		return
	}
	delete(t.big, tok)
}

// len returns the number of parked tokens.
func (t *tokTable) len() int { return t.n }

// reset forgets every token.
func (t *tokTable) reset() {
	clear(t.small)
	clear(t.big)
	t.n = 0
}
