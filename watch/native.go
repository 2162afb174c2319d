package watch

import "errors"

// errNoRoom is wrapped by the native backends' errors when the system
// will not give them another watch: inotify's limit on watches
// (ENOSPC), the limit on open descriptors (EMFILE, ENFILE) for kqueue's
// one per folder. The roots concerned move to polling.
var errNoRoom = errors.New("watch: the native backend has no room for another watch")

// native is the system's own way of hearing of changes: inotify on
// Linux, kqueue on macOS and the BSDs. It calls back into the Watcher,
// on the reactor goroutine, with what it hears.
type native interface {
	name() string
	// watchDir starts watching the folder of n, setting n.h.
	watchDir(n *dirNode) error
	// unwatchDir stops it and sets n.h to -1.
	unwatchDir(n *dirNode)
	// watchFile follows the file a file root names, where the backend
	// needs a watch of the file itself (kqueue); the folder's watch
	// serves inotify.
	watchFile(rt *root)
	unwatchFile(rt *root)
	close()
}
