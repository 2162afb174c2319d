//go:build linux

package watch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// The system calls, as variables so that tests can make them fail as a
// full system does.
var (
	inotifyInit     = unix.InotifyInit1
	inotifyAddWatch = unix.InotifyAddWatch
)

const (
	// dirMask is what a folder's watch hears: changes of its entries and
	// of itself. IN_EXCL_UNLINK keeps the writes to a file removed while
	// open from being told under a name it no longer has.
	dirMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MODIFY | unix.IN_ATTRIB |
		unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF |
		unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

	readBuf   = 16 << 10 // bytes per read(2): room for hundreds of events
	maxEvents = 2048     // events handled per wakeup, so that a flood cannot hold the loop
	maxMoves  = 1024     // MOVED_FROMs held for their MOVED_TO at most
)

// inotify is the Linux backend: one inotify descriptor, nonblocking, read
// by a reactor reader, with a watch per folder read.
type inotify struct {
	w       *Watcher
	fd      int
	wds     map[int32][]*dirNode // the nodes of each watch (several when one folder has several paths)
	buf     []byte
	pending []move // MOVED_FROMs waiting for their MOVED_TO
	handled int    // events handled in this wakeup
}

type move struct {
	cookie uint32
	path   string
	dir    bool
}

func openNative(w *Watcher) (native, error) {
	fd, err := inotifyInit(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		// EMFILE: the limit on inotify instances per user
		// (max_user_instances) or on descriptors; ENFILE, ENOMEM.
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	in := &inotify{w: w, fd: fd, wds: make(map[int32][]*dirNode), buf: make([]byte, readBuf)}
	if err := w.r.AddReader(fd, in.ready); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return in, nil
}

func (in *inotify) name() string { return Inotify }

func (in *inotify) watchDir(n *dirNode) error {
	w := in.w
	mask := uint32(dirMask)
	if rt := w.roots[n.path]; (rt == nil || !rt.dir) && len(w.fileRoots[n.path]) == 0 {
		// A folder found inside a watched one: never a link followed
		// out of the tree.
		mask |= unix.IN_DONT_FOLLOW
	}
	wd, err := inotifyAddWatch(in.fd, n.path, mask)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			return fmt.Errorf("inotify_add_watch %s: %w (%w; see /proc/sys/fs/inotify/max_user_watches)", n.path, errNoRoom, err)
		}
		return &fs.PathError{Op: "inotify_add_watch", Path: n.path, Err: err}
	}
	n.h = wd
	list := in.wds[int32(wd)]
	for _, m := range list {
		if m == n {
			return nil
		}
	}
	in.wds[int32(wd)] = append(list, n)
	return nil
}

