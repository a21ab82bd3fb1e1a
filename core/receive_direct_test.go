package core

import (
	"bytes"
	"math/rand"
	"testing"
)

// TestReceiveDirectReads: long lines, '*a' and counts built by many reads
// (beyond directRead, where reads go straight into the socket buffer)
// come out byte-exact, with what follows them left buffered, whatever the
// read sizes.
func TestReceiveDirectReads(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 40; round++ {
		e := newRxEngine()
		var b rxbuf
		line := make([]byte, directRead*(1+rng.Intn(12))+rng.Intn(5000))
		for i := range line {
			line[i] = byte('a' + rng.Intn(26))
		}
		stream := append(append(append([]byte{}, line...), "\r\nnext\n"...), line[:3000]...)
		var chunks []string
		for rest := stream; len(rest) > 0; {
			k := min(len(rest), 1+rng.Intn(3*scratchSize/2))
			chunks = append(chunks, string(rest[:k]))
			rest = rest[k:]
		}
		rd := &chunkReader{chunks: chunks}
		res, err := e.receive(rd, &b, PatLine, 0)
		if err != nil || !bytes.Equal(res, line) {
			t.Fatalf("round %d: line of %d: got %d bytes, err %v", round, len(line), len(res), err)
		}
		res, err = e.receive(rd, &b, PatLine, 0)
		if err != nil || string(res) != "next" {
			t.Fatalf("round %d: next line: %q, %v", round, res, err)
		}
		res, err = e.receive(rd, &b, PatAll, 0) // to EOF
		if err != nil || !bytes.Equal(res, line[:3000]) {
			t.Fatalf("round %d: '*a': %d bytes, %v", round, len(res), err)
		}
	}
}
