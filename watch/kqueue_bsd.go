//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

const (
	// What a folder's descriptor hears (kqueue(2), EVFILT_VNODE):
	// NOTE_WRITE when an entry is added, removed or renamed, NOTE_LINK
	// when a subfolder comes or goes, NOTE_ATTRIB, and NOTE_DELETE,
	// NOTE_RENAME and NOTE_REVOKE for the folder itself.
	dirNotes = unix.NOTE_WRITE | unix.NOTE_EXTEND | unix.NOTE_ATTRIB | unix.NOTE_LINK |
		unix.NOTE_DELETE | unix.NOTE_RENAME | unix.NOTE_REVOKE
	// What a watched file's descriptor hears: NOTE_WRITE and NOTE_EXTEND
	// for its contents, NOTE_ATTRIB, NOTE_LINK, and NOTE_DELETE,
	// NOTE_RENAME, NOTE_REVOKE when it leaves its name.
	fileNotes = unix.NOTE_WRITE | unix.NOTE_EXTEND | unix.NOTE_ATTRIB | unix.NOTE_LINK |
		unix.NOTE_DELETE | unix.NOTE_RENAME | unix.NOTE_REVOKE

	maxReads  = 16  // kevent(2) calls per wakeup
	keventBuf = 256 // events per call
)

// kqueue is the backend of macOS and the BSDs: a kqueue descriptor,
// read by a reactor reader (a kqueue is itself pollable), with an
// EVFILT_VNODE filter on one descriptor per folder read and per watched
// file; never one per file in a folder. A folder's NOTE_WRITE makes the
// Watcher read the folder again and compare (syncDirs); writes to the
// files in it are found by the polling every root also has.
type kqueue struct {
	w      *Watcher
	kq     int
	dirs   map[int]*dirNode
	files  map[int]*root
	fileID map[*root]fileID // the file each file descriptor is open on
	buf    []unix.Kevent_t
}

func openNative(w *Watcher) (native, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	k := &kqueue{w: w, kq: kq, dirs: make(map[int]*dirNode), files: make(map[int]*root),
		fileID: make(map[*root]fileID), buf: make([]unix.Kevent_t, keventBuf)}
	if err := w.r.AddReader(kq, k.ready); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return k, nil
}

func (k *kqueue) name() string { return Kqueue }

// open opens p for its events only and adds its filter.
func (k *kqueue) open(p string, flags int, notes uint32) (int, error) {
	fd, err := unix.Open(p, flags|evtOnly|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
			return -1, fmt.Errorf("open %s: %w (%w)", p, errNoRoom, err)
		}
		return -1, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], fd, unix.EVFILT_VNODE, unix.EV_ADD|unix.EV_ENABLE|unix.EV_CLEAR)
	ch[0].Fflags = notes
	if _, err := unix.Kevent(k.kq, ch[:], nil, nil); err != nil && err != unix.EINTR {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "kevent", Path: p, Err: err}
	}
	return fd, nil
}

func (k *kqueue) watchDir(n *dirNode) error {
	w := k.w
	flags := unix.O_RDONLY | unix.O_DIRECTORY
	if rt := w.roots[n.path]; (rt == nil || !rt.dir) && len(w.fileRoots[n.path]) == 0 {
		flags |= unix.O_NOFOLLOW // a folder inside a watched one
	}
	fd, err := k.open(n.path, flags, dirNotes)
	if err != nil {
		return err
	}
	n.h = fd
	k.dirs[fd] = n
	return nil
}

func (k *kqueue) unwatchDir(n *dirNode) {
	if n.h < 0 {
		return
	}
	delete(k.dirs, n.h)
	unix.Close(n.h) // closing removes the filter (kqueue(2))
	n.h = -1
}

func (k *kqueue) watchFile(rt *root) {
	e := k.w.view[rt.path]
	if rt.h >= 0 {
		if e != nil && k.fileID[rt] == e.id {
			return
		}
		k.unwatchFile(rt)
	}
	if e == nil || e.dir {
		return // watched again when its name holds a file
	}
	fd, err := k.open(rt.path, unix.O_RDONLY, fileNotes)
	if err != nil {
		switch {
		case errors.Is(err, errNoRoom):
			rt.short = true
		case !gone(err):
			k.w.failed(rt.path, err)
		}
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		k.fileID[rt] = fileID{uint64(st.Dev), uint64(st.Ino)}
	}
	rt.h = fd
	k.files[fd] = rt
}

func (k *kqueue) unwatchFile(rt *root) {
	if rt.h < 0 {
		return
	}
	delete(k.files, rt.h)
	delete(k.fileID, rt)
	unix.Close(rt.h)
	rt.h = -1
}

func (k *kqueue) close() {
	k.w.r.RemoveReader(k.kq)
	for fd, n := range k.dirs {
		unix.Close(fd)
		n.h = -1
	}
	for fd, rt := range k.files {
		unix.Close(fd)
		rt.h = -1
	}
	unix.Close(k.kq)
	k.kq = -1
	k.dirs, k.files, k.fileID = map[int]*dirNode{}, map[int]*root{}, map[*root]fileID{}
}

// ready collects the events queued, a bounded number of calls per wakeup
// (the reader is level-triggered), reads the folders and files they name
// again, and delivers the events.
func (k *kqueue) ready() {
	w := k.w
	if w.closed || k.kq < 0 {
		return
	}
	var zero unix.Timespec
	var dirty []*dirNode
	var files, attrs []*root
	seen := make(map[int]bool)
	for i := 0; i < maxReads; i++ {
		n, err := unix.Kevent(k.kq, nil, k.buf, &zero)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			w.failed("", os.NewSyscallError("kevent", err))
			break
		}
		for _, ev := range k.buf[:n] {
			fd := int(ev.Ident)
			if ev.Filter != unix.EVFILT_VNODE || seen[fd] {
				continue
			}
			seen[fd] = true
			if node := k.dirs[fd]; node != nil {
				dirty = append(dirty, node)
				if rt := w.roots[node.path]; rt != nil && rt.dir && ev.Fflags&unix.NOTE_ATTRIB != 0 {
					attrs = append(attrs, rt)
				}
				if ev.Fflags&(unix.NOTE_DELETE|unix.NOTE_RENAME|unix.NOTE_REVOKE) != 0 {
					// The folder left its path: its parent, if read,
					// tells where to.
					if pn := w.dirs[filepath.Dir(node.path)]; pn != nil && pn != node && !seen[pn.h] {
						dirty = append(dirty, pn)
					}
				}
			} else if rt := k.files[fd]; rt != nil {
				files = append(files, rt)
			}
		}
		if n < len(k.buf) {
			break
		}
	}
	if len(dirty) > 0 {
		w.syncDirs(dirty)
	}
	for _, rt := range attrs {
		w.syncRootAttr(rt)
	}
	for _, rt := range files {
		w.syncFile(rt)
	}
	w.demoteShort()
	w.deliver()
}
