package core

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Sentinel errors, compared with errors.Is. System errors are unix.Errno,
// possibly wrapped by os.NewSyscallError (use errors.As).
var (
	// ErrClosed reports EOF, EPIPE, or a socket closed locally.
	ErrClosed = errors.New("closed")
	// ErrTimeout reports a passed deadline, or would-block with token 0.
	ErrTimeout = errors.New("timeout")
	// ErrWait reports that the token was parked: call again later.
	ErrWait = errors.New("wait")
	// ErrInvalid reports a bad argument.
	ErrInvalid = errors.New("invalid argument")
	// ErrBusy reports a token already parked somewhere else.
	ErrBusy = errors.New("token in use")
)

// errInterrupted: a wait cut short by a signal (poller.wait); never
// returned to callers.
var errInterrupted = errors.New("interrupted")

// sysErr wraps a non-nil system error with the syscall name, keeping the
// unix.Errno reachable through errors.As / errors.Is.
func sysErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(name, err)
}

// isAgain reports whether err means "would block".
func isAgain(err error) bool {
	return err == unix.EAGAIN || err == unix.EWOULDBLOCK
}
