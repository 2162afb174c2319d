package process_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/process"
	"github.com/loomkit/loom/reactor"
)

// Run gives a promise of a command's output and status; each line comes
// as it is written, under the Lines event (for a log view, say).
func ExampleRun() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	p := process.Run(r, exec.Command("sh", "-c", "echo compiling; echo linking; exit 2"))
	deferred.On(p, process.Lines, func(l process.Line) { fmt.Println("line:", l.Text) })
	p.OnValue(func(res process.Result) {
		fmt.Println("exit code:", res.ExitCode())
		fmt.Println("error:", res.Err())
		r.Stop()
	})
	p.OnError(func(err error) { fmt.Println("could not run:", err); r.Stop() })
	r.Run(context.Background())
	// Output:
	// line: compiling
	// line: linking
	// exit code: 2
	// error: exit status 2
}

// upper is a protocol that writes to a child's stdin and reads its
// stdout.
type upper struct {
	r   *reactor.Reactor
	out strings.Builder
}

func (u *upper) ProcessStarted(p *process.Process) {
	p.Write([]byte("shout this\n"))
	p.CloseStdin()
}

func (u *upper) DataReceived(s process.Stream, b []byte) { u.out.Write(b) }

func (u *upper) ProcessExited(err error) {}

func (u *upper) ProcessEnded(err error) {
	fmt.Printf("%q, %v\n", u.out.String(), err)
	u.r.Stop()
}

// Spawn runs a Protocol: here one that feeds tr and reads what it
// writes.
func ExampleSpawn() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	if _, err := process.Spawn(r, exec.Command("tr", "a-z", "A-Z"), &upper{r: r}); err != nil {
		fmt.Println(err)
		return
	}
	r.Run(context.Background())
	// Output:
	// "SHOUT THIS\n", <nil>
}

// group is a protocol that kills its child's process group once started.
type group struct {
	r    *reactor.Reactor
	held bool
}

func (g *group) ProcessStarted(p *process.Process) {
	g.r.CallLater(50*time.Millisecond, func() { p.KillGroup(syscall.SIGTERM) })
}

func (g *group) DataReceived(process.Stream, []byte) {}

func (g *group) StreamClosed(s process.Stream, err error) {
	g.held = g.held || errors.Is(err, process.ErrHeldOpen)
}

func (g *group) ProcessExited(err error) { fmt.Println("exited:", err) }

func (g *group) ProcessEnded(err error) {
	fmt.Println("ended; a pipe held open by a grandchild:", g.held)
	g.r.Stop()
}

// A child in a process group of its own is killed with everything it
// started: here sh and both sleeps, so that nothing holds its pipes.
func ExampleProcess_KillGroup() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60")
	if _, err := process.Spawn(r, cmd, &group{r: r}, process.WithProcessGroup()); err != nil {
		fmt.Println(err)
		return
	}
	r.Run(context.Background())
	// Output:
	// exited: signal: terminated
	// ended; a pipe held open by a grandchild: false
}
