package core

import "bytes"

// The pattern engine: LuaSocket 3.1.0 src/buffer.c receive semantics as
// pure functions over byte slices (no fd), used by receive.go.

// validPattern reports whether p with count n is a valid receive request.
func validPattern(p Pattern, n int) bool {
	switch p {
	case PatLine, PatAll:
		return true
	case PatCount:
		return n >= 0
	}
	return false
}

// matchEnd reports whether data holds a complete result for pattern p:
// the result is data[:end] and end+skip bytes are consumed. scanned is how
// many leading bytes of data are known to hold no '\n' (so a long line
// arriving in pieces is not rescanned); newScanned is the updated count.
func matchEnd(p Pattern, n int, data []byte, scanned int) (end, skip int, ok bool, newScanned int) {
	switch p {
	case PatLine: // buffer.c recvline: up to '\n', which is consumed
		if scanned > len(data) {
			scanned = 0
		}
		i := bytes.IndexByte(data[scanned:], '\n')
		if i < 0 {
			return 0, 0, false, len(data)
		}
		return scanned + i, 1, true, 0
	case PatCount: // buffer.c recvraw; n == 0 waits for data, consumes none
		if len(data) >= n && (n > 0 || len(data) > 0) {
			return n, 0, true, scanned
		}
	}
	return 0, 0, false, scanned // PatAll completes only at EOF
}

// stripCR removes every '\r' of b in place (buffer.c recvline: "we ignore
// all \r's") and returns the shortened slice.
func stripCR(b []byte) []byte {
	i := bytes.IndexByte(b, '\r')
	if i < 0 {
		return b
	}
	j := i
	for _, c := range b[i+1:] {
		if c != '\r' {
			b[j] = c
			j++
		}
	}
	return b[:j]
}

// result turns the matched (or partial) bytes into pattern p's value.
func result(p Pattern, b []byte) []byte {
	if p == PatLine {
		return stripCR(b)
	}
	return b
}

// eofResult applies end-of-stream to the buffered bytes: PatAll succeeds
// if anything was read (buffer.c recvall: "closed" only if total == 0);
// other patterns return the partial data with ErrClosed.
func eofResult(p Pattern, data []byte) ([]byte, error) {
	if p == PatAll && len(data) > 0 {
		return data, nil
	}
	return result(p, data), ErrClosed
}
