package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// A fileID tells files apart: device and inode. The zero fileID is
// unknown (the file went before it could be looked at).
type fileID struct{ dev, ino uint64 }

// An entry is what the view remembers of a path: what polling compares.
type entry struct {
	id       fileID
	dir      bool
	size     int64
	mtime    int64
	mode     fs.FileMode
	uid, gid uint32
	nlink    uint64
}

func entryOf(fi fs.FileInfo) *entry {
	e := &entry{dir: fi.IsDir(), size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.id = fileID{uint64(st.Dev), uint64(st.Ino)}
		e.uid, e.gid = st.Uid, st.Gid
		e.nlink = uint64(st.Nlink)
	}
	return e
}

// statRoot reads a watched path itself, following a symbolic link as the
// native backends do.
func statRoot(p string) (*entry, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	return entryOf(fi), nil
}

// lstat reads an entry of a folder, not following a symbolic link.
func lstat(p string) (*entry, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	return entryOf(fi), nil
}

// sameFile reports whether a and b are, as far as is known, one file.
func sameFile(a, b *entry) bool {
	if a.dir != b.dir {
		return false
	}
	return a.id == fileID{} || b.id == fileID{} || a.id == b.id
}

// written reports whether a file's contents changed from a to b, as far
// as a stat tells.
func written(a, b *entry) bool {
	return !b.dir && (a.size != b.size || a.mtime != b.mtime)
}

// attrib reports whether the attributes polling can see changed. A
// folder's link count moves with its subfolders: not compared.
func attrib(a, b *entry) bool {
	return a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || (!b.dir && a.nlink != b.nlink)
}

// gone tells the errors of a path that is not there (any more).
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// ensureNode returns the node of the folder d, made if there is none,
// its native watch started if a native root needs it (before the folder
// is read, so that nothing made meanwhile is missed). id is d's identity
// if known: a node found with another is a folder since replaced, and is
// made anew.
func (w *Watcher) ensureNode(d string, id fileID) *dirNode {
	n := w.dirs[d]
	if n != nil && id != (fileID{}) && n.id != (fileID{}) && n.id != id {
		w.dropNode(n)
		n = nil
	}
	if n == nil {
		n = &dirNode{path: d, id: id, names: make(map[string]struct{}), h: -1}
		w.dirs[d] = n
	} else if n.id == (fileID{}) {
		n.id = id
	}
	if n.h < 0 && w.nat != nil {
		if _, native := w.needs(d); native {
			if err := w.nat.watchDir(n); err != nil {
				switch {
				case errors.Is(err, errNoRoom):
					w.shortOf(d)
				case !gone(err):
					// Unwatchable (permissions): the files watched in it
					// may still be polled; a watched folder is told.
					for _, rt := range w.fileRoots[d] {
						if rt.backend != Polling {
							rt.short = true
						}
					}
					if w.listed(d) {
						w.failed(d, err)
					}
				}
			}
		}
	}
	return n
}

// shortOf marks the native roots that need the folder d as short of
// room: they move to polling once the work at hand is done.
func (w *Watcher) shortOf(d string) {
	for a, first := d, true; ; a, first = filepath.Dir(a), false {
		if rt := w.roots[a]; rt != nil && rt.dir && (first || rt.recursive) && rt.backend != Polling {
			rt.short = true
		}
		if filepath.Dir(a) == a {
			break
		}
	}
	for _, rt := range w.fileRoots[d] {
		if rt.backend != Polling {
			rt.short = true
		}
	}
}

// demoteShort moves the roots marked short of room to polling.
func (w *Watcher) demoteShort() {
	for _, rt := range w.roots {
		if rt.short {
			w.demote(rt)
		}
	}
}

// dropNode forgets the node n and stops its native watch.
func (w *Watcher) dropNode(n *dirNode) {
	if n.h >= 0 && w.nat != nil {
		w.nat.unwatchDir(n)
	}
	n.h = -1
	if w.dirs[n.path] == n {
		delete(w.dirs, n.path)
	}
}

// forget drops p from the view.
func (w *Watcher) forget(p string) {
	delete(w.view, p)
	if n := w.dirs[filepath.Dir(p)]; n != nil {
		delete(n.names, filepath.Base(p))
	}
}

