package main

/*
#include <string.h>
#include "asok.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// asokgo_wrap implements asok_wrap.
//
//export asokgo_wrap
func asokgo_wrap(h unsafe.Pointer, fd C.int, flags C.uint, out *unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if out == nil || flags&^C.ASOK_OWNFD != 0 {
		return C.ASOK_EINVAL
	}
	s, err := lh.loop.Wrap(int(fd), flags&C.ASOK_OWNFD != 0)
	return publish(lh, out, s, err)
}

// publish hands the new socket s of loop lh to C through out, or maps err.
func publish(lh *loopHandle, out *unsafe.Pointer, s *core.Socket, err error) C.int {
	if err != nil {
		return code(err)
	}
	*out = lh.addSock(s)
	return C.ASOK_OK
}

// asokgo_tcp_new implements asok_tcp_new.
//
//export asokgo_tcp_new
func asokgo_tcp_new(h unsafe.Pointer, family C.int, out *unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if out == nil {
		return C.ASOK_EINVAL
	}
	s, err := lh.loop.NewTCP(int(family))
	return publish(lh, out, s, err)
}

// asokgo_bind implements asok_bind.
//
//export asokgo_bind
func asokgo_bind(h unsafe.Pointer, ip *C.char, port C.int) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	addr, ok := cstring(ip)
	if !ok {
		return C.ASOK_EINVAL
	}
	return code(sh.sock.Bind(addr, int(port)))
}

// asokgo_listen implements asok_listen.
//
//export asokgo_listen
func asokgo_listen(h unsafe.Pointer, backlog C.int) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	return code(sh.sock.Listen(int(backlog)))
}

// asokgo_getsockname implements asok_getsockname.
//
//export asokgo_getsockname
func asokgo_getsockname(h unsafe.Pointer, ipOut *C.char, iplen C.size_t, port *C.int) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if ipOut == nil || port == nil || iplen == 0 || !bufOK(ipOut, iplen) {
		return C.ASOK_EINVAL
	}
	ip, p, err := sh.sock.LocalAddr()
	if err != nil {
		return code(err)
	}
	if uint64(len(ip)) >= uint64(iplen) {
		return C.ASOK_EINVAL
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(ipOut)), len(ip)+1)
	buf[copy(buf, ip)] = 0
	*port = C.int(p)
	return C.ASOK_OK
}

// asokgo_connect implements asok_connect.
//
//export asokgo_connect
func asokgo_connect(h unsafe.Pointer, ip *C.char, port C.int, tok C.asok_token) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	addr, ok := cstring(ip)
	if !ok {
		return C.ASOK_EINVAL
	}
	return code(sh.sock.Connect(addr, int(port), uint64(tok)))
}

// asokgo_accept implements asok_accept.
//
//export asokgo_accept
func asokgo_accept(h unsafe.Pointer, tok C.asok_token, out *unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if out == nil {
		return C.ASOK_EINVAL
	}
	c, err := sh.sock.Accept(uint64(tok))
	return publish(sh.lh, out, c, err)
}

// asokgo_settimeout implements asok_settimeout.
//
//export asokgo_settimeout
func asokgo_settimeout(h unsafe.Pointer, block, total C.double) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	b, okb := duration(float64(block), true)
	t, okt := duration(float64(total), true)
	if !okb || !okt {
		return C.ASOK_EINVAL
	}
	sh.sock.SetTimeout(b, t)
	return C.ASOK_OK
}

// asokgo_sock_fd implements asok_sock_fd.
//
//export asokgo_sock_fd
func asokgo_sock_fd(h unsafe.Pointer, fd *C.int) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if fd == nil {
		return C.ASOK_EINVAL
	}
	*fd = C.int(sh.sock.Fd())
	return C.ASOK_OK
}

// asokgo_shutdown implements asok_shutdown.
//
//export asokgo_shutdown
func asokgo_shutdown(h unsafe.Pointer, how C.int) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	return code(sh.sock.Shutdown(int(how)))
}

// asokgo_close implements asok_close.
//
//export asokgo_close
func asokgo_close(h unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	return code(sh.sock.Close())
}

// asokgo_sock_free implements asok_sock_free.
//
//export asokgo_sock_free
func asokgo_sock_free(h unsafe.Pointer) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok || !release(h) {
		return C.ASOK_EBADHANDLE
	}
	delete(sh.lh.socks, h)
	sh.sock.Free()
	return C.ASOK_OK
}

// sizeOK reports whether a C size fits in a Go int.
func sizeOK(n C.size_t) bool {
	return uint64(n) <= math.MaxInt
}
