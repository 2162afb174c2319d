//go:build darwin || dragonfly || freebsd

package watch

import "golang.org/x/sys/unix"

func fsRemote(p string) (remote, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false, false
	}
	return remoteName(cstr(st.Fstypename[:])), true
}
