// Package poller holds the readiness backends of the reactor: one file per
// OS mechanism behind the one small Poller contract below.
//
// A new backend is one file that implements Poller and registers itself in
// its init function with register.
package poller

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Events is a set of readiness conditions.
type Events uint8

const (
	// Readable means a read will not block (data, EOF, a pending accept).
	Readable Events = 1 << iota
	// Writable means a write will not block.
	Writable
)

// Event is one readiness report from Wait.
type Event struct {
	FD     int32
	Events Events
	// Invalid is true when the descriptor was closed while still
	// registered (poll's POLLNVAL; epoll's set rebuilt without it). The
	// poller has already dropped it.
	Invalid bool
}

// Poller is the contract every backend implements. All methods but Wake
// are called from one goroutine, the reactor's.
//
//   - Add registers fd for ev (ev is never empty). Adding a descriptor that
//     is closed, invalid or not pollable returns an error and leaves no
//     trace. Adding an fd twice is an error: the caller uses Modify.
//   - Modify replaces the interest set of a registered fd (ev never empty).
//   - Delete forgets fd. After Delete, Wait never reports that fd, even from
//     the batch in hand: the caller discards the rest of a batch's events
//     for an fd it deleted while dispatching them. That holds even when the
//     program closed fd before Delete while a copy keeps its file open
//     (see epoll's doc): nothing of the old file is reported again, under
//     that number or any other; at most one wait returns early for it.
//   - A Modify or Delete that finds fd closed since Add (or, where the
//     backend can tell, its number naming another file now) forgets fd and
//     returns an error wrapping ErrClosedWhileRegistered.
//   - Wait fills events and returns how many it filled. Its timeout:
//     timeout < 0: blocks indefinitely;
//     timeout == 0: does not block, just polls;
//     timeout > 0: blocks for up to that long, rounded up to the backend's
//     granularity, never down, so a due timer cannot become a busy loop.
//     An interrupted wait (EINTR) returns 0, nil. A wakeup returns early;
//     the wakeup itself is consumed and never reported as an event.
//   - Wake makes a blocked or the next Wait return. It may be called from
//     any goroutine; the caller coalesces concurrent wakeups.
//   - FD returns one descriptor that polls readable whenever Wait would
//     report an event or a wakeup is pending, without consuming either
//     (the embedding contract of the GUI loops).
//   - Close releases every descriptor the poller opened; a Wake after
//     Close is a no-op.
type Poller interface {
	Add(fd int, ev Events) error
	Modify(fd int, ev Events) error
	Delete(fd int) error
	Wait(events []Event, timeout time.Duration) (int, error)
	Wake() error
	FD() (int, error)
	Close() error
}

// ErrClosedWhileRegistered is wrapped by the error of a Modify or Delete
// that found its descriptor closed since Add: the program closed it
// before removing it. The poller has forgotten the descriptor.
var ErrClosedWhileRegistered = errors.New("descriptor closed while registered")

// ErrUnknownBackend is returned by New for a name this OS does not have.
var ErrUnknownBackend = errors.New("unknown reactor backend")

type backend struct {
	name string
	rank int // lower is preferred
	open func() (Poller, error)
}

var backends []backend

func register(name string, rank int, open func() (Poller, error)) {
	backends = append(backends, backend{name, rank, open})
	sort.Slice(backends, func(i, j int) bool { return backends[i].rank < backends[j].rank })
}

// Names lists the backends this OS has, the preferred one first.
func Names() []string {
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.name
	}
	return names
}

// New opens the named backend; the empty name picks the preferred one.
func New(name string) (Poller, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("%w: this OS has none", ErrUnknownBackend)
	}
	if name == "" {
		return backends[0].open()
	}
	for _, b := range backends {
		if b.name == name {
			return b.open()
		}
	}
	return nil, fmt.Errorf("%w %q (this OS has %v)", ErrUnknownBackend, name, Names())
}

// millis converts a Wait timeout to the milliseconds epoll_wait and poll
// take, rounding up so that a timer due in 0.3ms waits 1ms, not 0.
func millis(timeout time.Duration) int {
	const most = 1<<31 - 1
	switch {
	case timeout < 0:
		return -1
	case timeout > most*time.Millisecond:
		return most
	}
	return int((timeout + time.Millisecond - 1) / time.Millisecond)
}
