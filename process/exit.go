package process

import (
	"time"
)

// The exit is watched natively where the OS can (nativeWatch: a pidfd on
// Linux, EVFILT_PROC on macOS and the BSDs), otherwise by a goroutine
// blocked in cmd.Wait. Either way the child is reaped by cmd.Wait and
// only by it: no SIGCHLD handler, no waitpid(-1).
//
// nativeWatch, one per OS family, has
//
//	start(p *Process) bool          // watch p's exit, calling p.nativeExit on the loop; false if it cannot
//	stop(r *reactor.Reactor)        // stop watching and release the descriptor; idempotent
//	wait(d time.Duration) bool      // block up to d for the exit (the reactor's Close)

// watchExit starts watching for the child's exit.
func (p *Process) watchExit() {
	if !p.cfg.waitGo && p.native.start(p) {
		return
	}
	p.waitInGoroutine()
}

// waitInGoroutine is the fallback: a goroutine waits in cmd.Wait and
// hands the result to the loop.
func (p *Process) waitInGoroutine() {
	done := make(chan struct{})
	p.waitDone = done
	cmd, r := p.cmd, p.r
	go func() {
		err := cmd.Wait()
		p.waitErr = err
		close(done)
		r.CallFromGoroutine(p.goroutineReaped)
	}()
}

func (p *Process) goroutineReaped() { p.reaped(p.waitErr) }

// nativeExit runs on the loop when the native watch saw the exit: the
// child is waitable, so cmd.Wait returns at once.
func (p *Process) nativeExit() {
	if p.exited {
		return
	}
	p.native.stop(p.r)
	p.reaped(p.cmd.Wait())
}

// waitExit blocks for at most d until the child has exited; it reports
// whether it has.
func (p *Process) waitExit(d time.Duration) bool {
	if p.waitDone != nil {
		select {
		case <-p.waitDone:
			return true
		case <-time.After(d):
			return false
		}
	}
	return p.native.wait(d)
}

// reapNow reaps a child waitExit saw exit.
func (p *Process) reapNow() {
	if p.waitDone != nil {
		<-p.waitDone
		p.reaped(p.waitErr)
		return
	}
	p.nativeExit()
}

// detach leaves a running child to a goroutine that reaps it when it
// exits, after the reactor is gone: it never becomes a zombie.
func (p *Process) detach() {
	if p.waitDone != nil {
		return // the goroutine in Wait does it
	}
	p.native.stop(p.r)
	cmd := p.cmd
	go cmd.Wait()
}
