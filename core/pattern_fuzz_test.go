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

// lsBuffer models LuaSocket's buffer (buffer.c) over a transport: it
// reads bufSize at a time, and only once what it holds is used up. What
// it holds after a call is what the engine must hold: the engine's reads
// (readSize, readLine's, lineAsk's sizes) add up to its reads.
type lsBuffer struct {
	rd  rawReader
	buf []byte
	eof bool
}

// get returns what the buffer holds, reading bufSize if it holds nothing;
// nothing with ErrClosed at EOF (or an error), ErrTimeout when the read
// would wait (a timeout of 0).
func (m *lsBuffer) get() ([]byte, error) {
	if len(m.buf) == 0 {
		if m.eof {
			return nil, ErrClosed
		}
		p := make([]byte, bufSize)
		k, err := m.rd.readRaw(p)
		if err == errAgain {
			return nil, ErrTimeout
		}
		if err != nil || k == 0 {
			m.eof = true
			return nil, ErrClosed
		}
		m.buf = p[:k]
	}
	return m.buf, nil
}

// receive is buffer.c's receive of pattern p (count n): the result, or the
// partial one with ErrClosed at EOF ("*a": its result unless empty) or
// ErrTimeout.
func (m *lsBuffer) receive(p Pattern, n int) ([]byte, error) {
	var res []byte
	switch p {
	case PatLine:
		for {
			d, err := m.get()
			if err != nil {
				return res, err
			}
			if i := bytes.IndexByte(d, '\n'); i >= 0 {
				res = append(res, bytes.ReplaceAll(d[:i], []byte("\r"), nil)...)
				m.buf = d[i+1:]
				return res, nil
			}
			res = append(res, bytes.ReplaceAll(d, []byte("\r"), nil)...)
			m.buf = nil
		}
	case PatCount:
		for {
			d, err := m.get()
			if err != nil {
				return res, err
			}
			k := min(len(d), n-len(res))
			res = append(res, d[:k]...)
			m.buf = d[k:]
			if len(res) >= n {
				return res, nil
			}
		}
	}
	for {
		d, err := m.get()
		if err == ErrClosed {
			if len(res) == 0 {
				return nil, ErrClosed
			}
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res = append(res, d...)
		m.buf = nil
	}
}

// FuzzReceive checks the engine against the reference model for any data,
// any chunking and any sequence of patterns, and what it holds after each
// call against LuaSocket's buffer reading the same chunks (lsBuffer).
func FuzzReceive(f *testing.F) {
	f.Add([]byte("a\r\nbc\n\ndef"), []byte{1, 2, 3}, []byte{0, 0, 1, 7, 2})
	f.Add([]byte("\r\r\n\n\rx"), []byte{1}, []byte{0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte("0123456789\n"), 20000), []byte{255, 7, 3}, []byte{1, 0, 200, 2})
	// lines past LuaSocket's first two reads (readLine), the socket's
	// hint (rxbuf.long) set by one and used by the next, counts between
	var long []byte
	for _, k := range []int{20000, 70000, 17000, 9000, 65536, 16383, 40000, 100} {
		long = append(append(long, bytes.Repeat([]byte{byte('a' + k%26)}, k)...), '\n')
	}
	f.Add(long, []byte{255, 100, 255, 3, 200}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(long, []byte{255}, []byte{0, 134, 0, 0, 226, 0, 3, 0, 1})
	f.Add(long, []byte{}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}) // (one chunk: all of it queued)
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
		ls := &lsBuffer{rd: &chunkReader{chunks: append([]string(nil), chunks...)}}
		stream := data
		for _, op := range ops {
			p, n := PatLine, 0
			switch op % 4 {
			case 1:
				p = PatAll
			case 2, 3:
				p, n = PatCount, int(op/4)
				if n >= 32 { // (counts past LuaSocket's reads: 4,099 to 131,168)
					n = (n - 31) * 4099
				}
			}
			want, wantErr, next := refReceive(stream, p, n)
			got, err := recvTok0(&e, rd, &b, p, n)
			if err != wantErr || !bytes.Equal(got, want) {
				t.Fatalf("op %d (%d,%d): got %q %v, want %q %v", op, p, n, trunc(got), err, trunc(want), wantErr)
			}
			lsRes, lsErr := ls.receive(p, n)
			if lsErr != err || !bytes.Equal(lsRes, got) {
				t.Fatalf("op %d (%d,%d): the LuaSocket model gives %q %v, the engine %q %v", op, p, n, trunc(lsRes), lsErr, trunc(got), err)
			}
			if !bytes.Equal(b.data(), ls.buf) {
				t.Fatalf("op %d (%d,%d): %d bytes buffered after, LuaSocket's buffer %d", op, p, n, len(b.data()), len(ls.buf))
			}
			stream = next
		}
	})
}
