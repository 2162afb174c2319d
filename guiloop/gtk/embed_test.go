package gtkloop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// Attach on a goroutine that is not the GTK thread fails at once, even
// before gtk.Main runs (when nobody owns GLib's context yet).
func TestAttachFromAnotherGoroutineBeforeMain(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	done := make(chan error)
	go func() {
		detach, err := gtkloop.Attach(r)
		if err == nil {
			// Detaching must happen on the GTK thread too.
			onMain(detach)
		}
		done <- err
	}()
	if err := <-done; !errors.Is(err, gtkloop.ErrWrongThread) {
		t.Errorf("Attach from another goroutine before gtk.Main: %v, want ErrWrongThread", err)
	}
}

// captureLog sends slog's default logger to a buffer for the test.
func captureLog(t *testing.T) func() string {
	var mu sync.Mutex
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&lockedBuffer{&mu, &buf}, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// Close on a reactor still attached detaches it cleanly: the host
// program's gtk.Main goes on until the program quits it.
func TestCloseWhileAttached(t *testing.T) {
	reactortest.CheckLeaks(t)
	logged := captureLog(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	var closeErr error
	var quitByUs, ticked bool
	onMain(func() {
		if _, err := gtkloop.Attach(r); err != nil {
			t.Error(err)
			return
		}
		r.CallLater(10*time.Millisecond, func() { ticked = true })
		glib.TimeoutAdd(50, func() bool {
			closeErr = r.Close() // from a GTK handler, not a reactor callback
			return false
		})
		glib.TimeoutAdd(300, func() bool {
			quitByUs = true
			gtk.MainQuit()
			return false
		})
		gtk.Main()
	})
	if closeErr != nil {
		t.Errorf("Close: %v", closeErr)
	}
	if !ticked {
		t.Error("the attached reactor did not run")
	}
	if !quitByUs {
		t.Error("Close ended the host program's gtk.Main")
	}
	if out := logged(); strings.Contains(out, "ERROR") {
		t.Errorf("Close while attached logged an error:\n%s", out)
	}
}

// A program that quits with gtk.MainQuit and then closes the reactor
// (defer r.Close()) runs its Shutdown triggers, cancels goroutine work
// and leaves nothing of loom's running.
func TestMainQuitThenClose(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	var shutdown []string
	var jobErr error
	jobEnded := make(chan struct{})
	onMain(func() {
		if _, err := gtkloop.Attach(r); err != nil {
			t.Error(err)
			return
		}
		r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
			shutdown = append(shutdown, "before")
			d := deferred.New()
			r.CallLater(20*time.Millisecond, func() { shutdown = append(shutdown, "flushed"); d.Callback(nil) })
			return d
		})
		r.AddSystemEventTrigger(reactor.After, reactor.Shutdown, func() *deferred.Deferred {
			shutdown = append(shutdown, "after")
			return nil
		})
		r.CallSoon(func() {
			d := r.DeferToGoroutine(func(ctx context.Context) (any, error) {
				<-ctx.Done()
				close(jobEnded)
				return nil, ctx.Err()
			})
			d.AddErrback(func(err error) any { jobErr = err; return nil })
		})
		glib.TimeoutAdd(50, func() bool { gtk.MainQuit(); return false })
		gtk.Main()
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	if got := fmt.Sprint(shutdown); got != "[before flushed after]" {
		t.Errorf("Shutdown triggers at Close: %s", got)
	}
	if !errors.Is(jobErr, deferred.ErrCancelled) {
		t.Errorf("goroutine work's Deferred: %v, want ErrCancelled", jobErr)
	}
	select {
	case <-jobEnded:
	case <-time.After(5 * time.Second):
		t.Error("goroutine work still running after Close")
	}
}

// gtkChild runs the test binary again as a child that runs the named
// scenario on its GTK thread, waits for it to print "ready", sends it
// sig, and returns how it ended, how long after the signal, and what it
// printed.
func gtkChild(t *testing.T, scenario string, sig syscall.Signal) (syscall.WaitStatus, time.Duration, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under the race detector a process sleeps 1s at exit (atexit_sleep_ms),
	// which is not the program's time to end.
	cmd.Env = append(os.Environ(), childEnv+"="+scenario, "GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ready := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		signalled := false
		for {
			n, err := pr.Read(buf)
			out.Write(buf[:n])
			if !signalled && bytes.Contains(out.Bytes(), []byte("ready\n")) {
				signalled = true
				close(ready)
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		<-copied
		t.Fatalf("%s: the child never got ready:\n%s", scenario, out.String())
	}
	sent := time.Now()
	cmd.Process.Signal(sig)
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-waited
	}
	took := time.Since(sent)
	<-copied
	pr.Close()
	return cmd.ProcessState.Sys().(syscall.WaitStatus), took, out.String()
}

// An attached reactor leaves the host program's signals alone: SIGTERM
// kills it as it did before loom; with HandleSignals, SIGTERM stops the
// reactor, which quits the program's gtk.Main.
func TestAttachedProgramKeepsItsSignals(t *testing.T) {
	ws, _, out := gtkChild(t, "attached-idle", syscall.SIGTERM)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("attached program: SIGTERM did not kill it (status %v)\n%s", ws, out)
	}
	if strings.Contains(out, "stopping on signal") {
		t.Errorf("attached program: the reactor took SIGTERM over:\n%s", out)
	}
	ws, _, out = gtkChild(t, "attached-handle-signals", syscall.SIGTERM)
	if ws.Signaled() || ws.ExitStatus() != 0 || !strings.Contains(out, "gtk.Main returned") {
		t.Errorf("HandleSignals: SIGTERM did not stop the reactor and quit gtk.Main (status %v)\n%s", ws, out)
	}
}

// SIGTERM ends a program promptly while modal dialogs run, one or two
// deep, file choosers among them: the stop answers them and quits Run.
func TestSignalEndsModalDialogs(t *testing.T) {
	for _, scenario := range []string{"dialog-open", "two-nested-dialogs", "file-chooser-open", "dialog-from-button"} {
		t.Run(scenario, func(t *testing.T) {
			ws, took, out := gtkChild(t, scenario, syscall.SIGTERM)
			if ws.Signaled() || ws.ExitStatus() != 0 || !strings.Contains(out, "Run returned: <nil>") {
				t.Errorf("status %v\n%s", ws, out)
			}
			if took > time.Second {
				t.Errorf("the program took %v to end after SIGTERM, want under 1s\n%s", took, out)
			}
		})
	}
}

// A program with no reactor work yet (an idle window) stops on SIGTERM
// too: the reactor's signal handling must not wait for its first pass.
func TestIdleProgramStopsOnSignal(t *testing.T) {
	ws, _, out := gtkChild(t, "run-idle", syscall.SIGTERM)
	if ws.Signaled() || ws.ExitStatus() != 0 || !strings.Contains(out, "Run returned: <nil>") {
		t.Errorf("Run, idle: SIGTERM did not stop the reactor (status %v)\n%s", ws, out)
	}
	ws, _, out = gtkChild(t, "attached-handle-signals-idle", syscall.SIGTERM)
	if ws.Signaled() || ws.ExitStatus() != 0 || !strings.Contains(out, "gtk.Main returned") {
		t.Errorf("Attach with HandleSignals, idle: SIGTERM did not stop the reactor (status %v)\n%s", ws, out)
	}
}
