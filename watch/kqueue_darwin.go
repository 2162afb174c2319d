//go:build darwin

package watch

import "golang.org/x/sys/unix"

// evtOnly opens a descriptor for its events only, which does not keep the
// volume from being unmounted (open(2), O_EVTONLY).
const evtOnly = unix.O_EVTONLY
