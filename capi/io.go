package main

/*
#include "asok.h"
*/
import "C"

import (
	"unsafe"

	"github.com/asok-lua/asok/core"
	"golang.org/x/sys/unix"
)

// asokgo_receive implements asok_receive: the result (or partial result)
// is handed out where core received it (C memory) or else copied into the
// loop's C buffer; either way valid until the next call on the loop.
//
//export asokgo_receive
func asokgo_receive(h unsafe.Pointer, pattern C.int, n C.size_t, tok C.asok_token, data **C.char, length *C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if data == nil || length == nil || !sizeOK(n) {
		return C.ASOK_EINVAL
	}
	sh.lh.sched.op()
	b, err := sh.sock.Receive(core.Pattern(pattern), int(n), uint64(tok))
	p, ok := sh.lh.resultPtr(sh.sock, b)
	if !ok {
		return C.ASOK_ENOMEM
	}
	*data, *length = (*C.char)(p), C.size_t(len(b))
	return code(err)
}

// asokgo_send implements asok_send; data is borrowed for the call only.
// pre and perr: the result of the first syscall, if asok_send's C half
// made it (core.SendAfter); -1 and 0 if not.
//
//export asokgo_send
func asokgo_send(h unsafe.Pointer, data *C.char, n C.size_t, tok C.asok_token, sent *C.size_t, pre C.long, perr C.int) (rc C.int) {
	defer recoverTo(&rc)
	if sent != nil {
		*sent = 0
	}
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if sent == nil || (data == nil && n > 0) || !bufOK(data, n) {
		return C.ASOK_EINVAL
	}
	sh.lh.sched.op()
	k, err := sh.sock.SendAfter(bytesOf(data, n), uint64(tok), int(pre), unix.Errno(perr))
	*sent = C.size_t(k)
	return code(err)
}

// asokgo_wait implements asok_wait.
//
//export asokgo_wait
func asokgo_wait(h unsafe.Pointer, dir C.int, tok C.asok_token) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	return code(sh.sock.Wait(waitDir(dir), uint64(tok)))
}

// waitDir turns asok_wait's dir into core's: the direction, and
// ASOK_UNTIMED and ASOK_LOOK as core's flags. Any other bit stays, and
// core finds the direction invalid.
func waitDir(dir C.int) int {
	d := int(dir &^ (C.ASOK_UNTIMED | C.ASOK_LOOK))
	if dir&C.ASOK_UNTIMED != 0 {
		d |= core.WaitUntimed
	}
	if dir&C.ASOK_LOOK != 0 {
		d |= core.WaitLook
	}
	return d
}

// asokgo_unread implements asok_unread; data is copied by core.
//
//export asokgo_unread
func asokgo_unread(h unsafe.Pointer, data *C.char, n C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if (data == nil && n > 0) || !bufOK(data, n) {
		return C.ASOK_EINVAL
	}
	return code(sh.sock.Unread(bytesOf(data, n)))
}

// asokgo_setlimit implements asok_setlimit.
//
//export asokgo_setlimit
func asokgo_setlimit(h unsafe.Pointer, n C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if !sizeOK(n) {
		return C.ASOK_EINVAL
	}
	sh.sock.SetLimit(int(n))
	return C.ASOK_OK
}

// asokgo_buffered implements asok_buffered.
//
//export asokgo_buffered
func asokgo_buffered(h unsafe.Pointer, n *C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	return byteCount(h, n, (*core.Socket).Buffered)
}

// asokgo_held implements asok_held.
//
//export asokgo_held
func asokgo_held(h unsafe.Pointer, n *C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	return byteCount(h, n, (*core.Socket).Held)
}

// byteCount writes count(the socket of h) to *n: asok_buffered's and
// asok_held's shared checks.
func byteCount(h unsafe.Pointer, n *C.size_t, count func(*core.Socket) int) C.int {
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if n == nil {
		return C.ASOK_EINVAL
	}
	*n = C.size_t(count(sh.sock))
	return C.ASOK_OK
}

// asokgo_received implements asok_received.
//
//export asokgo_received
func asokgo_received(h unsafe.Pointer, n *C.uint64_t) (rc C.int) {
	defer recoverTo(&rc)
	sh, ok := lookup[*sockHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	if n == nil {
		return C.ASOK_EINVAL
	}
	*n = C.uint64_t(sh.sock.Received())
	return C.ASOK_OK
}
