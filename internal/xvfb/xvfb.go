// Package xvfb gives GUI tests and demos a display: the one in $DISPLAY,
// or a private Xvfb server started for the process.
package xvfb

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Ensure makes sure $DISPLAY names a usable X display. If DISPLAY is set
// it is used as it is and stop does nothing; otherwise Ensure starts Xvfb
// on a free display number, sets DISPLAY, and stop kills the server.
// It fails with a clear message when there is no display and no Xvfb.
func Ensure() (stop func(), err error) {
	if os.Getenv("DISPLAY") != "" {
		return func() {}, nil
	}
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, errors.New("no X display: DISPLAY is unset and Xvfb is not installed (apt-get install xvfb, or run scripts/test)")
	}
	return start(bin)
}

// ForTest gives a test package a display of its own: a private Xvfb
// whenever Xvfb is installed, even if DISPLAY is set. go test runs
// packages in parallel, and the windows of packages sharing one screen
// cover each other (a screenshot of a covered window shows the other)
// and take each other's keystrokes. LOOM_TEST_DISPLAY=1 keeps $DISPLAY,
// to watch the tests; without Xvfb, ForTest is Ensure.
func ForTest() (stop func(), err error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil || os.Getenv("LOOM_TEST_DISPLAY") == "1" {
		return Ensure()
	}
	return start(bin)
}

// start runs the Xvfb at bin on a free display number and sets DISPLAY.
func start(bin string) (stop func(), err error) {
	old, had := os.LookupEnv("DISPLAY")
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// -displayfd makes Xvfb pick a free display and write its number
	// once it accepts connections.
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start Xvfb: %w", err)
	}
	w.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	select {
	case n := <-line:
		if n == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, errors.New("Xvfb exited without a display number")
		}
		os.Setenv("DISPLAY", ":"+n)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("Xvfb did not start within 20s")
	}
	return func() {
		cmd.Process.Kill()
		cmd.Wait()
		if had {
			os.Setenv("DISPLAY", old)
		} else {
			os.Unsetenv("DISPLAY")
		}
	}, nil
}
