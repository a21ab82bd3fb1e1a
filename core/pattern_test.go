package core

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// chunkReader is a fake transport: it returns its chunks one read at a
// time, then end (nil: EOF).
type chunkReader struct {
	chunks []string
	end    error
}

// readRaw implements rawReader.
func (r *chunkReader) readRaw(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		if r.end == nil {
			return 0, nil
		}
		return 0, r.end
	}
	c := r.chunks[0]
	n := copy(p, c)
	if n < len(c) {
		r.chunks[0] = c[n:]
	} else {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// readLine implements rawReader: LuaSocket's own reads, bufSize at a
// time (readLineSteps).
func (r *chunkReader) readLine(p []byte) (int, error) {
	return readLineSteps(r, p)
}

// readLineSteps is readLine made of rd's bufSize reads, as LuaSocket
// makes them: until one holds a '\n', comes back short or p is full. An
// error or EOF after the first ends it with what was read (the transport
// answers it again at the next read).
func readLineSteps(rd rawReader, p []byte) (int, error) {
	got := 0
	for got < len(p) {
		k, err := rd.readRaw(p[got:min(len(p), got+bufSize)])
		if err != nil || k == 0 {
			if got > 0 {
				return got, nil
			}
			return k, err
		}
		got += k
		if k < bufSize || bytes.IndexByte(p[got-k:got], '\n') >= 0 {
			break
		}
	}
	return got, nil
}

// recvTok0 receives like a token-0 call: would-block is a timeout with the
// partial result consumed.
func recvTok0(e *rxEngine, rd rawReader, b *rxbuf, p Pattern, n int) ([]byte, error) {
	res, err := e.receive(rd, b, p, n)
	if err == errAgain {
		return e.partial(b, p), ErrTimeout
	}
	return res, err
}

// TestReceivePatterns checks one row per LuaSocket buffer.c rule.
func TestReceivePatterns(t *testing.T) {
	long := strings.Repeat("x", 100000)
	reset := error(unix.ECONNRESET)
	tests := []struct {
		name    string
		pre     string // already buffered (Unread)
		chunks  []string
		end     error // errAgain, nil (EOF) or an errno
		pat     Pattern
		n       int
		want    string // result, or the partial result on error
		wantErr error
		left    string // still buffered afterwards
	}{
		{"line CRLF", "", []string{"hello\r\n"}, errAgain, PatLine, 0, "hello", nil, ""},
		{"line lone LF", "", []string{"hello\n"}, errAgain, PatLine, 0, "hello", nil, ""},
		{"line CR anywhere", "", []string{"\ra\rb\r\rc\r\n"}, errAgain, PatLine, 0, "abc", nil, ""},
		{"line empty", "", []string{"\n"}, errAgain, PatLine, 0, "", nil, ""},
		{"line empty CRLF", "", []string{"\r\n"}, errAgain, PatLine, 0, "", nil, ""},
		{"line split", "", []string{"h", "e", "l\r", "lo", "\r", "\n"}, errAgain, PatLine, 0, "hello", nil, ""},
		{"line long split", "", []string{long[:30000], long[30000:70000], long[70000:] + "\n"}, errAgain, PatLine, 0, long, nil, ""},
		{"line rest buffered", "", []string{"one\ntwo\nthr"}, errAgain, PatLine, 0, "one", nil, "two\nthr"},
		{"line from buffer", "ab\ncd", nil, errAgain, PatLine, 0, "ab", nil, "cd"},
		{"line buffer+chunk", "a\rb", []string{"c\r\nd"}, errAgain, PatLine, 0, "abc", nil, "d"},
		{"line timeout partial", "", []string{"par\rt", "ial"}, errAgain, PatLine, 0, "partial", ErrTimeout, ""},
		{"line EOF partial", "", []string{"par\rtial"}, nil, PatLine, 0, "partial", ErrClosed, ""},
		{"line EOF nothing", "", nil, nil, PatLine, 0, "", ErrClosed, ""},
		{"line reset partial", "", []string{"ab"}, reset, PatLine, 0, "ab", reset, ""},
		{"all EOF after data", "", []string{"a\r\nb", "c"}, nil, PatAll, 0, "a\r\nbc", nil, ""},
		{"all EOF buffered only", "xy", nil, nil, PatAll, 0, "xy", nil, ""},
		{"all EOF nothing", "", nil, nil, PatAll, 0, "", ErrClosed, ""},
		{"all timeout partial", "", []string{"abc", "def"}, errAgain, PatAll, 0, "abcdef", ErrTimeout, ""},
		{"all reset partial", "", []string{"abc"}, reset, PatAll, 0, "abc", reset, ""},
		{"count exact", "", []string{"abcdef"}, errAgain, PatCount, 6, "abcdef", nil, ""},
		{"count short rest", "", []string{"abcdef"}, errAgain, PatCount, 4, "abcd", nil, "ef"},
		{"count split", "", []string{"ab", "cd", "ef"}, errAgain, PatCount, 5, "abcde", nil, "f"},
		{"count keeps CR", "", []string{"a\r\n"}, errAgain, PatCount, 3, "a\r\n", nil, ""},
		{"count timeout partial", "", []string{"abc"}, errAgain, PatCount, 5, "abc", ErrTimeout, ""},
		{"count EOF partial", "", []string{"abc"}, nil, PatCount, 5, "abc", ErrClosed, ""},
		{"count reset partial", "", []string{"ab"}, reset, PatCount, 5, "ab", reset, ""},
		{"count 0 with data", "", []string{"abc"}, errAgain, PatCount, 0, "", nil, "abc"},
		{"count 0 buffered", "abc", nil, errAgain, PatCount, 0, "", nil, "abc"},
		{"count 0 empty timeout", "", nil, errAgain, PatCount, 0, "", ErrTimeout, ""},
		{"count 0 EOF", "", nil, nil, PatCount, 0, "", ErrClosed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRxEngine()
			var b rxbuf
			b.unread(&e, []byte(tc.pre))
			rd := &chunkReader{chunks: append([]string(nil), tc.chunks...), end: tc.end}
			got, err := recvTok0(&e, rd, &b, tc.pat, tc.n)
			if tc.wantErr == reset {
				if !isErrno(err, unix.ECONNRESET) {
					t.Fatalf("err = %v, want ECONNRESET", err)
				}
			} else if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", trunc(got), trunc([]byte(tc.want)))
			}
			if left := string(b.data()); left != tc.left {
				t.Errorf("left %q, want %q", left, tc.left)
			}
		})
	}
}

