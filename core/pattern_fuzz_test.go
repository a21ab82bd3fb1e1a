package core

import (
	"bytes"
	"testing"
)

// refReceive is a reference model of LuaSocket's buffer.c over a whole
// stream that ends with EOF: it returns the result, the error and the
// remaining stream.
func refReceive(stream []byte, p Pattern, n int) ([]byte, error, []byte) {
	switch p {
	case PatLine:
		if i := bytes.IndexByte(stream, '\n'); i >= 0 {
			return bytes.ReplaceAll(stream[:i], []byte("\r"), nil), nil, stream[i+1:]
		}
		return bytes.ReplaceAll(stream, []byte("\r"), nil), ErrClosed, nil
	case PatCount:
		if len(stream) >= n && (n > 0 || len(stream) > 0) {
			return stream[:n], nil, stream[n:]
		}
		return stream, ErrClosed, nil
	}
	if len(stream) > 0 {
		return stream, nil, nil
	}
	return nil, ErrClosed, nil
}

// FuzzReceive checks the engine against the reference model for any data,
// any chunking and any sequence of patterns.
func FuzzReceive(f *testing.F) {
	f.Add([]byte("a\r\nbc\n\ndef"), []byte{1, 2, 3}, []byte{0, 0, 1, 7, 2})
	f.Add([]byte("\r\r\n\n\rx"), []byte{1}, []byte{0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte("0123456789\n"), 20000), []byte{255, 7, 3}, []byte{1, 0, 200, 2})
	f.Fuzz(func(t *testing.T, data, cuts, ops []byte) {
		var chunks []string
		rest := data
		for i := 0; len(rest) > 0; i++ {
			k := len(rest)
			if len(cuts) > 0 {
				k = min(int(cuts[i%len(cuts)])*97+1, len(rest))
			}
			chunks = append(chunks, string(rest[:k]))
			rest = rest[k:]
		}
		e := newRxEngine()
		var b rxbuf
		rd := &chunkReader{chunks: chunks}
		stream := data
		for _, op := range ops {
			p, n := PatLine, 0
			switch op % 4 {
			case 1:
				p = PatAll
			case 2, 3:
				p, n = PatCount, int(op/4)
			}
			want, wantErr, next := refReceive(stream, p, n)
			got, err := recvTok0(&e, rd, &b, p, n)
			if err != wantErr || !bytes.Equal(got, want) {
				t.Fatalf("op %d (%d,%d): got %q %v, want %q %v", op, p, n, trunc(got), err, trunc(want), wantErr)
			}
			stream = next
		}
	})
}
