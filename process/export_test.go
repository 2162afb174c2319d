package process

// WithGoroutineWait watches the exit with the fallback, a goroutine in
// cmd.Wait, even where the OS has a native watch.
var WithGoroutineWait = withGoroutineWait

// WaitsInGoroutine reports whether a goroutine in cmd.Wait watches p's
// exit.
func (p *Process) WaitsInGoroutine() bool { return p.waitDone != nil }

// WatchesNatively reports whether the OS's watch (a pidfd, a kqueue)
// watches p's exit now.
func (p *Process) WatchesNatively() bool { return p.native.reading }
