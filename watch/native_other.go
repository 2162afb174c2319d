//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package watch

import "errors"

// openNative: this system has no native backend the Watcher knows;
// everything is polled.
func openNative(*Watcher) (native, error) {
	return nil, errors.New("watch: no native backend on this system")
}