// remember puts p in the view.
func (w *Watcher) remember(p string, e *entry) {
	w.view[p] = e
	if n := w.dirs[filepath.Dir(p)]; n != nil && n.path != p {
		n.names[filepath.Base(p)] = struct{}{}
	}
}

// walkNew reads the folder d, whose entry e is in the view, into the
// view: each entry not there yet is added, Created if emit, and read in
// turn if it is a folder the roots list. Entries already there (the
// events told of them first) are left alone.
func (w *Watcher) walkNew(d string, e *entry, emit bool) {
	n := w.ensureNode(d, e.id)
	if !w.listed(d) {
		return
	}
	ents, err := os.ReadDir(d)
	if err != nil {
		if !gone(err) {
			w.failed(d, err)
		}
		return
	}
	for _, de := range ents {
		name := de.Name()
		p := filepath.Join(d, name)
		fi, err := de.Info()
		if err != nil {
			continue // gone already: its removal is on its way
		}
		ce := entryOf(fi)
		old := w.view[p]
		if old == nil && !emit && w.adding != nil && w.coveredOther(p, w.adding) {
			continue // another root's to find and tell
		}
		if old != nil {
			if sameFile(old, ce) {
				if ce.dir && w.dirs[p] == nil && w.listed(p) {
					w.walkNew(p, old, emit)
				}
				continue
			}
			if old.dir {
				w.dropTree(p, emit)
			}
		}
		w.view[p] = ce
		n.names[name] = struct{}{}
		if emit {
			w.emit(Event{Op: Created, Path: p, Dir: ce.dir})
		}
		if ce.dir && w.listed(p) {
			w.walkNew(p, ce, emit)
		}
	}
}

// dropTree forgets what the view holds inside the folder p (not p
// itself), deepest first, with a Removed event for each if emit, and the
// nodes of the folders in it. Folders watched by Add in it have lost
// their folder and their watches end; files watched in it move to
// polling, which sees them again when their names come back.
func (w *Watcher) dropTree(p string, emit bool) {
	if n := w.dirs[p]; n != nil {
		for _, name := range sortedNames(n.names) {
			c := filepath.Join(p, name)
			ce := w.view[c]
			if ce == nil {
				continue
			}
			if ce.dir {
				w.dropTree(c, emit)
			}
			if emit {
				w.emit(Event{Op: Removed, Path: c, Dir: ce.dir})
			}
			delete(w.view, c)
		}
		w.dropNode(n)
	}
	w.lostFolder(p)
}

// lostFolder ends the watches of folders at p or inside it, and moves the
// watches of files in them to polling: the folder p has gone from its
// path.
func (w *Watcher) lostFolder(p string) {
	var end, demote []*root
	for _, rt := range w.roots {
		switch {
		case rt.dir && within(rt.path, p):
			end = append(end, rt)
		case !rt.dir && within(filepath.Dir(rt.path), p) && rt.backend != Polling:
			demote = append(demote, rt)
		}
	}
	for _, rt := range end {
		w.removeRoot(rt)
	}
	for _, rt := range demote {
		w.demote(rt)
	}
}

// within reports whether p is d or lies inside it.
func within(p, d string) bool {
	if p == d {
		return true
	}
	if d == "/" {
		return len(p) > 1 && p[0] == '/'
	}
	return len(p) > len(d) && p[len(d)] == filepath.Separator && p[:len(d)] == d
}

// rename moves what the view holds at from, and inside it, to to: a
// rename the native backend told of, both names inside watched folders.
// What to held is replaced. The roots' coverage of the tree may change
// with its place: what no longer is covered is dropped, folders now
// listed are read (their entries Created).
func (w *Watcher) rename(from, to string, e *entry) {
	before := w.coverKey(filepath.Dir(from))
	if old := w.view[to]; old != nil {
		if old.dir {
			w.dropTree(to, false)
		}
		w.forget(to)
	}
	w.forget(from)
	w.remember(to, e)
	if !e.dir {
		return
	}
	inside := false
	for _, rt := range w.roots {
		if within(rt.path, from) || (!rt.dir && within(filepath.Dir(rt.path), from)) {
			inside = true
			if fe := w.view[rt.path]; !rt.dir && fe != nil {
				// A file watched by its name: the name is gone.
				w.emit(Event{Op: Removed, Path: rt.path, Dir: fe.dir})
			}
		}
	}
	w.moveTree(from, to)
	if inside {
		w.lostFolder(from)
	}
	if inside || before != w.coverKey(filepath.Dir(to)) {
		w.prune()
		if w.listed(to) {
			w.walkNew(to, e, true)
		}
	}
}