// trunc shortens long values in failure messages.
func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// TestReceiveSequence checks that data after a result stays buffered and
// is returned by the next calls, across pattern kinds.
func TestReceiveSequence(t *testing.T) {
	e := newRxEngine()
	var b rxbuf
	rd := &chunkReader{chunks: []string{"l1\r\nl2\nabcde", "fgh\nrest"}, end: nil}
	steps := []struct {
		p       Pattern
		n       int
		want    string
		wantErr error
	}{
		{PatLine, 0, "l1", nil},
		{PatLine, 0, "l2", nil},
		{PatCount, 3, "abc", nil},
		{PatCount, 0, "", nil},
		{PatLine, 0, "defgh", nil},
		{PatAll, 0, "rest", nil},
		{PatAll, 0, "", ErrClosed},
		{PatLine, 0, "", ErrClosed},
	}
	for i, st := range steps {
		got, err := recvTok0(&e, rd, &b, st.p, st.n)
		if string(got) != st.want || err != st.wantErr {
			t.Fatalf("step %d: got %q, %v; want %q, %v", i, got, err, st.want, st.wantErr)
		}
	}
}

// TestReceiveWouldBlockKeepsData checks that a would-block consumes nothing
// and that the scan offset resumes a partial line.
func TestReceiveWouldBlockKeepsData(t *testing.T) {
	e := newRxEngine()
	var b rxbuf
	rd := &chunkReader{chunks: []string{"abc", "def"}, end: errAgain}
	if _, err := e.receive(rd, &b, PatLine, 0); err != errAgain {
		t.Fatalf("err = %v, want errAgain", err)
	}
	if string(b.data()) != "abcdef" || b.scan != 6 {
		t.Fatalf("buffered %q scan %d", b.data(), b.scan)
	}
	rd.chunks = []string{"g\nh"}
	got, err := e.receive(rd, &b, PatLine, 0)
	if err != nil || string(got) != "abcdefg" || string(b.data()) != "h" {
		t.Fatalf("got %q, %v, left %q", got, err, b.data())
	}
}

// TestStripCR checks CR removal in place.
func TestStripCR(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "\r": "", "a\rb\r": "ab", "\r\r\rx\r\r": "x"} {
		if got := string(stripCR([]byte(in))); got != want {
			t.Errorf("stripCR(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestValidPattern checks argument validation.
func TestValidPattern(t *testing.T) {
	cases := []struct {
		p    Pattern
		n    int
		want bool
	}{{PatLine, 0, true}, {PatAll, 5, true}, {PatCount, 0, true}, {PatCount, -1, false}, {0, 0, false}, {4, 1, false}}
	for _, c := range cases {
		if got := validPattern(c.p, c.n); got != c.want {
			t.Errorf("validPattern(%d, %d) = %v", c.p, c.n, got)
		}
	}
}

// TestRxbufUnreadGrow checks Unread in front of data, with and without room.
func TestRxbufUnreadGrow(t *testing.T) {
	e := newRxEngine()
	var b rxbuf
	b.add(&e, []byte("0123456789"))
	b.consume(&e, 4)
	b.unread(&e, []byte("ab")) // fits in the consumed room
	if string(b.data()) != "ab456789" {
		t.Fatalf("got %q", b.data())
	}
	b.unread(&e, []byte(strings.Repeat("z", 10)))
	if string(b.data()) != "zzzzzzzzzzab456789" {
		t.Fatalf("got %q", b.data())
	}
	b.consume(&e, len(b.data()))
	if b.buf != nil || len(e.retired) == 0 || len(e.pool) != 0 {
		t.Fatalf("drained buffer not retired (it may hold the last result)")
	}
	e.flush() // the next receive
	if len(e.retired) != 0 || len(e.pool) == 0 {
		t.Fatalf("retired buffer not released to the pool")
	}
}
