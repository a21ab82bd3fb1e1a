package main

/*
#include "asok.h"
*/
import "C"

import (
	"errors"

	"github.com/asok-lua/asok/core"
	"golang.org/x/sys/unix"
)

// maxErrno is the largest errno reported as -errno; asok.h reserves
// -1..-4095 for them.
const maxErrno = 4095

// status is the C type of every export's return code.
type status = C.int

// code maps an error from core to an asok.h return code: nil -> ASOK_OK,
// core sentinels -> ASOK_E*, a (wrapped) unix.Errno -> -errno, anything
// else -> ASOK_EINTERNAL.
func code(err error) C.int {
	switch err { // the sentinels as core returns them: no allocation
	case nil:
		return C.ASOK_OK
	case core.ErrWait:
		return C.ASOK_EWAIT
	case core.ErrTimeout:
		return C.ASOK_ETIMEOUT
	case core.ErrClosed:
		return C.ASOK_ECLOSED
	}
	return wrappedCode(err)
}

// wrappedCode is code for wrapped errors and errnos (kept apart: its
// errors.As target escapes to the heap, which code's fast path must not).
func wrappedCode(err error) C.int {
	var errno unix.Errno
	switch {
	case errors.Is(err, core.ErrWait):
		return C.ASOK_EWAIT
	case errors.Is(err, core.ErrTimeout):
		return C.ASOK_ETIMEOUT
	case errors.Is(err, core.ErrClosed):
		return C.ASOK_ECLOSED
	case errors.Is(err, core.ErrInvalid):
		return C.ASOK_EINVAL
	case errors.Is(err, core.ErrBusy):
		return C.ASOK_EBUSY
	case errors.Is(err, core.ErrLimit):
		return C.ASOK_ELIMIT
	case errors.As(err, &errno) && errno > 0 && errno <= maxErrno:
		return -C.int(errno)
	}
	return C.ASOK_EINTERNAL
}

// recoverTo is deferred by every export: a Go panic must become
// ASOK_EINTERNAL, never unwind into (and kill) the C host.
func recoverTo(rc *C.int) {
	if r := recover(); r != nil {
		*rc = C.ASOK_EINTERNAL
	}
}
