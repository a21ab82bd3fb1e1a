package core

// SOCKS4 and SOCKS5 (RFC 1928, RFC 1929) CONNECT handshakes over a stream
// socket already connected to the proxy, done with Send and Receive under
// the caller's token: the same retry protocol as Send (ErrWait, then call
// again with the same arguments and token). The reply is read with
// PatCount receives of exactly its size, through the socket's receive
// buffer, so bytes the proxy sends after it stay buffered for the caller.

import (
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"
)

// SocksError is a proxy's refusal or an invalid reply; its text is the Lua
// binding's (lua-binding/glue/socks.lua). The values are consecutive, in
// the order of the ASOK_ESOCKS* codes of asok.h.
type SocksError int

// The SOCKS outcomes other than success.
const (
	ErrSocks4Rejected    SocksError = iota // reply 91
	ErrSocks4Identd                        // reply 92
	ErrSocks4UserID                        // reply 93
	ErrSocks4Failed                        // another reply code
	ErrSocks4Reply                         // not a SOCKS4 reply
	ErrSocks5Failure                       // reply 1
	ErrSocks5NotAllowed                    // reply 2
	ErrSocks5NetUnreach                    // reply 3
	ErrSocks5HostUnreach                   // reply 4
	ErrSocks5Refused                       // reply 5
	ErrSocks5TTL                           // reply 6
	ErrSocks5Command                       // reply 7
	ErrSocks5AddrType                      // reply 8
	ErrSocks5Failed                        // another reply code
	ErrSocks5Reply                         // not a SOCKS5 reply
	ErrSocks5Atyp                          // reply with an unknown address type
	ErrSocks5NoMethod                      // 0xFF to user/password
	ErrSocks5NoAuth                        // 0xFF to "no authentication"
	ErrSocks5Method                        // a method that was not offered
	ErrSocks5Auth                          // RFC 1929 status not 0
	numSocksErrors
)

// socksMsg holds the text of each SocksError.
var socksMsg = [numSocksErrors]string{
	"socks4: request rejected or failed",
	"socks4: request rejected: the proxy cannot reach the client's identd",
	"socks4: request rejected: identd reports a different user id",
	"socks4: request failed (unknown reply code)",
	"socks4: invalid reply (not a SOCKS4 proxy?)",
	"socks5: general SOCKS server failure",
	"socks5: connection not allowed by ruleset",
	"socks5: network unreachable",
	"socks5: host unreachable",
	"socks5: connection refused",
	"socks5: TTL expired",
	"socks5: command not supported",
	"socks5: address type not supported",
	"socks5: request failed (unknown reply code)",
	"socks5: invalid reply (not a SOCKS5 proxy?)",
	"socks5: invalid reply (address type)",
	"socks5: no acceptable authentication method",
	"socks5: no acceptable authentication method (the proxy wants a user name and password?)",
	"socks5: proxy chose an authentication method not offered",
	"socks5: authentication failed",
}

// Error returns the Lua binding's message for e.
func (e SocksError) Error() string {
	if e >= 0 && e < numSocksErrors {
		return socksMsg[e]
	}
	return "socks: unknown error"
}

// socksState is the progress of a handshake that returned ErrWait: which
// exchange runs, whether its request was sent, and the identity (all
// requests) of the call, checked on retries.
type socksState struct {
	tok  Token
	key  string
	step int
	sent bool
	need int // bytes of the SOCKS5 bound address still to read
}

// Socks4Connect asks the SOCKS4 proxy s is connected to to CONNECT to the
// IPv4 literal ip and port, as user (may be ""). It returns nil once the
// proxy granted the connection; ErrWait (call again with the same
// arguments and tok); a SocksError; ErrClosed, ErrTimeout or a system
// error from the I/O; ErrInvalid (bad argument, not a connected stream
// socket, or a retry with other arguments); ErrBusy (a handshake of
// another token is under way on s). The socket's timeouts apply to each
// send and each receive of the handshake.
func (s *Socket) Socks4Connect(ip string, port int, user string, tok Token) error {
	addr, ok := ipv4Bytes(ip)
	if !ok || !validPort(port) || !validName(user, 0) {
		return ErrInvalid
	}
	req := append([]byte{4, 1, byte(port >> 8), byte(port)}, addr[:]...)
	req = append(append(req, user...), 0)
	st, err := s.socksBegin("4"+string(req), tok)
	if err != nil {
		return err
	}
	reply, err := s.socksExchange(st, req, 8)
	if err != nil {
		return s.socksEnd(err)
	}
	switch {
	case reply[0] != 0:
		err = ErrSocks4Reply
	case reply[1] == 90:
	case reply[1] >= 91 && reply[1] <= 93:
		err = ErrSocks4Rejected + SocksError(reply[1]-91)
	default:
		err = ErrSocks4Failed
	}
	return s.socksEnd(err)
}