// moveTree moves the node of the folder from, and those inside it, with
// their entries in the view, to to.
func (w *Watcher) moveTree(from, to string) {
	n := w.dirs[from]
	if n == nil {
		return
	}
	delete(w.dirs, from)
	if x := w.dirs[to]; x != nil {
		w.dropNode(x)
	}
	n.path = to
	w.dirs[to] = n
	for name := range n.names {
		fc, tc := filepath.Join(from, name), filepath.Join(to, name)
		ce := w.view[fc]
		delete(w.view, fc)
		if ce == nil {
			continue
		}
		w.view[tc] = ce
		if ce.dir {
			w.moveTree(fc, tc)
		}
	}
}

// coverKey names the roots that list the entries of folders inside d
// recursively: two folders with the same key are covered alike.
func (w *Watcher) coverKey(d string) string {
	key := ""
	for a := d; ; a = filepath.Dir(a) {
		if rt := w.roots[a]; rt != nil && rt.dir && rt.recursive {
			key += "\x00" + a
		}
		if filepath.Dir(a) == a {
			return key
		}
	}
}

// rootGone ends the watch of rt, whose folder has gone, after a Removed
// event for everything the view held in it and for the folder.
func (w *Watcher) rootGone(rt *root) {
	if w.roots[rt.path] != rt {
		return
	}
	old := make(map[string]*entry)
	w.collect(rt, old)
	for _, ev := range diff(old, nil, false).events {
		w.emit(ev)
	}
	for p := range old {
		w.forget(p)
	}
	w.removeRoot(rt)
}

// nodeGone handles the folder of n gone from its path when no watch of
// its own folder tells of it: a watched folder (its watch ends), or the
// folder of watched files (they are Removed, and polled until their
// names come back).
func (w *Watcher) nodeGone(n *dirNode) {
	if rt := w.roots[n.path]; rt != nil && rt.dir {
		w.rootGone(rt)
	}
	if w.dirs[n.path] != n || w.listed(filepath.Dir(n.path)) {
		return
	}
	for _, rt := range append([]*root(nil), w.fileRoots[n.path]...) {
		if e := w.view[rt.path]; e != nil {
			w.emit(Event{Op: Removed, Path: rt.path, Dir: e.dir})
			w.forget(rt.path)
		}
	}
	w.dropNode(n)
	w.lostFolder(n.path)
}

// collect adds what the view holds under rt to m.
func (w *Watcher) collect(rt *root, m map[string]*entry) {
	if e := w.view[rt.path]; e != nil {
		m[rt.path] = e
	}
	if rt.dir {
		w.collectTree(rt.path, rt.recursive, m)
	}
}

func (w *Watcher) collectTree(d string, recursive bool, m map[string]*entry) {
	n := w.dirs[d]
	if n == nil {
		return
	}
	for name := range n.names {
		c := filepath.Join(d, name)
		e := w.view[c]
		if e == nil {
			continue
		}
		m[c] = e
		if recursive && e.dir {
			w.collectTree(c, true, m)
		}
	}
}

