//go:build linux

package watch

import "golang.org/x/sys/unix"

var statfs = unix.Statfs // a variable, for tests

// fsRemote reads p's file system type (statfs(2)'s f_type).
func fsRemote(p string) (remote, ok bool) {
	var st unix.Statfs_t
	if err := statfs(p, &st); err != nil {
		return false, false
	}
	return remoteType(uint32(st.Type)), true
}

// remoteType tells the file system magic numbers (statfs(2)) of network
// file systems and FUSE.
func remoteType(t uint32) bool {
	switch t {
	case 0x6969, // NFS_SUPER_MAGIC
		0x517b,     // SMB_SUPER_MAGIC
		0xff534d42, // CIFS_MAGIC_NUMBER
		0xfe534d42, // SMB2_MAGIC_NUMBER
		0x65735546, // FUSE_SUPER_MAGIC
		0x5346414f, // AFS_SUPER_MAGIC
		0x6b414653, // AFS_FS_MAGIC (kAFS)
		0x73757245, // CODA_SUPER_MAGIC
		0x01021997, // V9FS_MAGIC (9p)
		0x00c36400, // CEPH_SUPER_MAGIC
		0x0bd00bd0, // LL_SUPER_MAGIC (Lustre)
		0x564c,     // NCP_SUPER_MAGIC
		0x47504653: // GPFS_SUPER_MAGIC
		return true
	}
	return false
}
