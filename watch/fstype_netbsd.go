//go:build netbsd

package watch

import "golang.org/x/sys/unix"

func fsRemote(p string) (remote, ok bool) {
	var st unix.Statvfs_t
	if err := unix.Statvfs(p, &st); err != nil {
		return false, false
	}
	return remoteName(cstr(st.Fstypename[:])), true
}
