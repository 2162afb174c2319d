package fyneloop

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// describeFD says what descriptor fd of this process is: on Linux what
// /proc/self/fd names it (socket:[1234], pipe:[5678], anon_inode:[eventfd],
// a file's path); elsewhere, or when that fails, its type from fstat(2).
func describeFD(fd int) string {
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
