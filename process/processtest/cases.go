package processtest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/process"
	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
)

func init() {
	add("exit/codes-and-signals", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		type want struct {
			args []string
			kill syscall.Signal // sent by Kill 20 ms after the start
			code int
			sig  syscall.Signal
		}
		wants := []want{
			{[]string{"true"}, 0, 0, 0},
			{[]string{"false"}, 0, 1, 0},
			{[]string{"sh", "-c", "exit 3"}, 0, 3, 0},
			{[]string{"sleep", "30"}, syscall.SIGKILL, -1, syscall.SIGKILL},
			{[]string{"sleep", "30"}, syscall.SIGTERM, -1, syscall.SIGTERM},
			{[]string{"sh", "-c", "kill -KILL $$"}, 0, -1, syscall.SIGKILL},
		}
		ends := &countdown{n: len(wants), f: r.Stop}
		recs := make([]*recorder, len(wants))
		for i, w := range wants {
			c := newRecorder(t, lg)
			recs[i] = c
			if w.kill != 0 {
				c.start = func(p *process.Process) {
					r.CallLater(20*time.Millisecond, func() {
						if err := p.Kill(w.kill); err != nil {
							t.Errorf("%v: Kill(%v): %v", w.args, w.kill, err)
						}
					})
				}
			}
			c.end = func(error) { ends.done() }
			spawn(t, r, exec.Command(w.args[0], w.args[1:]...), c, opts)
		}
		reactortest.RunFor(t, l, limit)
		for i, w := range wants {
			c := recs[i]
			code, sig, ok := status(c.exitErr)
			if !ok || code != w.code || sig != w.sig {
				t.Errorf("%v: ProcessExited(%v): want code %d, signal %v", w.args, c.exitErr, w.code, w.sig)
			}
			if c.endErr != c.exitErr {
				t.Errorf("%v: ProcessEnded(%v), ProcessExited(%v): want the same", w.args, c.endErr, c.exitErr)
			}
			if c.p == nil || c.p.State() == nil {
				t.Errorf("%v: no state", w.args)
				continue
			}
			if got := c.p.State().ExitCode(); got != w.code {
				t.Errorf("%v: State().ExitCode() = %d, want %d", w.args, got, w.code)
			}
			if got := c.p.Cmd().ProcessState; got != c.p.State() {
				t.Errorf("%v: cmd.ProcessState %v, State() %v: want the same", w.args, got, c.p.State())
			}
			if err := c.p.Kill(syscall.SIGKILL); !errors.Is(err, os.ErrProcessDone) {
				t.Errorf("%v: Kill after the end: %v, want os.ErrProcessDone", w.args, err)
			}
			for s := process.Stdin; s <= process.Stderr; s++ {
				if c.closes[s] != 1 || c.closed[s] != nil {
					t.Errorf("%v: %v closed %d times, with %v: want once, nil", w.args, s, c.closes[s], c.closed[s])
				}
			}
			if last := c.order[len(c.order)-1]; last != "end" {
				t.Errorf("%v: heard %v: want ProcessEnded last", w.args, c.order)
			}
		}
	})

	add("exit/grandchild-holds-the-pipes", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		// sh exits at once; the sleep it started keeps stdout and stderr
		// for 30 s. The exit is reported while the pipes are still open,
		// and the end once the grace period has closed them.
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		const grace = 300 * time.Millisecond
		c := newRecorder(t, lg)
		stdoutOpenAtExit := false
		c.exit = func(error) { stdoutOpenAtExit = c.closes[process.Stdout] == 0 }
		c.end = func(error) { r.Stop() }
		spawn(t, r, exec.Command("sh", "-c", "sleep 30 & echo $!"), c, opts,
			process.WithGracePeriod(grace), process.WithProcessGroup())
		reactortest.RunFor(t, l, limit)
		if c.exitErr != nil || c.endErr != nil {
			t.Fatalf("ProcessExited(%v), ProcessEnded(%v): want nil, nil", c.exitErr, c.endErr)
		}
		if !stdoutOpenAtExit {
			t.Errorf("heard %v: want the exit while the grandchild held stdout", c.order)
		}
		for _, s := range []process.Stream{process.Stdout, process.Stderr} {
			if !errors.Is(c.closed[s], process.ErrHeldOpen) {
				t.Errorf("StreamClosed(%v, %v): want ErrHeldOpen", s, c.closed[s])
			}
		}
		if c.closed[process.Stdin] != nil {
			t.Errorf("StreamClosed(stdin, %v): want nil", c.closed[process.Stdin])
		}
		if d := c.endStamp.Sub(c.exitStamp); d < grace*9/10 || d > grace+10*time.Second {
			t.Errorf("ended %v after the exit: want the grace period, %v", d, grace)
		}
		sleeper, err := strconv.Atoi(strings.TrimSpace(c.out[process.Stdout].String()))
		if err != nil {
			t.Fatalf("stdout %q: want the sleep's pid", c.out[process.Stdout].String())
		}
		// The group outlives its leader while the sleep lives: KillGroup
		// reaches it.
		if err := c.p.KillGroup(syscall.SIGKILL); err != nil {
			t.Errorf("KillGroup after the end: %v", err)
		}
		waitGone(t, sleeper)
	})

	add("output/stdout-and-stderr", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		c := newRecorder(t, lg)
		c.start = func(p *process.Process) {
			for s := process.Stdin; s <= process.Stderr; s++ {
				if p.Pipe(s) == nil {
					t.Errorf("Pipe(%v) is nil", s)
				}
			}
			if p.Pipe(process.Stream(3)) != nil {
				t.Error("Pipe(3) is not nil")
			}
		}
		c.end = func(error) { r.Stop() }
		spawn(t, r, exec.Command("sh", "-c", "echo out; echo err >&2; printf tail"), c, opts)
		reactortest.RunFor(t, l, limit)
		if got := c.out[process.Stdout].String(); got != "out\ntail" {
			t.Errorf("stdout %q", got)
		}
		if got := c.out[process.Stderr].String(); got != "err\n" {
			t.Errorf("stderr %q", got)
		}
		if c.endErr != nil || c.closed != [3]error{} {
			t.Errorf("ProcessEnded(%v), StreamClosed %v: want nil", c.endErr, c.closed)
		}
	})

	add("output/to-a-file", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		// A stream the Cmd gives a file of its own is not a pipe: the
		// child writes to the file, and the end waits for the other pipes.
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		f, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command("sh", "-c", "echo to the file; echo to the pipe >&2")
		cmd.Stdout = f
		c := newRecorder(t, lg)
		c.start = func(p *process.Process) {
			if p.Pipe(process.Stdout) != nil {
				t.Error("Pipe(stdout) is not nil for a file")
			}
		}
		c.end = func(error) { r.Stop() }
		spawn(t, r, cmd, c, opts)
		reactortest.RunFor(t, l, limit)
		if cmd.Stdout != f {
			t.Errorf("cmd.Stdout changed to %v", cmd.Stdout)
		}
		b, _ := os.ReadFile(f.Name())
		if string(b) != "to the file\n" || c.out[process.Stderr].String() != "to the pipe\n" {
			t.Errorf("file %q, stderr %q", b, c.out[process.Stderr].String())
		}
		if c.closes[process.Stdout] != 0 || c.closes[process.Stderr] != 1 || c.endErr != nil {
			t.Errorf("closes %v, ProcessEnded(%v)", c.closes, c.endErr)
		}
	})

	add("stdin/cat", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		c := newRecorder(t, lg)
		c.start = func(p *process.Process) {
			p.Write([]byte("hello, "))
			p.Write([]byte("cat"))
			p.CloseStdin()
			if err := p.Write([]byte("late")); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Write after CloseStdin: %v, want ErrClosed", err)
			}
		}
		c.end = func(error) { r.Stop() }
		spawn(t, r, exec.Command("cat"), c, opts)
		reactortest.RunFor(t, l, limit)
		if got := c.out[process.Stdout].String(); got != "hello, cat" || c.endErr != nil {
			t.Errorf("cat gave %q, ProcessEnded(%v)", got, c.endErr)
		}
		if c.closed[process.Stdin] != nil {
			t.Errorf("StreamClosed(stdin, %v)", c.closed[process.Stdin])
		}
	})

	add("stdin/flow-control", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		// 256 MiB into cat > /dev/null, written only while not paused:
		// the buffer never holds more than the high mark plus one write.
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		total := 256 << 20
		if testing.Short() {
			total = 32 << 20
		}
		const chunk = 32 << 10
		buf := bytes.Repeat([]byte("0123456789abcdef"), chunk/16)
		c := newRecorder(t, lg)
		sent, peak, pauses, resumes := 0, 0, 0, 0
		paused := false
		fill := func() {
			for !paused && sent < total {
				if err := c.p.Write(buf); err != nil {
					t.Errorf("Write after %d bytes: %v", sent, err)
					c.p.Kill(syscall.SIGKILL)
					return
				}
				sent += chunk
				peak = max(peak, c.p.Pipe(process.Stdin).Buffered())
			}
			if sent == total {
				c.p.CloseStdin()
			}
		}
		c.start = func(*process.Process) { fill() }
		c.pause = func() { paused = true; pauses++ }
		c.resume = func() { paused = false; resumes++; fill() }
		c.end = func(error) { r.Stop() }
		spawn(t, r, exec.Command("sh", "-c", "cat > /dev/null"), c, opts)
		reactortest.RunFor(t, l, limit)
		if sent != total || c.endErr != nil || c.closed[process.Stdin] != nil {
			t.Errorf("sent %d of %d; ProcessEnded(%v), StreamClosed(stdin, %v)", sent, total, c.endErr, c.closed[process.Stdin])
		}
		if high := transport.DefaultHighWater; peak > high+chunk || pauses == 0 || resumes == 0 {
			t.Errorf("peak buffered %d with %d pauses, %d resumes: want pauses and at most %d", peak, pauses, resumes, high+chunk)
		}
	})

	add("run/output-and-lines", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		var res process.Result
		var lines []process.Line
		r.CallSoon(func() {
			pr := process.Run(r, exec.Command("sh", "-c", `printf 'a\nb\r\n'; echo e >&2; printf c`), opts...)
			deferred.On(pr, process.Lines, func(l process.Line) { lg.check("Lines"); lines = append(lines, l) })
			pr.OnValue(func(v process.Result) { lg.check("Run's value"); res = v; r.Stop() })
			pr.OnError(func(err error) { t.Errorf("Run: %v", err); r.Stop() })
		})
		reactortest.RunFor(t, l, limit)
		if string(res.Stdout) != "a\nb\r\nc" || string(res.Stderr) != "e\n" {
			t.Errorf("Run gave stdout %q, stderr %q", res.Stdout, res.Stderr)
		}
		if res.State == nil || res.ExitCode() != 0 || res.Signal() != 0 || res.Err() != nil || res.Truncated || res.HeldOpen {
			t.Errorf("Run gave %+v", res)
		}
		var out, errs []process.Line
		for _, l := range lines {
			if l.Stream == process.Stdout {
				out = append(out, l)
			} else {
				errs = append(errs, l)
			}
		}
		wantOut := []process.Line{
			{Stream: process.Stdout, Text: "a"},
			{Stream: process.Stdout, Text: "b"},
			{Stream: process.Stdout, Text: "c", Partial: true},
		}
		wantErr := []process.Line{{Stream: process.Stderr, Text: "e"}}
		if fmt.Sprint(out) != fmt.Sprint(wantOut) || fmt.Sprint(errs) != fmt.Sprint(wantErr) {
			t.Errorf("lines %v", lines)
		}
	})

	add("run/status-limit-input-cancel", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		ends := &countdown{n: 4, f: r.Stop}
		var limited, echoed process.Result
		var limitedLines []string
		var cancelled, missing error
		input := bytes.Repeat([]byte("input that cat gives back\n"), 40000) // 1 MiB
		r.CallSoon(func() {
			p := process.Run(r, exec.Command("sh", "-c", "echo 0123456789; exit 3"), append(opts, process.WithOutputLimit(4))...)
			deferred.On(p, process.Lines, func(l process.Line) { limitedLines = append(limitedLines, l.Text) })
			p.OnValue(func(v process.Result) { limited = v; ends.done() })
			p.OnError(func(err error) { t.Errorf("Run exit 3: %v", err); ends.done() })

			p = process.Run(r, exec.Command("cat"), append(opts, process.WithInput(input))...)
			p.OnValue(func(v process.Result) { echoed = v; ends.done() })
			p.OnError(func(err error) { t.Errorf("Run cat: %v", err); ends.done() })

			p = process.Run(r, exec.Command("sleep", "30"), opts...)
			p.OnValue(func(v process.Result) { t.Errorf("Run sleep: %+v", v); ends.done() })
			p.OnError(func(err error) { lg.check("Run's error"); cancelled = err; ends.done() })
			r.CallLater(20*time.Millisecond, p.Cancel)

			p = process.Run(r, exec.Command("loom-no-such-binary"), opts...)
			p.OnError(func(err error) { missing = err; ends.done() })
		})
		reactortest.RunFor(t, l, limit)
		if string(limited.Stdout) != "0123" || !limited.Truncated || limited.ExitCode() != 3 {
			t.Errorf("Run with a limit of 4: stdout %q, truncated %v, exit code %d", limited.Stdout, limited.Truncated, limited.ExitCode())
		}
		var ee *exec.ExitError
		if limited.State != nil && (!errors.As(limited.Err(), &ee) || ee.ExitCode() != 3) {
			t.Errorf("Result.Err() = %v, want an *exec.ExitError with code 3", limited.Err())
		}
		if fmt.Sprint(limitedLines) != "[0123456789]" {
			t.Errorf("lines past the limit: %q, want them all", limitedLines)
		}
		if !bytes.Equal(echoed.Stdout, input) || echoed.ExitCode() != 0 {
			t.Errorf("cat gave back %d of %d bytes, exit code %d", len(echoed.Stdout), len(input), echoed.ExitCode())
		}
		if !errors.Is(cancelled, deferred.ErrCancelled) {
			t.Errorf("cancelled Run: %v, want ErrCancelled", cancelled)
		}
		if !errors.Is(missing, exec.ErrNotFound) {
			t.Errorf("Run of a missing binary: %v, want exec.ErrNotFound", missing)
		}
	})

	add("kill-on-stop", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		// The reactor's stop signals the group (sh and the sleep it
		// waits for) and waits for the end, which comes before the grace
		// period: nothing holds the pipes.
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		c := newRecorder(t, lg)
		c.start = func(*process.Process) { r.CallLater(50*time.Millisecond, r.Stop) }
		spawn(t, r, exec.Command("sh", "-c", "sleep 30; echo not reached"), c, opts,
			process.WithKillOnStop(syscall.SIGTERM), process.WithProcessGroup())
		reactortest.RunFor(t, l, limit)
		if c.ends != 1 {
			t.Fatalf("the stop did not wait for the end: heard %v", c.order)
		}
		if _, sig, _ := status(c.exitErr); sig != syscall.SIGTERM {
			t.Errorf("ProcessExited(%v): want killed by SIGTERM", c.exitErr)
		}
		if c.closed[process.Stdout] != nil || c.out[process.Stdout].Len() > 0 {
			t.Errorf("StreamClosed(stdout, %v), stdout %q: want the sleep killed too", c.closed[process.Stdout], c.out[process.Stdout].String())
		}
	})

	add("spawn/many", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		// 200 runs of true, 8 at a time; Run's checks find no zombie, no
		// descriptor and no goroutine left.
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		const n, width = 200, 8
		started, ended := 0, 0
		var next func()
		next = func() {
			if started == n {
				return
			}
			started++
			c := newRecorder(t, lg)
			c.end = func(err error) {
				if err != nil {
					t.Errorf("true: %v", err)
				}
				if ended++; ended == n {
					r.Stop()
				}
				next()
			}
			if _, err := process.Spawn(r, exec.Command("true"), c, opts...); err != nil {
				t.Errorf("Spawn: %v", err)
				r.Stop()
			}
		}
		r.CallSoon(func() {
			for range width {
				next()
			}
		})
		reactortest.RunFor(t, l, limit)
		if ended != n {
			t.Errorf("%d of %d ended", ended, n)
		}
	})

	add("spawn/others-children-keep-their-status", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		// A goroutine elsewhere in the program runs exec.Command("false")
		// again and again while loom spawns: loom reaps only its own
		// children, so each Run gets exit status 1 (a waitpid(-1) would
		// steal some: ECHILD).
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		const runs = 40
		errc := make(chan error, 1)
		othersDone := false
		spawned := 0
		var next func()
		next = func() {
			if othersDone && spawned >= runs {
				r.Stop()
				return
			}
			spawned++
			c := newRecorder(t, lg)
			c.end = func(err error) {
				if code, _, ok := status(err); !ok || code != 1 {
					t.Errorf("loom's false: %v", err)
				}
				next()
			}
			if _, err := process.Spawn(r, exec.Command("false"), c, opts...); err != nil {
				t.Errorf("Spawn: %v", err)
				r.Stop()
			}
		}
		r.CallSoon(func() {
			go func() {
				var bad error
				for i := range runs {
					err := exec.Command("false").Run()
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.ExitCode() != 1 {
						bad = fmt.Errorf("run %d of exec.Command(\"false\").Run(): %v, want exit status 1", i, err)
						break
					}
				}
				errc <- bad
				r.CallFromGoroutine(func() { othersDone = true })
			}()
			next()
		})
		reactortest.RunFor(t, l, limit)
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})

	add("spawn/cannot-start", func(t *testing.T, newLoop reactortest.NewLoop, opts []process.Option) {
		l := newLoop(t)
		r := l.Reactor()
		lg := guard(t, r)
		c := newRecorder(t, lg)
		r.CallSoon(func() {
			defer r.Stop()
			before := reactortest.OpenFDs(t)
			if _, err := process.Spawn(r, exec.Command("loom-no-such-binary"), c, opts...); !errors.Is(err, exec.ErrNotFound) {
				t.Errorf("Spawn of a binary not on $PATH: %v, want exec.ErrNotFound", err)
			}
			if _, err := process.Spawn(r, exec.Command("/nonexistent/loom-binary"), c, opts...); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Spawn of a missing path: %v, want fs.ErrNotExist", err)
			}
			cmd := exec.Command("true")
			cmd.Dir = "/nonexistent-folder"
			if _, err := process.Spawn(r, cmd, c, opts...); err == nil {
				t.Error("Spawn in a missing folder: no error")
			}
			if cmd.Stdin != nil || cmd.Stdout != nil || cmd.Stderr != nil {
				t.Errorf("Spawn left cmd's streams set: %v %v %v", cmd.Stdin, cmd.Stdout, cmd.Stderr)
			}
			if after := reactortest.OpenFDs(t); after != before {
				t.Errorf("%d descriptors open before, %d after", before, after)
			}
			if r.Watched() != 0 {
				t.Errorf("%d descriptors left watched", r.Watched())
			}
		})
		reactortest.RunFor(t, l, limit)
		if c.starts != 0 {
			t.Errorf("ProcessStarted called for a process that did not start")
		}
	})
}

// waitGone waits for pid, not a child of ours, to be killed: gone, or a
// zombie its new parent has not reaped yet.
func waitGone(t testing.TB, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(b, ')'); i >= 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("process %d still alive 10 s after KillGroup", pid)
}