// fullSync compares the trees of roots with the disk and brings the view
// in line, queueing the differences as events (flagged rescan if asked):
// the polling backend's every tick, and the rescan after an overflow.
func (w *Watcher) fullSync(roots []*root, rescan bool) {
	old := make(map[string]*entry)
	for _, rt := range roots {
		w.collect(rt, old)
	}
	now := make(map[string]*entry, len(old))
	seen := make(map[*dirNode]bool)
	var lost []*root
	for _, rt := range roots {
		if !rt.dir {
			seen[w.ensureNode(filepath.Dir(rt.path), fileID{})] = true
			if e, err := lstat(rt.path); err == nil {
				now[rt.path] = e
			}
			continue
		}
		e, err := statRoot(rt.path)
		if err != nil || !e.dir {
			if err != nil && !gone(err) {
				w.failed(rt.path, err)
				w.collect(rt, now) // unreadable: keep what is known
				continue
			}
			lost = append(lost, rt)
			continue
		}
		now[rt.path] = e
		w.walkSnap(rt.path, e, rt.recursive, now, seen)
	}
	d := diff(old, now, rescan)
	for p := range old {
		if now[p] == nil {
			w.forget(p)
		}
	}
	for _, p := range sortedKeys(now) { // folders before what they hold
		w.remember(p, now[p])
	}
	for _, n := range w.dirs {
		if seen[n] {
			continue
		}
		for _, rt := range roots {
			if rt.dir && (n.path == rt.path || rt.recursive && within(n.path, rt.path)) {
				if now[n.path] == nil || !now[n.path].dir {
					w.dropNode(n)
				}
				break
			}
		}
	}
	for _, ev := range d.events {
		w.emit(ev)
	}
	for _, rt := range lost {
		w.removeRoot(rt)
	}
	w.refreshFiles()
	w.syncs++
}

// walkSnap reads the folder d into now, and its folders too if
// recursive, making (and natively watching) their nodes as it goes.
func (w *Watcher) walkSnap(d string, e *entry, recursive bool, now map[string]*entry, seen map[*dirNode]bool) {
	n := w.ensureNode(d, e.id)
	seen[n] = true
	ents, err := os.ReadDir(d)
	if err != nil {
		if !gone(err) {
			// Unreadable: what the view holds stands.
			w.failed(d, err)
			w.collectTree(d, recursive, now)
			w.markSeen(d, recursive, seen)
		}
		return
	}
	for _, de := range ents {
		c := filepath.Join(d, de.Name())
		fi, err := de.Info()
		if err != nil {
			continue
		}
		ce := entryOf(fi)
		now[c] = ce
		if recursive && ce.dir {
			w.walkSnap(c, ce, true, now, seen)
		}
	}
}

func (w *Watcher) markSeen(d string, recursive bool, seen map[*dirNode]bool) {
	n := w.dirs[d]
	if n == nil {
		return
	}
	seen[n] = true
	if recursive {
		for name := range n.names {
			if e := w.view[filepath.Join(d, name)]; e != nil && e.dir {
				w.markSeen(filepath.Join(d, name), true, seen)
			}
		}
	}
}

// syncDirs reads the folders of nodes again, one level deep, and brings
// the view in line: the kqueue backend's answer to a folder's NOTE_WRITE.
// A folder moved between them is a rename (its tree moves along in the
// view, its watches with it); one removed takes its tree with it; one
// created is read whole.
func (w *Watcher) syncDirs(nodes []*dirNode) {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].path < nodes[j].path })
	old := make(map[string]*entry)
	now := make(map[string]*entry)
	var vanished []*dirNode
	for _, n := range nodes {
		if w.dirs[n.path] != n {
			continue
		}
		listing, err := w.readNode(n)
		if err != nil {
			if gone(err) {
				vanished = append(vanished, n)
			} else {
				w.failed(n.path, err)
			}
			continue
		}
		for name := range n.names {
			p := filepath.Join(n.path, name)
			if e := w.view[p]; e != nil {
				old[p] = e
			}
		}
		for name, e := range listing {
			now[filepath.Join(n.path, name)] = e
		}
	}
	d := diff(old, now, false)
	for _, rn := range d.renames {
		e := now[rn.to]
		if !rn.implied {
			w.emit(Event{Op: Renamed, OldPath: rn.from, Path: rn.to, Dir: e.dir})
		}
		w.rename(rn.from, rn.to, e)
	}
	for _, ev := range d.moved {
		w.emit(ev)
	}
	for _, p := range d.removed {
		if e := old[p]; e != nil && e.dir {
			w.dropTree(p, true)
		}
		w.forget(p)
		w.emit(Event{Op: Removed, Path: p, Dir: old[p].dir})
	}
	for _, p := range d.created {
		e := now[p]
		if o := w.view[p]; o != nil && o.dir && !sameFile(o, e) {
			w.dropTree(p, true)
		}
		w.remember(p, e)
		w.emit(Event{Op: Created, Path: p, Dir: e.dir})
		if e.dir && w.listed(p) {
			w.walkNew(p, e, true)
		}
	}
	for _, ev := range d.changed {
		w.remember(ev.Path, now[ev.Path])
		w.emit(ev)
	}
	for p, e := range now {
		if o := w.view[p]; o != nil && o != e && sameFile(o, e) {
			w.view[p] = e
		}
	}
	for _, n := range vanished {
		if w.dirs[n.path] == n && !w.listed(filepath.Dir(n.path)) {
			w.nodeGone(n)
		}
	}
	w.refreshFiles()
}

