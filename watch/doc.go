// Package watch reports changes to files and folders, and follows
// growing files as tail -F does, with every callback on the reactor
// goroutine (so on the GUI thread when a GUI loop drives the reactor).
//
// A Watcher watches paths given to Add, a folder's entries (its whole
// tree with Options.Recursive) or a file, and calls one function with
// each Event: Created, Written, Removed, Renamed (the old and the new
// path together), Attrib, and Overflow and Failed for its own troubles.
//
//	w, err := watch.New(r, func(ev watch.Event) { fmt.Println(ev) })
//	if err != nil { ... }
//	err = w.Add(dir, watch.Options{Recursive: true})
//
// Tail follows one file: its lines, and Markers for what happens to it.
//
//	t, err := watch.Tail(r, "/var/log/app.log", watch.TailOptions{
//		Line: func(line []byte) { view.Append(string(line)) },
//	})
//
// # Backends
//
// Each path is served by a backend; Watcher.Backend tells which.
//
// Inotify (Linux): one inotify descriptor, nonblocking, read by a reactor
// reader, no goroutine; a watch per folder read. A rename's MOVED_FROM and
// MOVED_TO are paired by their cookie into one Renamed; a MOVED_FROM whose
// MOVED_TO is not in the queue once it has been read dry is a move out of
// the watch (Removed), a MOVED_TO without its MOVED_FROM a move in
// (Created). A recursive watch is kept in user space: a folder created in
// it is watched and then read at once (a catch-up scan), so that what was
// made in it before its watch began is not missed (mkdir -p a/b/c && touch
// a/b/c/f gives four Created events). Watches the kernel drops
// (IN_IGNORED) are forgotten one by one: removing one watched subfolder
// leaves the others alone. A watched file is watched through its folder,
// filtered by name, so that an editor's atomic save (a temporary file
// renamed over it) is an event for the file, and the file stays watched.
//
// Kqueue (macOS, FreeBSD, NetBSD, OpenBSD, DragonFly): one kqueue
// descriptor read by a reactor reader, with an EVFILT_VNODE filter on one
// descriptor per folder read and per watched file, never per file in a
// folder. A folder's NOTE_WRITE makes the Watcher read it again and compare
// with what it knew, which finds creations, removals and renames (by
// inode) at once. Writes to the files in a watched folder change nothing
// the folder's descriptor hears: they are found by comparing stats every
// Options.Interval, as polling does. A watched file's writes are heard at
// once, on its own descriptor. This backend is compiled for those systems
// and checked against kqueue(2), but not run by this package's tests, which
// run its folder-comparing logic on Linux instead.
//
// Polling (everywhere): a task.LoopingCall compares each tree with a
// snapshot of it every Options.Interval: size and modification time
// (Written), mode, owner and link count (Attrib), inode (a file replaced,
// or renamed: a path gone and another come with the same inode and
// modification time). It serves a path when Options.Poll asks for it, and
// when the native backend cannot: the path is on a network or FUSE file
// system (statfs: NFS, SMB/CIFS, FUSE, AFS, 9p, Ceph, ...; changes made by
// other machines never reach the kernel's notifications), inotify cannot
// be had (inotify_init1 failing with EMFILE: the per-user instance limit),
// or the native backend runs out of room (inotify's watch limit, ENOSPC;
// kqueue's descriptors, EMFILE), in which case the watch moves to polling
// and its first comparison catches up with what was missed.
//
// What polling cannot see, against a native backend: changes that undo
// each other within one interval (a file created and removed); several
// changes to one path within an interval (one Created for a file created
// and written, one Written for many writes); a write that leaves size and
// modification time as they were (within the file system's time
// resolution); a change of times alone (touch is Written, not Attrib) or
// of extended attributes; a file renamed and written within one interval
// (Removed and Created); the order of changes within one interval (its
// events come as renames, removals deepest first, creations folders
// first, then writes and attribute changes); an atomic save whose
// temporary file lived less than an interval (Created for the target,
// natively Renamed from the temporary file).
//
// # Overflow
//
// A queue overflow is never silent. When inotify's queue overflows
// (IN_Q_OVERFLOW: max_queued_events, 16384 by default, events not yet
// read), the Watcher delivers an Overflow event and then compares every
// inotify tree with the disk at once, delivering the differences, each
// with Rescan set, so that its view and the application's are back in
// line with the folder. Creations and removals still queued that the
// rescan has told of already are not told again. The rescan runs in the
// reactor callback that reads the overflow: for a tree of many thousands
// of entries, it holds the loop for as long as reading them takes.
//
// # Tail
//
// Tail follows a file by name as tail -F does. Lines (up to a maximum
// length; a longer one is dropped and told) come on the loop. A truncation
// (copytruncate, "> file") starts again from the top, with a Truncated
// marker; a rotation, the file renamed and a new one made, reads the old
// file to its end (what its writer adds after the rename included) and then
// follows the new one from its start, with a Rotated marker; a missing
// file, or folder, is waited for (Missing). Reads never block the loop: a
// regular file is always readable, so Tail reads at most 1 MiB per wakeup,
// and its wakeups are what the Watcher reports (inotify's IN_MODIFY,
// kqueue, polling), never a reactor reader on the file.
//
// Tail frames lines with a small splitter of its own that does what
// protocol's LineDecoder does with the default delimiter and
// OverflowSkip, so that watch does not depend on the transport packages;
// the codec can take its place.
//
// # Goroutines
//
// Every function and method here is for the reactor goroutine, like the
// reactor's own; every Event, line and Marker is delivered there. The
// Watcher's function may call Add, Remove and Close; a panic in it is
// recovered and logged by the reactor, and the events after it still
// come. The reactor's Close closes the Watchers and Tailers on it.
//
// # Why not fsnotify
//
// github.com/fsnotify/fsnotify runs a goroutine of its own and hands
// events over channels, which an application on a loop must carry back to
// its loop; it has no polling backend, for network file systems or when
// inotify runs out of watches; on kqueue it opens a descriptor per file in
// every watched folder, which runs out of descriptors on big folders; and
// an overflow is an error on a channel, left to the application, which
// mostly ignores it.
//
// # Implementation notes
//
// The Watcher keeps a view of what its roots cover: a stat of each path,
// and a node per folder read. Native events update it; polling, the rescan
// after an overflow and kqueue's folder reads compare it with the disk and
// turn the differences into events. The view is also what keeps a
// catch-up scan and the events it raced with from telling one creation
// twice. Paths covered by several roots are told once.
package watch
