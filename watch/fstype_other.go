//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package watch

func fsRemote(string) (remote, ok bool) { return false, false }
