package main

/*
#include <errno.h>
#include "asok.h"
*/
import "C"

import (
	"errors"
	"net/netip"
	"unsafe"

	"github.com/asok-lua/asok/core"
)

// heldAnswer is an asok_resolve answer that did not fit the caller's
// buffer (-ERANGE), kept for the retry with the same token.
type heldAnswer struct {
	host   string
	family int
	list   []byte // the formatted address list
}

// asokgo_resolve implements asok_resolve.
//
//export asokgo_resolve
func asokgo_resolve(h unsafe.Pointer, host *C.char, family C.int, tok C.asok_token,
	out *C.char, outlen C.size_t, lenOut *C.size_t) (rc C.int) {
	defer recoverTo(&rc)
	lh, ok := lookup[*loopHandle](h)
	if !ok {
		return C.ASOK_EBADHANDLE
	}
	name, ok := cstring(host)
	if !ok || (out == nil && outlen > 0) || !bufOK(out, outlen) { // before any lookup
		return C.ASOK_EINVAL
	}
	list, held := lh.held[tok]
	if held && (list.host != name || list.family != int(family)) {
		return C.ASOK_EBUSY
	}
	if !held {
		addrs, err := lh.loop.Resolve(name, int(family), core.Token(tok))
		if err != nil {
			return resolveCode(err)
		}
		list = heldAnswer{host: name, family: int(family), list: formatAddrs(addrs)}
	}
	if lenOut != nil {
		*lenOut = C.size_t(len(list.list))
	}
	if uint64(len(list.list)) > uint64(outlen) {
		if tok != 0 {
			if lh.held == nil {
				lh.held = make(map[C.asok_token]heldAnswer)
			}
			lh.held[tok] = list
		}
		return -C.ERANGE
	}
	delete(lh.held, tok)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(out)), len(list.list)), list.list)
	return C.ASOK_OK
}

// formatAddrs lays addrs out as asok.h describes: each numeric address
// followed by NUL, then one more NUL.
func formatAddrs(addrs []netip.Addr) []byte {
	var b []byte
	for _, a := range addrs {
		b = a.AppendTo(b)
		b = append(b, 0)
	}
	return append(b, 0)
}

// resolveCode maps Loop.Resolve's errors: the EAI ones to ASOK_EAI_*,
// the rest as code does.
func resolveCode(err error) C.int {
	switch {
	case errors.Is(err, core.ErrNoName):
		return C.ASOK_EAI_NONAME
	case errors.Is(err, core.ErrAgain):
		return C.ASOK_EAI_AGAIN
	case errors.Is(err, core.ErrFail):
		return C.ASOK_EAI_FAIL
	case errors.Is(err, core.ErrFamily):
		return C.ASOK_EAI_ADDRFAMILY
	}
	return code(err)
}
