package main

/*
#include <string.h>
#include "asok.h"
*/
import "C"

import (
	"unsafe"
)

// minIPLen is the smallest ip_out buffer asok_receivefrom accepts
// (INET6_ADDRSTRLEN); longer addresses (a zone, a unix path) are truncated.
const minIPLen = 46

// asokgo_udp_new implements asok_udp_new.
//
//export asokgo_udp_new
func asokgo_udp_new(h unsafe.Pointer, family C.int, out *unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if out == nil {
		return C.ASOK_EINVAL
	}
	s, err := lh.loop.NewUDP(int(family))
	return publish(lh, out, s, err)
}

// asokgo_receivefrom implements asok_receivefrom: the datagram is handed
// out where core received it (or copied into the loop's C buffer, see
// resultPtr), the sender's ip copied into ipOut (NUL-terminated).
//
//export asokgo_receivefrom
func asokgo_receivefrom(h unsafe.Pointer, n C.size_t, tok C.asok_token, data **C.char, length *C.size_t,
	ipOut *C.char, iplen C.size_t, port *C.int) (rc C.int) {
	defer recoverTo(&rc)
	if data != nil && length != nil { // always written (asok.h), even on errors
		*data, *length = nil, 0
	}
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	// ipOut's span is checked before the datagram is taken (bufOK)
	if data == nil || length == nil || ipOut == nil || port == nil || iplen < minIPLen ||
		!bufOK(ipOut, iplen) || !sizeOK(n) {
		return C.ASOK_EINVAL
	}
	b, ip, p, err := sh.sock.ReceiveFrom(int(n), uint64(tok))
	out, ok := sh.lh.resultPtr(sh.sock, b)
	if !ok {
		return C.ASOK_ENOMEM
	}
	*data, *length = (*C.char)(out), C.size_t(len(b))
	if err == nil {
		k := min(len(ip), int(iplen)-1)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(ipOut)), k+1)
		buf[copy(buf, ip[:k])] = 0
		*port = C.int(p)
	}
	return code(err)
}

// asokgo_sendto implements asok_sendto; data and ip are borrowed for the
// call only (core copies the address it caches).
//
//export asokgo_sendto
func asokgo_sendto(h unsafe.Pointer, data *C.char, n C.size_t, ip *C.char, port C.int, tok C.asok_token, sent *C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	if sent != nil {
		*sent = 0
	}
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if sent == nil || ip == nil || (data == nil && n > 0) || !bufOK(data, n) {
		return C.ASOK_EINVAL
	}
	addr := unsafe.String((*byte)(unsafe.Pointer(ip)), C.strlen(ip))
	k, err := sh.sock.SendTo(bytesOf(data, n), addr, int(port), uint64(tok))
	*sent = C.size_t(k)
	return code(err)
}
