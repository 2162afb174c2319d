package gtkloop_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// Every benchmark measures its subject and its reference in the same run
// and reports both and their ratio. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./guiloop/gtk/
//
// (each does a fixed amount of work per op; -benchtime 1x is one round).

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func us(d time.Duration) float64 { return float64(d) / 1e3 }

// wakeups posts n calls, one at a time and 1 ms apart (the loop asleep
// in between, as a desktop program's is), from a goroutine through post,
// and returns how long each took to start running on the GTK thread.
// run runs the GTK loop that serves them; it returns when quit is called.
func wakeups(n int, post func(f func()), run func(), quit func()) (lat []time.Duration, allocs float64) {
	lat = make([]time.Duration, n)
	done := make(chan struct{}, 1)
	var sent time.Time
	i := 0
	callback := func() {
		lat[i] = time.Since(sent)
		done <- struct{}{}
	}
	finished := make(chan struct{})
	var m0, m1 runtime.MemStats
	go func() {
		defer close(finished)
		time.Sleep(50 * time.Millisecond) // let the loop settle into its wait
		runtime.ReadMemStats(&m0)
		next := time.Now()
		for i = 0; i < n; i++ {
			next = next.Add(time.Millisecond)
			time.Sleep(time.Until(next))
			sent = time.Now()
			post(callback)
			<-done
		}
		runtime.ReadMemStats(&m1)
		post(quit)
	}()
	onMain(run)
	<-finished
	return lat, float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

// BenchmarkWakeup: from a goroutine's CallFromGoroutine to the callback
// running on the GTK thread, against gotk3's glib.IdleAdd from a
// goroutine into a plain gtk.Main.
func BenchmarkWakeup(b *testing.B) {
	const n = 10000
	for range b.N {
		r := newReactor(b)
		loom, loomAllocs := wakeups(n, r.CallFromGoroutine,
			func() { ok(b, gtkloop.Run(r)) }, r.Stop)
		idle, idleAllocs := wakeups(n, func(f func()) { glib.IdleAdd(f) },
			gtk.Main, gtk.MainQuit)
		b.ReportMetric(us(percentile(loom, 50)), "loom-p50-µs")
		b.ReportMetric(us(percentile(loom, 99)), "loom-p99-µs")
		b.ReportMetric(us(percentile(loom, 100)), "loom-max-µs")
		b.ReportMetric(loomAllocs, "loom-allocs/post")
		b.ReportMetric(us(percentile(idle, 50)), "idleadd-p50-µs")
		b.ReportMetric(us(percentile(idle, 99)), "idleadd-p99-µs")
		b.ReportMetric(us(percentile(idle, 100)), "idleadd-max-µs")
		b.ReportMetric(idleAllocs, "idleadd-allocs/post")
		b.ReportMetric(float64(percentile(loom, 99))/float64(percentile(idle, 99)), "p99-ratio")
	}
}

// echoBytes echoes total bytes over one loopback TCP connection whose
// client and server are both on r, keeping window bytes in flight. run
// drives r until it stops. It returns the time the echo took.
func echoBytes(b testing.TB, r *reactor.Reactor, total int64, run func()) time.Duration {
	ln, port := listenTCP(b)
	const window = 256 << 10
	chunk := make([]byte, 64<<10)
	in := make([]byte, 64<<10)
	var server *echoServer
	var fd int
	var sent, received int64
	var start time.Time
	var took time.Duration
	fail := func(err error) {
		b.Error(err)
		r.Stop()
	}
	var writing bool
	var write func()
	write = func() {
		for sent-received < window && sent < total {
			n, err := unix.Write(fd, chunk[:min(int64(len(chunk)), total-sent, window-(sent-received))])
			if errors.Is(err, unix.EAGAIN) {
				return
			}
			if err != nil {
				fail(err)
				return
			}
			sent += int64(n)
		}
		r.RemoveWriter(fd) // window full or all sent: the reader wakes us
		writing = false
	}
	read := func() {
		n, err := unix.Read(fd, in)
		if errors.Is(err, unix.EAGAIN) {
			return
		}
		if err != nil || n == 0 {
			fail(fmt.Errorf("read: %v (%d)", err, n))
			return
		}
		received += int64(n)
		if received >= total {
			took = time.Since(start)
			r.RemoveReader(fd)
			r.Stop()
			return
		}
		if !writing && sent < total && sent-received < window {
			writing = true
			r.AddWriter(fd, write)
		}
	}
	r.CallSoon(func() {
		var err error
		if server, err = serveEcho(r, ln); err != nil {
			fail(err)
			return
		}
		var connected *deferred.Deferred
		fd, connected = dialTCP(r, port)
		start = time.Now()
		connected.AddBoth(func(v any) any {
			if err, isErr := v.(error); isErr {
				fail(err)
				return nil
			}
			writing = true
			r.AddWriter(fd, write)
			r.AddReader(fd, read)
			return nil
		})
	})
	run()
	r.RemoveAll()
	if server != nil {
		for c := range server.conns {
			unix.Close(c)
		}
	}
	unix.Close(fd)
	return took
}

// median returns the median of xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// echoRounds echoes total bytes rounds times on r, alternating between
// the subjects' ways of running it (so that drift on a shared machine
// hits them alike), and returns the MB/s of each round, by subject.
func echoRounds(b *testing.B, r *reactor.Reactor, total int64, rounds int, runs ...func()) [][]float64 {
	out := make([][]float64, len(runs))
	for range rounds {
		for i, run := range runs {
			d := echoBytes(b, r, total, run)
			out[i] = append(out[i], float64(total)/d.Seconds()/1e6)
		}
	}
	return out
}

// BenchmarkEcho: loopback TCP echo throughput with the reactor inside
// GTK's main loop (gtkloop.Run) against the same reactor on its own Run;
// medians of 7 alternating rounds of 128 MB.
func BenchmarkEcho(b *testing.B) {
	const total, rounds = 128 << 20, 7
	for range b.N {
		r := newReactor(b)
		mbs := echoRounds(b, r, total, rounds,
			func() { ok(b, r.Run(context.Background())) },
			func() { onMain(func() { ok(b, gtkloop.Run(r)) }) })
		alone, inGTK := median(mbs[0]), median(mbs[1])
		b.ReportMetric(alone, "standalone-MB/s")
		b.ReportMetric(inGTK, "gtk-MB/s")
		b.ReportMetric(inGTK/alone, "ratio")
	}
}

// BenchmarkEchoBudget: the same echo inside GTK for a few pass budgets
// (at the default time budget), to choose the default; medians of 5
// alternating rounds.
func BenchmarkEchoBudget(b *testing.B) {
	const total, rounds = 128 << 20, 5
	passes := []int{1, 8, 64, 1024}
	for range b.N {
		r := newReactor(b)
		var runs []func()
		for _, p := range passes {
			runs = append(runs, func() {
				onMain(func() { ok(b, gtkloop.Run(r, gtkloop.WithBudget(p, gtkloop.DefaultBudget))) })
			})
		}
		for i, mbs := range echoRounds(b, r, total, rounds, runs...) {
			b.ReportMetric(median(mbs), fmt.Sprintf("passes-%d-MB/s", passes[i]))
		}
	}
}

// iterationCost times g_main_context_iteration(ctx, FALSE) with r
// attached and sockets idle descriptors registered on it.
func iterationCost(b *testing.B, sockets, iterations int) time.Duration {
	r := newReactor(b)
	fds := make([]int, 0, sockets)
	for len(fds) < sockets {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		fds = append(fds, p[0], p[1])
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, fd := range fds[:sockets] {
		if err := r.AddReader(fd, func() {}); err != nil {
			b.Fatal(err)
		}
	}
	var took time.Duration
	onMain(func() {
		detach, err := gtkloop.Attach(r)
		if err != nil {
			b.Error(err)
			return
		}
		ctx := glib.MainContextDefault()
		for range 100 { // settle
			ctx.Iteration(false)
		}
		start := time.Now()
		for range iterations {
			ctx.Iteration(false)
		}
		took = time.Since(start) / time.Duration(iterations)
		detach()
	})
	r.RemoveAll()
	return took
}

// BenchmarkIteration: GLib's per-iteration cost with 10 and with 10,000
// sockets registered on the reactor: GLib sees one descriptor either way.
func BenchmarkIteration(b *testing.B) {
	const iterations = 20000
	for range b.N {
		few := iterationCost(b, 10, iterations)
		many := iterationCost(b, 10000, iterations)
		b.ReportMetric(float64(few.Nanoseconds()), "10-sockets-ns/iter")
		b.ReportMetric(float64(many.Nanoseconds()), "10000-sockets-ns/iter")
		b.ReportMetric(float64(many)/float64(few), "ratio")
	}
}

// BenchmarkFrames: the GTK frame clock's tick interval while the reactor
// is saturated, against the idle baseline of the same display.
func BenchmarkFrames(b *testing.B) {
	const d = 3 * time.Second
	for range b.N {
		idle, _ := frameTicks(b, newReactor(b), false, d)
		busy, moved := frameTicks(b, newReactor(b), true, d)
		b.ReportMetric(ms(percentile(idle, 50)), "idle-p50-ms")
		b.ReportMetric(ms(percentile(idle, 99)), "idle-p99-ms")
		b.ReportMetric(ms(percentile(busy, 50)), "saturated-p50-ms")
		b.ReportMetric(ms(percentile(busy, 99)), "saturated-p99-ms")
		b.ReportMetric(ms(percentile(busy, 100)), "saturated-max-ms")
		b.ReportMetric(float64(percentile(busy, 99))/float64(percentile(idle, 99)), "p99-ratio")
		b.ReportMetric(float64(moved)/d.Seconds()/1e6, "flood-MB/s")
	}
}

// BenchmarkFramesPriority: the same with a few priorities and time
// budgets, to choose the defaults (GDK_PRIORITY_REDRAW is 120).
func BenchmarkFramesPriority(b *testing.B) {
	const d = 2 * time.Second
	for _, prio := range []int{0, 120, 121, 200} {
		for _, budget := range []time.Duration{time.Millisecond, 4 * time.Millisecond, 16 * time.Millisecond} {
			b.Run(fmt.Sprintf("priority=%d/budget=%v", prio, budget), func(b *testing.B) {
				for range b.N {
					busy, moved := frameTicks(b, newReactor(b), true, d,
						gtkloop.WithPriority(prio), gtkloop.WithBudget(1<<30, budget))
					b.ReportMetric(float64(len(busy)+1)/d.Seconds(), "frames/s")
					b.ReportMetric(ms(percentile(busy, 99)), "p99-ms")
					b.ReportMetric(float64(moved)/d.Seconds()/1e6, "flood-MB/s")
				}
			})
		}
	}
}
