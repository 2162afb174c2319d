package poller

import "golang.org/x/sys/unix"

// prober gives the poll backend epoll's answer to "can this descriptor
// be watched?", so that a program gets the same answer from either
// backend: epoll refuses with EPERM what has no readiness to report
// (regular files and directories on most file systems, /dev/null,
// /dev/zero and other devices without poll support), which poll(2)
// would report always ready, and accepts the regular files that do
// report readiness (/proc/self/mounts). The probe is an epoll set of its
// own that fd joins and leaves at once.
type prober struct {
	epfd   int
	opened bool
}

func (pr *prober) add(fd int, _ Events) error {
	if !pr.opened {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		pr.epfd, pr.opened = epfd, true
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	if err := unix.EpollCtl(pr.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return err
	}
	unix.EpollCtl(pr.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	return nil
}

// modify: epoll's answer does not depend on the events asked for.
func (pr *prober) modify(int, Events) error { return nil }

func (pr *prober) close() error {
	if !pr.opened {
		return nil
	}
	pr.opened = false
	return unix.Close(pr.epfd)
}
