package reactor_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// Removing an OnSignal handler never leaves SIGTERM at its default action
// (killing the process), even for an instant: a child that adds and
// removes handlers without pause while SIGTERM arrives must stop cleanly
// every time.
func TestRemovingASignalHandlerKeepsSIGTERMHandled(t *testing.T) {
	if os.Getenv("LOOM_SIGNAL_CHILD") == "1" {
		signalChurnChild()
		return
	}
	if testing.Short() {
		t.Skip("child processes")
	}
	for i := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRemovingASignalHandlerKeepsSIGTERMHandled$")
		cmd.Env = append(os.Environ(), "LOOM_SIGNAL_CHILD=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "churning" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: the child did not start: %q", i, lines.Text())
		}
		time.Sleep(time.Duration(i) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		var said []string
		for lines.Scan() {
			said = append(said, lines.Text())
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("run %d: SIGTERM killed the child (%v) instead of stopping its reactor", i, ws.Signal())
			}
		}
		if err != nil || !strings.Contains(strings.Join(said, "\n"), "stopped by the signal") {
			t.Fatalf("run %d: child ended with %v, said %q", i, err, said)
		}
	}
}

func signalChurnChild() {
	r, err := reactor.New()
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	n := 0
	var churn func()
	churn = func() {
		if r.Stopped() {
			return
		}
		remove := r.OnSignal(syscall.SIGUSR1, func() {})
		remove()
		if n++; n == 20 {
			fmt.Println("churning")
		}
		r.CallSoon(churn)
	}
	r.CallSoon(churn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		fmt.Println("run:", err)
		os.Exit(4)
	}
	r.Close()
	fmt.Println("stopped by the signal")
	os.Exit(0)
}

// signalChild runs the test binary again as a child that runs scenario,
// waits for it to print "ready", sends it the signals, and returns how
// it ended and what it printed.
func signalChild(t *testing.T, scenario string, sigs ...syscall.Signal) (syscall.WaitStatus, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalScenarios$")
	cmd.Env = append(os.Environ(), "LOOM_SIGNAL_SCENARIO="+scenario)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var said []string
	for lines.Scan() {
		said = append(said, lines.Text())
		if lines.Text() == "ready" {
			break
		}
	}
	for _, sig := range sigs {
		cmd.Process.Signal(sig)
		time.Sleep(100 * time.Millisecond)
	}
	for lines.Scan() {
		said = append(said, lines.Text())
	}
	cmd.Wait()
	return cmd.ProcessState.Sys().(syscall.WaitStatus), strings.Join(said, "\n")
}

var signalScenarios = map[string]func(r *reactor.Reactor){
	// A Shutdown trigger that never lets go: the first SIGTERM starts
	// the stop, the second must end the process.
	"held-shutdown": func(r *reactor.Reactor) {
		r.AddSystemEventTrigger(reactor.Before, reactor.Shutdown, func() *deferred.Deferred {
			fmt.Println("stopping")
			return deferred.New()
		})
	},
	// The program keeps its own signal behaviour: SIGTERM kills it.
	"host-owns-signals": func(r *reactor.Reactor) { r.SetStopOnInterrupt(false) },
	// Off, then on again: SIGTERM stops the reactor.
	"off-and-on": func(r *reactor.Reactor) {
		r.SetStopOnInterrupt(false)
		r.CallSoon(func() { r.SetStopOnInterrupt(true) })
	},
}

func TestSignalScenarios(t *testing.T) {
	if name := os.Getenv("LOOM_SIGNAL_SCENARIO"); name != "" {
		r, err := reactor.New(reactor.WithShutdownTimeout(0))
		if err != nil {
			panic(err)
		}
		signalScenarios[name](r)
		// After what the scenario queued: a first pass that comes late
		// runs an overdue timer before the queued calls.
		r.CallSoon(func() { r.CallLater(20*time.Millisecond, func() { fmt.Println("ready") }) })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		fmt.Println("run:", r.Run(ctx))
		r.Close()
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("child processes")
	}
	ws, said := signalChild(t, "held-shutdown", syscall.SIGTERM, syscall.SIGTERM)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM || !strings.Contains(said, "stopping") {
		t.Errorf("held shutdown: a second SIGTERM did not end the process (status %v, said %q)", ws, said)
	}
	ws, said = signalChild(t, "host-owns-signals", syscall.SIGTERM)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("SetStopOnInterrupt(false): SIGTERM did not get its default action (status %v, said %q)", ws, said)
	}
	ws, said = signalChild(t, "off-and-on", syscall.SIGTERM)
	if ws.Signaled() || !strings.Contains(said, "run: <nil>") {
		t.Errorf("SetStopOnInterrupt(true) again: SIGTERM did not stop the reactor (status %v, said %q)", ws, said)
	}
}
