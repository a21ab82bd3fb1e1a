package core

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// wakeID is the epoll data of the eventfd; socket ids start at 1.
const wakeID = 0

// evBatch is how many epoll events one epoll_wait can return.
const evBatch = 128

// Epoll event masks used by the loop.
const (
	// EPOLLPRI only tells the short-read shortcut that TCP urgent data
	// arrived: a read stops short at the urgent mark with data queued.
	sockEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLPRI | unix.EPOLLET
	readEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
	writeEvent = unix.EPOLLOUT | unix.EPOLLHUP | unix.EPOLLERR
)

// poller is the epoll instance plus the eventfd used by Wake (the shape of
// the Go runtime's netpoll_epoll.go and gnet's netpoll).
type poller struct {
	epfd    int
	efd     int
	events  []unix.EpollEvent
	pending atomic.Uint32 // 1 while a wake-up is written and not yet drained
	mu      sync.Mutex    // orders Wake against close
	closed  bool
	waits   uint64 // epoll_wait calls made (Loop.Polls)
}

// newPoller creates the epoll fd and the eventfd, registered level-triggered.
func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, sysErr("epoll_create1", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, sysErr("eventfd", err)
	}
	p := &poller{epfd: epfd, efd: efd, events: make([]unix.EpollEvent, evBatch)}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setEventID(&ev, wakeID)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, sysErr("epoll_ctl", err)
	}
	return p, nil
}

// setEventID stores a 64-bit id in the epoll data of ev.
func setEventID(ev *unix.EpollEvent, id uint64) {
	ev.Fd = int32(uint32(id))
	ev.Pad = int32(uint32(id >> 32))
}

// eventID reads the 64-bit id from the epoll data of ev.
func eventID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// add registers fd once, edge-triggered, with the socket id as data.
func (p *poller) add(fd int, id uint64) error {
	ev := unix.EpollEvent{Events: sockEvents}
	setEventID(&ev, id)
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// del removes fd from the epoll set (must precede close(fd)).
func (p *poller) del(fd int) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait runs epoll_wait for up to ms milliseconds (-1: no limit) and
// returns the events received. A wait cut short by a signal the process
// catches reports errInterrupted: the caller works out what is left of
// its wait (waiting ms again after every signal would never end while a
// handled signal keeps coming).
func (p *poller) wait(ms int) ([]unix.EpollEvent, error) {
	p.waits++
	n, err := unix.EpollWait(p.epfd, p.events, ms)
	if err == unix.EINTR {
		return nil, errInterrupted
	}
	if err != nil {
		return nil, sysErr("epoll_wait", err)
	}
	return p.events[:n], nil
}

// wake writes to the eventfd unless a wake-up is already pending (CAS
// deduplication). Safe from any goroutine.
func (p *poller) wake() error {
	if !p.pending.CompareAndSwap(0, 1) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.pending.Store(0)
		return ErrClosed
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		_, err := unix.Write(p.efd, one[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil && !isAgain(err) { // EAGAIN: counter full, a wake is pending anyway
			p.pending.Store(0)
			return sysErr("write", err)
		}
		return nil
	}
}

// drainWake reads the eventfd counter and re-arms wake deduplication.
func (p *poller) drainWake() {
	var buf [8]byte
	for {
		_, err := unix.Read(p.efd, buf[:])
		if err == unix.EINTR {
			continue
		}
		break
	}
	p.pending.Store(0)
}

// close closes the eventfd and the epoll fd. Idempotent.
func (p *poller) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err1 := unix.Close(p.efd)
	err2 := unix.Close(p.epfd)
	if err1 != nil {
		return sysErr("close", err1)
	}
	return sysErr("close", err2)
}