func (in *inotify) unwatchDir(n *dirNode) {
	if n.h < 0 {
		return
	}
	wd := int32(n.h)
	n.h = -1
	list := in.wds[wd]
	for i, m := range list {
		if m == n {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) > 0 {
		in.wds[wd] = list
		return
	}
	delete(in.wds, wd)
	unix.InotifyRmWatch(in.fd, uint32(wd)) // EINVAL if the kernel dropped it already
}

func (in *inotify) watchFile(*root)   {}
func (in *inotify) unwatchFile(*root) {}

func (in *inotify) close() {
	in.w.r.RemoveReader(in.fd)
	unix.Close(in.fd)
	in.fd = -1
	in.wds = map[int32][]*dirNode{}
}

// ready reads what the kernel queued, a bounded number of events per
// wakeup (the reader is level-triggered: the rest comes on the next
// pass), handles it, and delivers the events.
func (in *inotify) ready() {
	w := in.w
	if w.closed || in.fd < 0 {
		return
	}
	for in.handled = 0; in.handled < maxEvents; {
		n, err := unix.Read(in.fd, in.buf)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN || (err == nil && n == 0) {
			// Drained: a MOVED_FROM still waiting has no MOVED_TO in the
			// queue, so the file left the watch.
			in.flushMoves()
			break
		}
		if err != nil {
			w.failed("", os.NewSyscallError("read inotify", err))
			in.broken()
			break
		}
		parseEvents(in.buf[:n], in.event)
	}
	w.demoteShort()
	w.deliver()
}

// broken moves every inotify root to polling after the descriptor failed.
func (in *inotify) broken() {
	w := in.w
	w.nat = nil
	w.natErr = errors.New("watch: inotify failed")
	for _, n := range w.dirs {
		n.h = -1
	}
	in.close()
	for _, rt := range w.roots {
		if rt.backend == Inotify {
			rt.backend = Polling
			w.startPolling(rt)
		}
	}
}

// parseEvents splits a buffer read from inotify into events. A truncated
// or malformed record ends it.
func parseEvents(b []byte, f func(wd int32, mask, cookie uint32, name string)) {
	const hdr = unix.SizeofInotifyEvent
	for len(b) >= hdr {
		wd := int32(binary.NativeEndian.Uint32(b[0:4]))
		mask := binary.NativeEndian.Uint32(b[4:8])
		cookie := binary.NativeEndian.Uint32(b[8:12])
		n := binary.NativeEndian.Uint32(b[12:16])
		if uint64(n) > uint64(len(b)-hdr) {
			return
		}
		name := b[hdr : hdr+int(n)]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		b = b[hdr+int(n):]
		f(wd, mask, cookie, string(name))
	}
}

// event handles one inotify event.
func (in *inotify) event(wd int32, mask, cookie uint32, name string) {
	w := in.w
	in.handled++
	if mask&unix.IN_Q_OVERFLOW != 0 {
		in.overflow()
		return
	}
	nodes := in.wds[wd]
	if len(nodes) == 0 {
		return // a watch already dropped
	}
	if mask&unix.IN_IGNORED != 0 {
		// The kernel dropped the watch: the folder was removed, or its
		// file system unmounted.
		delete(in.wds, wd)
		for _, n := range nodes {
			if n.h == int(wd) {
				n.h = -1
				if w.dirs[n.path] == n && !in.parentTells(n) {
					w.nodeGone(n)
				}
			}
		}
		return
	}
	if len(nodes) > 1 {
		nodes = append([]*dirNode(nil), nodes...)
	}
	for _, n := range nodes {
		if w.dirs[n.path] != n {
			continue
		}
		if name == "" {
			in.selfEvent(n, mask)
			continue
		}
		p := filepath.Join(n.path, name)
		dir := mask&unix.IN_ISDIR != 0
		switch {
		case mask&unix.IN_MOVED_FROM != 0:
			if len(in.pending) >= maxMoves {
				in.removed(in.pending[0].path)
				in.pending = in.pending[1:]
			}
			in.pending = append(in.pending, move{cookie, p, dir})
		case mask&unix.IN_MOVED_TO != 0:
			if from, ok := in.takeMove(cookie); ok {
				in.renamed(from, p)
			} else {
				in.created(p, dir)
			}
		case mask&unix.IN_CREATE != 0:
			in.created(p, dir)
		case mask&unix.IN_DELETE != 0:
			in.removed(p)
		case mask&unix.IN_MODIFY != 0:
			in.changed(p, Written)
		case mask&unix.IN_ATTRIB != 0:
			in.changed(p, Attrib)
		}
	}
}

// parentTells reports whether a native watch of n's parent folder tells
// of n's own changes, as entries of it.
func (in *inotify) parentTells(n *dirNode) bool {
	d := filepath.Dir(n.path)
	if d == n.path || !in.w.listed(d) {
		return false
	}
	pn := in.w.dirs[d]
	return pn != nil && pn.h >= 0
}

// selfEvent handles an event of a watched folder itself. Only a folder
// no other watch sees as an entry needs them: a watched folder, or the
// folder of watched files.
func (in *inotify) selfEvent(n *dirNode, mask uint32) {
	w := in.w
	if in.parentTells(n) {
		return
	}
	switch {
	case mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0:
		w.nodeGone(n)
	case mask&unix.IN_ATTRIB != 0:
		if rt := w.roots[n.path]; rt != nil && rt.dir {
			if e, err := statRoot(n.path); err == nil {
				w.remember(n.path, e)
			}
			w.emit(Event{Op: Attrib, Path: n.path, Dir: true})
		}
	}
}

func (in *inotify) takeMove(cookie uint32) (move, bool) {
	for i, m := range in.pending {
		if m.cookie == cookie {
			in.pending = append(in.pending[:i:i], in.pending[i+1:]...)
			return m, true
		}
	}
	return move{}, false
}

// flushMoves takes each MOVED_FROM still waiting for its MOVED_TO as a
// move out of the watch.
func (in *inotify) flushMoves() {
	for len(in.pending) > 0 {
		m := in.pending[0]
		in.pending = in.pending[1:]
		in.removed(m.path)
	}
	in.pending = nil
}

// created handles a new entry p: told of, unless a scan found it first;
// a folder the roots list is read at once (a catch-up scan: what was made
// in it before its watch began is Created too).
func (in *inotify) created(p string, dirHint bool) {
	w := in.w
	if !w.covered(p) {
		return
	}
	e, err := lstat(p)
	if err != nil {
		e = &entry{dir: dirHint}
	}
	if old := w.view[p]; old != nil {
		if err != nil || sameFile(old, e) {
			return
		}
		if old.dir {
			w.dropTree(p, true)
		}
	}
	w.remember(p, e)
	w.emit(Event{Op: Created, Path: p, Dir: e.dir})
	if e.dir && w.listed(p) {
		w.walkNew(p, e, true)
	}
}

// removed handles an entry gone: its tree first, if a folder.
func (in *inotify) removed(p string) {
	w := in.w
	old := w.view[p]
	if old == nil {
		return
	}
	if old.dir {
		w.dropTree(p, true)
	}
	w.forget(p)
	w.emit(Event{Op: Removed, Path: p, Dir: old.dir})
}

// changed handles a write or an attribute change of p.
func (in *inotify) changed(p string, op Op) {
	w := in.w
	if !w.covered(p) {
		return
	}
	old := w.view[p]
	if old == nil {
		in.created(p, false)
		return
	}
	if e, err := lstat(p); err == nil && sameFile(old, e) {
		w.view[p] = e
	}
	w.emit(Event{Op: op, Path: p, Dir: old.dir})
}

// renamed handles a MOVED_FROM paired with its MOVED_TO.
func (in *inotify) renamed(from move, to string) {
	w := in.w
	e := w.view[from.path]
	if e == nil {
		in.created(to, from.dir) // from a name outside the watch
		return
	}
	if !w.covered(to) {
		in.removed(from.path) // to a name outside it
		return
	}
	if ne, err := lstat(to); err == nil && sameFile(e, ne) {
		e = ne
	}
	w.emit(Event{Op: Renamed, OldPath: from.path, Path: to, Dir: e.dir})
	w.rename(from.path, to, e)
}

// overflow handles IN_Q_OVERFLOW: events were lost, so every inotify tree
// is compared with the disk.
func (in *inotify) overflow() {
	w := in.w
	in.pending = nil
	w.emit(Event{Op: Overflow})
	var roots []*root
	for _, rt := range w.roots {
		if rt.backend == Inotify {
			roots = append(roots, rt)
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].path < roots[j].path })
	w.fullSync(roots, true)
}
