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
