// Package process runs child processes on the reactor: an *exec.Cmd
// (Go's own, so Dir, Env, SysProcAttr and the rest stay the caller's) is
// started with its stdin, stdout and stderr as pipes the reactor drives,
// and every callback runs on the reactor goroutine (so on the GUI thread
// when a GUI loop drives the reactor).
//
// It follows Twisted's ProcessProtocol. A Protocol hears ProcessStarted
// with the Process, DataReceived for each stream's bytes, StreamClosed
// (if it is a StreamCloser) as each pipe closes, ProcessExited once the
// child has exited, and ProcessEnded last, once it has exited and every
// pipe is closed. Run is the one-call form: a promise of the command's
// output and status, with a Lines event per output line.
//
// # Exit and end
//
// The exit is watched without a SIGCHLD handler and without
// waitpid(-1), which would reap other code's children (another library's
// exec.Command.Run would lose its status): on Linux through a pidfd, a
// descriptor the reactor watches like any other; on macOS and the BSDs
// through a kqueue's EVFILT_PROC; elsewhere, or when the kernel refuses
// a pidfd, with a goroutine blocked in cmd.Wait. The child is always
// reaped through cmd.Wait, so exec.Cmd's ProcessState is set as usual.
//
// Exited is not ended. A child's own children inherit its pipes: after
// `sh -c 'sleep 30 & echo hi'` exits, sleep still holds stdout for 30
// seconds. ProcessExited comes at once; ProcessEnded waits for the pipes
// for at most a grace period (DefaultGracePeriod, WithGracePeriod) and
// then closes those still open, whose StreamClosed error wraps
// ErrHeldOpen. Twisted's processEnded never comes while such a grandchild
// lives (twisted#2774). When the child exits, its stdin is closed once
// what was written to it is flushed.
//
// # Status
//
// ProcessExited and ProcessEnded get what cmd.Wait returned: nil for exit
// status 0, otherwise an *exec.ExitError, from which errors.As takes the
// exit code (ExitCode) or the signal that killed the child
// (Sys().(syscall.WaitStatus).Signal()). Process.State returns the
// *os.ProcessState.
//
// # Flow control
//
// Stdin is a transport.Transport: Write never blocks, buffers what the
// pipe does not take at once, and tells a Protocol that is also a
// transport.WriteFlow to PauseWriting past the high water mark and to
// ResumeWriting once it has drained (see package transport). Reading can
// be paused per stream through Process.Pipe.
//
// # Killing
//
// Kill signals the child, KillGroup its whole process group (started in
// a group of its own WithProcessGroup), and WithKillOnStop ties the
// child's life to the reactor's: a signal when the reactor stops, the
// stop held until the child has ended; SIGKILL if it is still running
// when the reactor is closed. Without it a child outlives the reactor,
// and a goroutine reaps it when it exits, so it never stays a zombie.
//
// # Threads
//
// Every function and method here is for the reactor goroutine, like the
// reactor's own, except where a doc comment says otherwise.
package process
