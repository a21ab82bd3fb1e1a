package core

import "testing"

func TestTokTable(t *testing.T) {
	var tt tokTable
	ws := map[Token]*waiter{}
	toks := []Token{1, 63, 64, 1000, smallTokens - 1, smallTokens, smallTokens + 5, 1 << 40, ^Token(0)}
	for _, tok := range toks {
		if tt.get(tok) != nil {
			t.Fatalf("get(%d) before set: not nil", tok)
		}
		w := &waiter{tok: tok}
		ws[tok] = w
		tt.set(tok, w)
	}
	if tt.len() != len(toks) {
		t.Fatalf("len = %d, want %d", tt.len(), len(toks))
	}
	if len(tt.small) > smallTokens {
		t.Fatalf("small slice %d entries, more than smallTokens", len(tt.small))
	}
	for _, tok := range toks {
		if tt.get(tok) != ws[tok] {
			t.Fatalf("get(%d): wrong waiter", tok)
		}
	}
	for _, tok := range []Token{2, 65, smallTokens + 1, 1<<40 + 1, 1<<40 - 1} {
		if tt.get(tok) != nil {
			t.Fatalf("get(%d), never set: not nil", tok)
		}
	}
	for i, tok := range toks {
		tt.del(tok)
		if tt.get(tok) != nil {
			t.Fatalf("get(%d) after del: not nil", tok)
		}
		if tt.len() != len(toks)-i-1 {
			t.Fatalf("len after %d dels = %d", i+1, tt.len())
		}
	}
	tt.set(7, ws[1])
	tt.set(1<<40, ws[1<<40])
	tt.reset()
	if tt.len() != 0 || tt.get(7) != nil || tt.get(1<<40) != nil {
		t.Fatal("reset left tokens behind")
	}
}
