//go:build dragonfly || freebsd || netbsd || openbsd

package watch

// evtOnly is darwin's O_EVTONLY, which the BSDs do not have.
const evtOnly = 0
