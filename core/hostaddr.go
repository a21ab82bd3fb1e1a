package core

// Numeric hosts, as getaddrinfo(3) reads them without a lookup: IPv6 and
// dotted-quad IPv4 literals (net/netip), and inet_aton(3)'s shorter and
// non-decimal IPv4 forms ("127.1", "0x7f.1", "2130706433", "0177.0.0.1").

import (
	"net/netip"
	"strconv"
	"strings"
)

// parseNumericHost parses a numeric host; false for a name.
func parseNumericHost(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	return parseInetAton(host)
}

// parseInetAton parses inet_aton's forms: 1 to 4 dot-separated parts, each
// decimal, octal (leading 0) or hexadecimal (0x); the last part fills the
// remaining bytes (a.b.c.d, a.b.c16, a.b24, a32).
func parseInetAton(s string) (netip.Addr, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return netip.Addr{}, false
	}
	var v [4]uint64
	k := 0
	for part := range strings.SplitSeq(s, ".") {
		if k == 4 {
			return netip.Addr{}, false
		}
		n, ok := atonPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		v[k] = n
		k++
	}
	var ip uint64
	for i := 0; i < k-1; i++ {
		if v[i] > 255 {
			return netip.Addr{}, false
		}
		ip |= v[i] << (24 - 8*i)
	}
	if v[k-1] >= 1<<(8*(5-k)) {
		return netip.Addr{}, false
	}
	ip |= v[k-1]
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

// atonPart parses one inet_aton number: 0x.. hex, 0.. octal, else decimal.
func atonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	n, err := strconv.ParseUint(p, base, 33)
	return n, err == nil
}
