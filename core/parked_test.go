package core

import (
	"testing"
	"time"
)

// TestParkedTokens: busy detection and cancel find parked tokens below
// and at the highest token ever parked, whatever the order they came in;
// tokens above it are known free without a map lookup.
func TestParkedTokens(t *testing.T) {
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tok := range []Token{100, 5, 7} {
		if err := l.Sleep(time.Hour, tok); err != nil {
			t.Fatalf("Sleep(%d): %v", tok, err)
		}
	}
	for _, tok := range []Token{5, 7, 100} {
		if err := l.Sleep(time.Hour, tok); err != ErrBusy {
			t.Errorf("Sleep(%d) again: %v, want ErrBusy", tok, err)
		}
	}
	if w := l.parked(101); w != nil {
		t.Errorf("parked(101) = %v", w)
	}
	l.Cancel(5)
	if err := l.Sleep(0, 5); err != nil { // free again, below the maximum
		t.Errorf("Sleep(5) after Cancel: %v", err)
	}
	toks := make([]Token, 4)
	n, err := l.Select(time.Second, toks)
	if err != nil || n != 1 || toks[0] != 5 {
		t.Errorf("Select: %d %v %v, want token 5 only", n, err, toks[:n])
	}
}
