package main

/*
#include "asok.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// socksCode maps the result of a SOCKS handshake: a core.SocksError to its
// ASOK_ESOCKS* code (same order, consecutive), anything else as code().
func socksCode(err error) C.int {
	var se core.SocksError
	if errors.As(err, &se) && se >= 0 && se <= core.ErrSocks5Auth {
		return C.ASOK_ESOCKS4_REJECTED + C.int(se)
	}
	return code(err)
}

// optString reads an optional C string: NULL is "".
func optString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// asokgo_socks4_connect implements asok_socks4_connect.
//
//export asokgo_socks4_connect
func asokgo_socks4_connect(h unsafe.Pointer, ip *C.char, port C.int, user *C.char, tok C.asok_token) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	addr, ok := cstring(ip)
	if !ok {
		return C.ASOK_EINVAL
	}
	return socksCode(sh.sock.Socks4Connect(addr, int(port), optString(user), uint64(tok)))
}

// asokgo_socks5_connect implements asok_socks5_connect.
//
//export asokgo_socks5_connect
func asokgo_socks5_connect(h unsafe.Pointer, host *C.char, port C.int, user, password *C.char, tok C.asok_token) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	name, ok := cstring(host)
	if !ok {
		return C.ASOK_EINVAL
	}
	err := sh.sock.Socks5Connect(name, int(port), optString(user), optString(password), uint64(tok))
	return socksCode(err)
}
