//go:build unix

package poller

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeWaker is the portable self-pipe: a byte written to one end makes the
// other readable. A full pipe (EAGAIN) is still a pending wakeup.
type pipeWaker struct{ r, w int }

func newPipeWaker() (*pipeWaker, error) {
	var p [2]int
	// Hold ForkLock so that no exec in another goroutine inherits the
	// pipe between its creation and close-on-exec (pipe2 is not on macOS).
	syscall.ForkLock.RLock()
	err := unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	for _, fd := range p {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return nil, fmt.Errorf("pipe nonblock: %w", err)
		}
	}
	return &pipeWaker{p[0], p[1]}, nil
}

func (w *pipeWaker) fd() int { return w.r }

func (w *pipeWaker) wake() error {
	b := [1]byte{1}
	for {
		_, err := unix.Write(w.w, b[:])
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		default:
			return fmt.Errorf("pipe write: %w", err)
		}
	}
}

func (w *pipeWaker) drain() {
	var buf [128]byte
	for {
		n, err := unix.Read(w.r, buf[:])
		if err == unix.EINTR {
			continue
		}
		if n < len(buf) {
			return
		}
	}
}

func (w *pipeWaker) close() error {
	err := unix.Close(w.r)
	if err2 := unix.Close(w.w); err == nil {
		err = err2
	}
	return err
}
