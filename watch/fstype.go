package watch

import (
	"path/filepath"
	"strings"
)

// remote reports whether p (or, for a file not there yet, its folder)
// lies on a file system whose changes made elsewhere the kernel never
// hears of, so that only polling can see them: network file systems
// and FUSE.
func remote(p string) bool {
	if r, ok := fsRemote(p); ok {
		return r
	}
	r, _ := fsRemote(filepath.Dir(p))
	return r
}

// remoteName tells the BSDs' and macOS's names of such file systems
// (statfs's f_fstypename).
func remoteName(name string) bool {
	name = strings.ToLower(name)
	switch name {
	case "nfs", "nfs4", "smbfs", "cifs", "afpfs", "webdav", "ftp", "afs", "puffs", "9p", "p9fs", "sshfs":
		return true
	}
	return strings.Contains(name, "fuse")
}

// cstr returns the NUL-terminated string at the start of b.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
