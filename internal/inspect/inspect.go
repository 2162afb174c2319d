// Package inspect holds what the GUI loops' inspector windows show the
// same way whatever the toolkit: a callback's site and function shortened
// for a narrow column, and what a descriptor is. It is cgo-free.
package inspect

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ShortSite keeps the last two elements of a file:line's path, the
// folder and the file: ".../guiloop/gtk/inspector.go:12" becomes
// "gtk/inspector.go:12".
func ShortSite(site string) string {
	i := strings.LastIndexByte(site, '/')
	if i < 0 {
		return site
	}
	if j := strings.LastIndexByte(site[:i], '/'); j >= 0 {
		return site[j+1:]
	}
	return site
}

// ShortFunc drops a function name's import path but for its last
// element: "github.com/loomkit/loom/reactor.(*Reactor).Stop" becomes
// "reactor.(*Reactor).Stop".
func ShortFunc(name string) string {
	// The type arguments of a generic function's name may hold import
	// paths of their own: the path ends at the last slash before them.
	path := name
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// DescribeFD says what descriptor fd of this process is: on Linux what
// /proc/self/fd names it (socket:[1234], pipe:[5678], anon_inode:[eventfd],
// a file's path); elsewhere, or when that fails, its type from fstat(2).
func DescribeFD(fd int) string {
	if what, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil {
		return what
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "closed (" + err.Error() + ")"
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFIFO:
		return "pipe"
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFCHR:
		return "character device"
	}
	return "descriptor"
}