// readNode lists the folder of n as the roots cover it: every entry of a
// listed folder, the watched files of another.
func (w *Watcher) readNode(n *dirNode) (map[string]*entry, error) {
	out := make(map[string]*entry)
	if !w.listed(n.path) {
		if _, err := os.Stat(n.path); err != nil {
			return nil, err
		}
		for _, rt := range w.fileRoots[n.path] {
			if e, err := lstat(rt.path); err == nil {
				out[filepath.Base(rt.path)] = e
			}
		}
		return out, nil
	}
	ents, err := os.ReadDir(n.path)
	if err != nil {
		return nil, err
	}
	for _, de := range ents {
		if fi, err := de.Info(); err == nil {
			out[de.Name()] = entryOf(fi)
		}
	}
	return out, nil
}

// refreshFiles lets the native backend follow the watched files whose
// names now hold another file (kqueue watches a file's descriptor).
func (w *Watcher) refreshFiles() {
	if w.nat == nil {
		return
	}
	for _, list := range w.fileRoots {
		for _, rt := range list {
			w.fileAppeared(rt)
		}
	}
}

func (w *Watcher) fileAppeared(rt *root) {
	if w.nat != nil && !rt.dir && rt.backend != Polling {
		w.nat.watchFile(rt)
	}
}

// A delta is what diff finds between two views of the same paths.
type delta struct {
	renames []renamed // by new path
	removed []string  // unpaired, deepest first; not those replaced
	created []string  // unpaired (replacements too), folders first
	moved   []Event   // Written and Attrib of renamed paths, at their new paths
	changed []Event   // Written and Attrib of paths kept
	events  []Event   // all of it, in the order to tell
}

type renamed struct {
	from, to string
	implied  bool // a folder's rename carried it along
}

