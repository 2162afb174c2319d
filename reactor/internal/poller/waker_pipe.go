//go:build unix && !linux

package poller

// newWaker on systems without eventfd is the self-pipe.
func newWaker() (waker, error) { return newPipeWaker() }