// Socks5Connect asks the SOCKS5 proxy s is connected to to CONNECT to host
// (an IPv4 or IPv6 literal, "[...]" allowed, or a name of 1..255 bytes the
// proxy resolves) and port. With a user (1..255 bytes; "" for none) it
// offers RFC 1929 user/password authentication too (password 0..255
// bytes; a password without a user is ErrInvalid: it would not be sent).
// Results as Socks4Connect; the bound address of the reply is read and
// dropped.
func (s *Socket) Socks5Connect(host string, port int, user, password string, tok Token) error {
	if !validName(host, 1) || !validPort(port) || !validName(user, 0) || !validName(password, 0) ||
		(user == "" && password != "") {
		return ErrInvalid
	}
	greet := []byte{5, 1, 0}
	var auth []byte
	if user != "" {
		greet = []byte{5, 2, 0, 2}
		auth = append(append([]byte{1, byte(len(user))}, user...), byte(len(password)))
		auth = append(auth, password...)
	}
	req := append([]byte{5, 1, 0}, socks5Addr(host)...)
	req = append(req, byte(port>>8), byte(port))
	st, err := s.socksBegin("5"+string(greet)+"\x00"+string(auth)+"\x00"+string(req), tok)
	if err != nil {
		return err
	}
	for {
		if err = s.socks5Step(st, greet, auth, req, user != ""); err != nil || st.step == 5 {
			return s.socksEnd(err)
		}
	}
}

// socks5Step runs exchange st.step of a SOCKS5 handshake and moves st to
// the next one (5: done).
func (s *Socket) socks5Step(st *socksState, greet, auth, req []byte, hasUser bool) error {
	switch st.step {
	case 0: // method negotiation
		r, err := s.socksExchange(st, greet, 2)
		switch {
		case err != nil:
			return err
		case r[0] != 5:
			return ErrSocks5Reply
		case r[1] == 0:
			st.step = 2
		case r[1] == 255 && hasUser:
			return ErrSocks5NoMethod
		case r[1] == 255:
			return ErrSocks5NoAuth
		case r[1] != 2 || !hasUser:
			return ErrSocks5Method
		default:
			st.step = 1
		}
	case 1: // user/password
		r, err := s.socksExchange(st, auth, 2)
		if err != nil {
			return err
		}
		if r[1] != 0 {
			return ErrSocks5Auth
		}
		st.step = 2
	case 2: // the request
		r, err := s.socksExchange(st, req, 4)
		switch {
		case err != nil:
			return err
		case r[0] != 5:
			return ErrSocks5Reply
		case r[1] >= 1 && r[1] <= 8:
			return ErrSocks5Failure + SocksError(r[1]-1)
		case r[1] != 0:
			return ErrSocks5Failed
		case r[3] == 1:
			st.need, st.step = 6, 4
		case r[3] == 4:
			st.need, st.step = 18, 4
		case r[3] == 3:
			st.step = 3
		default:
			return ErrSocks5Atyp
		}
	case 3: // the length of a bound name
		r, err := s.socksExchange(st, nil, 1)
		if err != nil {
			return err
		}
		st.need, st.step = int(r[0])+2, 4
	case 4: // the bound address and port: not needed
		if _, err := s.socksExchange(st, nil, st.need); err != nil {
			return err
		}
		st.step = 5
	}
	return nil
}

// socksBegin starts or resumes the handshake identified by key under tok.
func (s *Socket) socksBegin(key string, tok Token) (*socksState, error) {
	if s.closed {
		// as begin: the owner of tok learns of the close now, and a share
		// of s's data kept for tok is given back (another operation than
		// its receive: shares.go)
		if l := s.l; l.owed > 0 || len(l.shares) > 0 {
			l.dropReleased(tok, s)
			l.leaveShare(tok, nil)
		}
		return nil, ErrClosed
	}
	if s.typ != unix.SOCK_STREAM || s.listening {
		return nil, ErrInvalid
	}
	st := s.socks
	if st == nil {
		st = &socksState{tok: tok, key: key}
		s.socks = st
		return st, nil
	}
	if st.tok != tok {
		return nil, ErrBusy
	}
	if st.key != key {
		return nil, ErrInvalid
	}
	return st, nil
}

// socksExchange sends req (unless nil or already sent) and receives exactly
// n bytes; on success the next exchange starts with a send.
func (s *Socket) socksExchange(st *socksState, req []byte, n int) ([]byte, error) {
	if req != nil && !st.sent {
		if _, err := s.Send(req, st.tok); err != nil {
			return nil, err
		}
		st.sent = true
	}
	r, err := s.Receive(PatCount, n, st.tok)
	if err != nil {
		return nil, err
	}
	st.sent = false
	return r, nil
}

// socksEnd forgets the handshake unless err is ErrWait, and returns err.
func (s *Socket) socksEnd(err error) error {
	if err != ErrWait {
		s.socks = nil
	}
	return err
}

// ipv4Bytes parses a dotted-quad IPv4 literal (1-3 digits per part, as
// the Lua binding).
func ipv4Bytes(s string) ([4]byte, bool) {
	var out [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return out, false
	}
	for i, p := range parts {
		if len(p) < 1 || len(p) > 3 {
			return out, false
		}
		v := 0
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return out, false
			}
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return out, false
		}
		out[i] = byte(v)
	}
	return out, true
}

// socks5Addr encodes host as a SOCKS5 address: IPv4 (1), IPv6 (4, host
// possibly in brackets, no zone) or a domain name (3).
func socks5Addr(host string) []byte {
	if a, ok := ipv4Bytes(host); ok {
		return append([]byte{1}, a[:]...)
	}
	h := host
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") && !strings.Contains(h, "%") {
		if a, err := netip.ParseAddr(h); err == nil && a.Is6() {
			b := a.As16()
			return append([]byte{4}, b[:]...)
		}
	}
	return append([]byte{3, byte(len(host))}, host...)
}

// validPort reports whether p is a port number.
func validPort(p int) bool { return p >= 0 && p <= 65535 }

// validName reports whether v is a SOCKS name field: min..255 bytes, no NUL.
func validName(v string, min int) bool {
	return len(v) >= min && len(v) <= 255 && !strings.Contains(v, "\x00")
}