// diff compares old with now. A path in both with another file is a
// replacement; a file gone from one path and come at another (the same
// device, inode and modification time) is a rename, and the renames of
// what a renamed folder holds are implied by it. Events come as renames, removals (deepest first),
// creations (folders first), then writes and attribute changes, each
// kind sorted by path.
func diff(old, now map[string]*entry, rescan bool) delta {
	var d delta
	var gone, came []string
	for p, o := range old {
		n := now[p]
		switch {
		case n == nil:
			gone = append(gone, p)
		case !sameFile(o, n):
			gone = append(gone, p)
			came = append(came, p)
		default:
			d.changed = appendChanges(d.changed, p, o, n, rescan)
		}
	}
	for p := range now {
		if old[p] == nil {
			came = append(came, p)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return postOrder(gone[i], gone[j]) })
	sort.Slice(came, func(i, j int) bool { return preOrder(came[i], came[j]) })
	byID := make(map[fileID][]string)
	for _, p := range gone {
		if id := old[p].id; id != (fileID{}) {
			byID[id] = append(byID[id], p)
		}
	}
	fromOf := make(map[string]string) // new path → old
	toOf := make(map[string]string)   // old path → new
	for _, p := range came {
		n := now[p]
		if n.id == (fileID{}) {
			continue
		}
		cands := byID[n.id]
		for i, q := range cands {
			// A rename keeps the modification time; a file made where
			// another was removed may get its inode number, never its
			// time.
			if o := old[q]; o.dir == n.dir && o.mtime == n.mtime {
				fromOf[p], toOf[q] = q, p
				byID[n.id] = append(cands[:i:i], cands[i+1:]...)
				break
			}
		}
	}
	for _, p := range came {
		q, ok := fromOf[p]
		if !ok {
			continue
		}
		pq, pp := filepath.Dir(q), filepath.Dir(p)
		implied := pq != pp && toOf[pq] == pp && filepath.Base(q) == filepath.Base(p)
		d.renames = append(d.renames, renamed{from: q, to: p, implied: implied})
		if !implied {
			d.events = append(d.events, Event{Op: Renamed, OldPath: q, Path: p, Dir: now[p].dir, Rescan: rescan})
		}
		d.moved = appendChanges(d.moved, p, old[q], now[p], rescan)
	}
	for _, p := range gone {
		if _, ok := toOf[p]; ok || now[p] != nil {
			continue
		}
		d.removed = append(d.removed, p)
		d.events = append(d.events, Event{Op: Removed, Path: p, Dir: old[p].dir, Rescan: rescan})
	}
	for _, p := range came {
		if _, ok := fromOf[p]; ok {
			continue
		}
		d.created = append(d.created, p)
		d.events = append(d.events, Event{Op: Created, Path: p, Dir: now[p].dir, Rescan: rescan})
	}
	sort.SliceStable(d.changed, func(i, j int) bool { return d.changed[i].Path < d.changed[j].Path })
	d.events = append(d.events, d.moved...)
	d.events = append(d.events, d.changed...)
	return d
}

// preOrder orders paths as a walk of their tree that takes each folder
// before what it holds, and the entries of a folder by name.
func preOrder(a, b string) bool {
	c := compareComponents(a, b)
	return c < 0
}

// postOrder orders paths as a walk that takes what a folder holds before
// the folder, and the entries of a folder by name.
func postOrder(a, b string) bool {
	switch {
	case within(b, a) && a != b:
		return false // a holds b
	case within(a, b) && a != b:
		return true
	}
	return compareComponents(a, b) < 0
}

// compareComponents compares paths name by name, a folder before what it
// holds.
func compareComponents(a, b string) int {
	for a != "" && b != "" {
		var ca, cb string
		ca, a, _ = strings.Cut(a, string(filepath.Separator))
		cb, b, _ = strings.Cut(b, string(filepath.Separator))
		if ca != cb {
			return strings.Compare(ca, cb)
		}
	}
	return strings.Compare(a, b)
}

func appendChanges(evs []Event, p string, o, n *entry, rescan bool) []Event {
	if written(o, n) {
		evs = append(evs, Event{Op: Written, Path: p, Rescan: rescan})
	}
	if attrib(o, n) {
		evs = append(evs, Event{Op: Attrib, Path: p, Dir: n.dir, Rescan: rescan})
	}
	return evs
}

func sortedNames(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]*entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// syncFile compares the file rt watches with the view: the kqueue
// backend's answer to an event on the file's own descriptor. A file gone
// or replaced is its folder's to tell.
func (w *Watcher) syncFile(rt *root) {
	if w.roots[rt.path] != rt {
		return
	}
	old := w.view[rt.path]
	e, err := lstat(rt.path)
	if old == nil || err != nil || !sameFile(old, e) {
		if n := w.dirs[filepath.Dir(rt.path)]; n != nil {
			w.syncDirs([]*dirNode{n})
		}
		return
	}
	w.view[rt.path] = e
	for _, ev := range appendChanges(nil, rt.path, old, e, false) {
		w.emit(ev)
	}
}

// syncRootAttr compares the attributes of rt's folder with the view,
// after an event on its own descriptor (kqueue).
func (w *Watcher) syncRootAttr(rt *root) {
	old := w.view[rt.path]
	e, err := statRoot(rt.path)
	if old == nil || err != nil || !sameFile(old, e) {
		return
	}
	w.view[rt.path] = e
	if attrib(old, e) {
		w.emit(Event{Op: Attrib, Path: rt.path, Dir: true})
	}
}
