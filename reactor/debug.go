package reactor

import (
	"fmt"
	"os"
)

// WithDebug turns on the reactor's debug checks: every method that must
// be called on the reactor goroutine checks that it is, once the loop has
// run a pass, and panics with a message that names the method and both
// goroutines when it is not (a call from another goroutine otherwise
// corrupts the reactor's state silently). The code of a coroutine
// (deferred.Async, task.Cooperator, any iter.Pull) counts as the loop's:
// it runs only while the code that resumed it waits.
// Each check reads the calling goroutine's id, about a microsecond; off,
// the checks cost a branch. The environment variable LOOM_DEBUG=1 turns
// them on for every reactor without a rebuild. Debug mode also reports
// slow callbacks (see WithSlowCallbacks) unless LOOM_SLOW=0 or an option
// says otherwise.
func WithDebug() Option { return func(o *options) { o.debug = true } }

func debugFromEnv() bool { return os.Getenv("LOOM_DEBUG") == "1" }

// loopOnly panics, in debug mode, if the caller is not on the reactor
// goroutine (see WithDebug).
func (r *Reactor) loopOnly(method string) {
	if !r.debug || r.loopG.Load() == 0 || r.closing.Load() {
		return // no pass yet, or Close (which may be called elsewhere)
	}
	g, loop := goid(), r.loopG.Load()
	if g == loop {
		return
	}
	if _, coro := cgoCallbacks(); coro {
		return // a coroutine's goroutine: it runs while its resumer waits
	}
	panic(fmt.Sprintf("reactor: %s called on goroutine %d, but the reactor runs on goroutine %d: "+
		"only CallFromGoroutine may be called from other goroutines (reactor debug mode)", method, g, loop))
}
