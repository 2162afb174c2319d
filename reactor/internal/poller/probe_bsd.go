//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

import "golang.org/x/sys/unix"

// prober gives the poll backend the kqueue backend's answer to "can this
// descriptor be watched?", so that a program gets the same answer from
// either backend: regular files and directories are refused as the
// kqueue backend refuses them, and what kqueue itself refuses (a device
// without a kqueue filter) is refused with kqueue's error. The probe is
// a kqueue of its own that fd's filters join and leave at once.
type prober struct {
	kq     int
	opened bool
}

func (pr *prober) add(fd int, ev Events) error {
	if err := checkPollable(fd); err != nil {
		return err
	}
	return pr.modify(fd, ev)
}

// modify probes the filters of the directions being added.
func (pr *prober) modify(fd int, added Events) error {
	if added == 0 {
		return nil
	}
	if !pr.opened {
		kq, err := unix.Kqueue()
		if err != nil {
			return err
		}
		unix.CloseOnExec(kq)
		pr.kq, pr.opened = kq, true
	}
	for _, f := range filterOf {
		if added&f.bit == 0 {
			continue
		}
		if err := kevent1(pr.kq, fd, f.filter, unix.EV_ADD); err != nil {
			return err
		}
		kevent1(pr.kq, fd, f.filter, unix.EV_DELETE)
	}
	return nil
}

func (pr *prober) close() error {
	if !pr.opened {
		return nil
	}
	pr.opened = false
	return unix.Close(pr.kq)
}
