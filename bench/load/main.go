// Command load measures TCP echo servers for scripts/bench: loom's
// bench/echo and its peers (bench/peers, bench/twisted_echo.py).
//
//	load [flags] LABEL=COMMAND...
//
// Each argument names a server and gives its command line (split at
// spaces; prefix it with taskset to pin the server). For each, load picks
// a free port on 127.0.0.1, starts COMMAND PORT and waits for its line
// READY; every server is started before the first measurement. Then:
//
//  1. CPU per message: each server gets -conns connections (50) doing
//     ping-pong with -size bytes (64). The servers take turns, -slices
//     times -slice each, so that a change of the machine's speed (other
//     work on it) touches them all alike; for each, its CPU time over its
//     slices (utime+stime of /proc/PID/stat, all its threads) divided by
//     the messages it echoed meanwhile.
//  2. Then one server after the other: round trips per second on one
//     connection with no other connection open, for -rtt-time;
//     -idle connections (10,000) opened, each checked with a one-byte echo
//     (so the server has accepted it), then left idle; the server's Go heap
//     before and after ("heap" on its standard input, answered with a line
//     "HEAP inuse=N ...", see bench/echo) and its resident memory
//     (/proc/PID/status), divided by the idle connections; round trips
//     again with the idle connections open; and once more after they are
//     closed and the server has settled. The figure for no idle connection
//     is the mean of the one before and the one after, so that a drift of
//     the machine's speed does not pass for an effect of the idle ones.
//     Each is given as the mean rate, the rate of its fastest tenth (which
//     other work on the machine touches least) and the median and 99th
//     percentile round trip.
//
// Flags add one-connection phases, run between 1 and 2 (each server gets
// one connection of its own, so that every message is a wakeup of the
// server, as in a desktop program that is mostly asleep):
//
//   - -sporadic: 64-byte ping-pong on the one connection, the servers
//     taking turns as in 1 (-slices, -slice); server CPU per round trip.
//     Keys sporadic_cpu_ns_per_msg (from /proc/PID/task/*/schedstat, in
//     nanoseconds), sporadic_cpu_stat_ns_per_msg (the same from
//     /proc/PID/stat's 10 ms ticks, as a check), sporadic_msgs_per_s.
//   - -spaced D: one message, its echo, then a sleep until the next
//     multiple of D (an absolute clock_nanosleep), so that the server
//     sleeps between events; -spaced-time (3s) per server in -slices
//     turns. Server CPU per event over the turns (what it does while it
//     waits included) and the round trips' percentiles: keys
//     spaced_cpu_ns_per_msg, spaced_p50_ns, spaced_p99_ns, spaced_events,
//     spaced_interval_ns.
//   - -syscalls: perf stat attached to the server (-p PID) with its
//     counters off, switched on through its control descriptor (so they
//     count once attached) and off again after -syscalls-time (1s) of
//     ping-pong; each tracepoint's count divided by the round trips of
//     exactly that window: keys sys_total_per_msg (every system call),
//     sys_futex_per_msg, sys_epoll_pwait_per_msg, sys_epoll_wait_per_msg,
//     sys_read_per_msg, sys_write_per_msg, sys_poll_per_msg,
//     sys_ppoll_per_msg, sys_recvmsg_per_msg, sys_nanosleep_per_msg,
//     sys_sched_yield_per_msg, sys_other_per_msg (the rest of the total),
//     sys_msgs. The same ping-pong without perf before and after gives
//     sys_perf_slowdown (the median round trip under perf over theirs,
//     minus 1) and sys_perf_rate_ratio. With no perf, or one that cannot
//     count, it warns and leaves the keys out.
//
// -skip cpu,rtt leaves out phase 1 or 2 (and their keys), so that a run
// of the one-connection phases alone is quick.
//
// Connections end with a TCP reset (no TIME_WAIT is left to exhaust ports
// across runs). Last, each server gets SIGTERM and must exit with 0. The
// client side is a single goroutine on its own OS thread making raw system
// calls (epoll for many connections, blocking reads for one), so it costs
// the same against every server; run load pinned to a core of its own.
//
// It prints a line "RESULT label=... key=value ..." per server on standard
// output and a summary on standard error. The process raises its own limit
// of open descriptors to the hard limit; each server must raise its own.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	nconns    = flag.Int("conns", 50, "connections doing ping-pong for the CPU measurement")
	size      = flag.Int("size", 64, "bytes per message")
	nslices   = flag.Int("slices", 6, "turns each server gets in the CPU measurement")
	slice     = flag.Duration("slice", 300*time.Millisecond, "length of one turn")
	rttTime   = flag.Duration("rtt-time", time.Second, "how long each round-trip measurement runs")
	warmup    = flag.Duration("warmup", 200*time.Millisecond, "ping-pong before each round-trip measurement and the first turn")
	nidle     = flag.Int("idle", 10000, "idle connections opened for the second round-trip measurement")
	noHeap    = flag.String("noheap", "", "comma-separated labels of servers not to ask for a Go heap")
	readyWait = flag.Duration("ready-timeout", 60*time.Second, "how long to wait for READY")
	skipPhase = flag.String("skip", "", "comma-separated phases not to run: cpu (CPU per message at -conns), rtt (round trips and memory)")
	sporadic  = flag.Bool("sporadic", false, "measure server CPU per round trip on one connection, in turns (-slices, -slice)")
	spaced    = flag.Duration("spaced", 0, "if not 0, measure events this far apart on one connection: server CPU per event, round trips")
	spacedFor = flag.Duration("spaced-time", 3*time.Second, "how long each server gets spaced events, over -slices turns")
	sysCount  = flag.Bool("syscalls", false, "count the server's system calls per round trip on one connection with perf stat")
	sysFor    = flag.Duration("syscalls-time", time.Second, "how long each system-call count (and each run without perf around it) lasts")
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go runs on).
const userHZ = 100

type target struct {
	label string
	args  []string
	heap  bool
	port  int
	srv   *server
	m     *many

	ticks uint64
	msgs  int64
	dur   time.Duration
	res   result

	one   int // the connection of the one-connection phases
	cpu1  time.Duration
	n1    int64
	dur1  time.Duration
	lat1  []time.Duration
	tick1 uint64
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("load: ")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: load [flags] LABEL=COMMAND...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	noheap := strings.Split(*noHeap, ",")
	var targets []*target
	for _, a := range flag.Args() {
		label, cmd, ok := strings.Cut(a, "=")
		if !ok || label == "" || len(strings.Fields(cmd)) == 0 {
			log.Fatalf("%q: want LABEL=COMMAND", a)
		}
		targets = append(targets, &target{label: label, args: strings.Fields(cmd), heap: !slices.Contains(noheap, label)})
	}
	for _, p := range strings.Split(*skipPhase, ",") {
		switch p {
		case "":
		case "cpu":
			runCPU = false
		case "rtt":
			runRTT = false
		default:
			log.Fatalf("-skip: unknown phase %q (cpu, rtt)", p)
		}
	}
	need := *nconns*len(targets) + 2*len(targets) + 64
	if runRTT {
		need += *nidle
	}
	if err := raiseNofile(need); err != nil {
		log.Fatal(err)
	}
	// One OS thread does every system call of the measurements.
	runtime.LockOSThread()

	err := run(targets)
	failed := err != nil
	if err != nil {
		log.Print(err)
	}
	for _, t := range targets {
		if t.srv == nil {
			continue
		}
		if code := t.srv.stop(); code != 0 {
			log.Printf("%s: server exited with %d after SIGTERM", t.label, code)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	for _, t := range targets {
		t.res.print(t.label)
	}
}

func run(targets []*target) error {
	begin := time.Now()
	for _, t := range targets {
		port, err := freePort()
		if err != nil {
			return err
		}
		t.port = port
		if t.srv, err = start(t.args, port); err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
	}
	msg := make([]byte, *size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}

	fmt.Fprintf(os.Stderr, "load: %d servers started in %.1fs\n", len(targets), time.Since(begin).Seconds())
	begin = time.Now()
	defer func() { fmt.Fprintf(os.Stderr, "load: measured in %.1fs\n", time.Since(begin).Seconds()) }()

	if runCPU {
		if err := measureCPU(targets, msg); err != nil {
			return err
		}
	}
	if *sporadic || *spaced > 0 || *sysCount {
		if err := measureOne(targets, msg); err != nil {
			return err
		}
	}
	if !runRTT {
		return nil
	}

	// 2. Round trips and memory, one server after the other.
	for _, t := range targets {
		t0 := time.Now()
		if err := measureIdle(t, msg); err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		fmt.Fprintf(os.Stderr, "%s (%.1fs)\n", t.res.summary(t.label), time.Since(t0).Seconds())
	}
	return nil
}

// measureCPU is phase 1: CPU per message at -conns connections, the
// servers taking turns.
func measureCPU(targets []*target, msg []byte) error {
	for _, t := range targets {
		m, err := openMany(t.port, *nconns, msg)
		if err != nil {
			return fmt.Errorf("%s: ping-pong connections: %w", t.label, err)
		}
		t.m = m
		if _, err := m.run(*warmup); err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
	}
	for s := range *nslices {
		for j := range targets {
			t := targets[(s+j)%len(targets)] // each turn starts elsewhere
			if _, err := t.m.run(*slice / 5); err != nil {
				return fmt.Errorf("%s: %w", t.label, err)
			}
			cpu0, err := cpuTicks(t.srv.pid())
			if err != nil {
				return err
			}
			t0 := time.Now()
			n, err := t.m.run(*slice)
			cpu1, err2 := cpuTicks(t.srv.pid())
			t.dur += time.Since(t0)
			if err == nil {
				err = err2
			}
			if err != nil {
				return fmt.Errorf("%s: %w", t.label, err)
			}
			t.ticks += cpu1 - cpu0
			t.msgs += n
		}
	}
	for _, t := range targets {
		t.m.close()
		if t.msgs == 0 {
			return fmt.Errorf("%s: no message echoed", t.label)
		}
		t.res.cpuPerMsg = time.Duration(float64(t.ticks) * float64(time.Second/userHZ) / float64(t.msgs))
		t.res.msgsPerSec = float64(t.msgs) / t.dur.Seconds()
	}
	return nil
}

type result struct {
	cpuPerMsg  time.Duration
	msgsPerSec float64
	rtt0       stats // the mean of before and after the idle connections
	rtt0Before float64
	rtt0After  float64
	rttIdle    stats
	heapInuse  float64 // bytes per idle connection, NaN for none
	heapAlloc  float64
	stack      float64
	rss        float64
	one        []string // key=value of the one-connection phases
}

type stats struct {
	perSec   float64
	best     float64 // the rate of the fastest of the measurement's tenths
	p50, p99 time.Duration
	n        int64         // round trips
	dur      time.Duration // from the first write to the last echo
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

func (r *result) print(label string) {
	fmt.Printf("RESULT label=%s", label)
	if runCPU {
		fmt.Printf(" cpu_ns_per_msg=%d msgs_per_s=%.0f", r.cpuPerMsg.Nanoseconds(), r.msgsPerSec)
	}
	if runRTT {
		r.printRTT()
	}
	for _, kv := range r.one {
		fmt.Printf(" %s", kv)
	}
	fmt.Println()
}

func (r *result) printRTT() {
	fmt.Printf(" rtt0_per_s=%.0f rtt0_before_per_s=%.0f rtt0_after_per_s=%.0f rtt0_p50_ns=%d rtt0_p99_ns=%d rtt_idle_per_s=%.0f rtt_idle_p50_ns=%d rtt_idle_p99_ns=%d rtt_ratio=%.3f rtt0_best_per_s=%.0f rtt_idle_best_per_s=%.0f rtt_best_ratio=%.3f heap_inuse_per_idle=%s heap_alloc_per_idle=%s stack_per_idle=%s rss_per_idle=%.0f",
		r.rtt0.perSec, r.rtt0Before, r.rtt0After, r.rtt0.p50.Nanoseconds(), r.rtt0.p99.Nanoseconds(),
		r.rttIdle.perSec, r.rttIdle.p50.Nanoseconds(), r.rttIdle.p99.Nanoseconds(),
		r.rttIdle.perSec/r.rtt0.perSec, r.rtt0.best, r.rttIdle.best, r.rttIdle.best/r.rtt0.best,
		num(r.heapInuse), num(r.heapAlloc), num(r.stack), r.rss)
}

func (r *result) summary(label string) string {
	return fmt.Sprintf("%s: %v CPU/msg (%.0f msg/s at %d conns); %.0f rt/s at 0 idle (%.0f before, %.0f after; p99 %v), %.0f at %d idle (p99 %v), ratio %.3f; heap %s B, RSS %.0f B per idle conn",
		label, r.cpuPerMsg, r.msgsPerSec, *nconns, r.rtt0.perSec, r.rtt0Before, r.rtt0After, r.rtt0.p99,
		r.rttIdle.perSec, *nidle, r.rttIdle.p99, r.rttIdle.perSec/r.rtt0.perSec, num(r.heapInuse), r.rss)
}

func measureIdle(t *target, msg []byte) error {
	res, srv, port := &t.res, t.srv, t.port
	res.heapInuse, res.heapAlloc, res.stack = math.NaN(), math.NaN(), math.NaN()
	fd, err := dial(port)
	if err != nil {
		return err
	}
	defer reset(fd)
	lat := make([]time.Duration, 0, 1<<21)
	if _, err := roundTrips(fd, msg, *warmup, lat); err != nil {
		return err
	}
	if res.rtt0, err = roundTrips(fd, msg, *rttTime, lat); err != nil {
		return err
	}

	var h0, h1 heapInfo
	if t.heap {
		if h0, err = srv.heap(); err != nil {
			return err
		}
	}
	rss0, err := rss(srv.pid())
	if err != nil {
		return err
	}
	idle, err := openIdle(port, *nidle)
	defer func() {
		for _, fd := range idle {
			reset(fd)
		}
	}()
	if err != nil {
		return fmt.Errorf("idle connections: %w", err)
	}
	if t.heap {
		if h1, err = srv.heap(); err != nil {
			return err
		}
		per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(len(idle)) }
		res.heapInuse = per(h0.inuse, h1.inuse)
		res.heapAlloc = per(h0.alloc, h1.alloc)
		res.stack = per(h0.stack, h1.stack)
	}
	rss1, err := rss(srv.pid())
	if err != nil {
		return err
	}
	res.rss = (float64(rss1) - float64(rss0)) / float64(len(idle))

	if _, err := roundTrips(fd, msg, *warmup, lat); err != nil {
		return err
	}
	if res.rttIdle, err = roundTrips(fd, msg, *rttTime, lat); err != nil {
		return err
	}

	for _, fd := range idle {
		reset(fd)
	}
	idle = nil
	if err := settle(srv.pid()); err != nil {
		return err
	}
	if _, err := roundTrips(fd, msg, *warmup, lat); err != nil {
		return err
	}
	after, err := roundTrips(fd, msg, *rttTime, lat)
	if err != nil {
		return err
	}
	res.rtt0Before, res.rtt0After = res.rtt0.perSec, after.perSec
	res.rtt0.perSec = (res.rtt0.perSec + after.perSec) / 2
	res.rtt0.best = (res.rtt0.best + after.best) / 2
	res.rtt0.p50 = (res.rtt0.p50 + after.p50) / 2
	res.rtt0.p99 = (res.rtt0.p99 + after.p99) / 2
	return nil
}

// settle waits, for at most 10 s, until the server uses less than a tenth
// of a core over 200 ms.
func settle(pid int) error {
	prev, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		now, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		if now-prev <= 2 {
			return nil
		}
		prev = now
	}
	return nil
}

// roundTrips writes msg on the blocking connection fd and reads it back,
// again and again for d.
func roundTrips(fd int, msg []byte, d time.Duration, lat []time.Duration) (stats, error) {
	buf := make([]byte, len(msg))
	lat = lat[:0]
	n := 0
	start := time.Now()
	prev := start
	// The best tenth: other work on the machine only ever slows round
	// trips down, so the fastest stretch is the one it touched least.
	var best float64
	tenth, tenthStart, tenthN := d/10, start, 0
	for {
		if err := writeAll(fd, msg); err != nil {
			return stats{}, err
		}
		if err := readFull(fd, buf); err != nil {
			return stats{}, err
		}
		n++
		tenthN++
		now := time.Now()
		if el := now.Sub(tenthStart); el >= tenth {
			best = max(best, float64(tenthN)/el.Seconds())
			tenthStart, tenthN = now, 0
		}
		if len(lat) < cap(lat) {
			lat = append(lat, now.Sub(prev))
		}
		prev = now
		if now.Sub(start) >= d {
			break
		}
	}
	s := stats{perSec: float64(n) / prev.Sub(start).Seconds(), best: best, n: int64(n), dur: prev.Sub(start)}
	slices.Sort(lat)
	s.p50 = lat[len(lat)/2]
	s.p99 = lat[len(lat)*99/100]
	return s, nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		b = b[n:]
	}
	return nil
}

func readFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		b = b[n:]
	}
	return nil
}

// many is a set of non-blocking connections doing ping-pong under one
// epoll set: each has one message in flight and sends the next once the
// echo is complete.
type many struct {
	ep  int
	fds []int
	got []int
	msg []byte
	buf []byte
	ev  []unix.EpollEvent
}

func openMany(port, n int, msg []byte) (*many, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	m := &many{ep: ep, got: make([]int, n), msg: msg, buf: make([]byte, len(msg)), ev: make([]unix.EpollEvent, n)}
	for i := range n {
		fd, err := dial(port)
		if err != nil {
			m.close()
			return nil, err
		}
		m.fds = append(m.fds, fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			m.close()
			return nil, err
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			m.close()
			return nil, err
		}
	}
	for _, fd := range m.fds {
		if err := writeAll(fd, msg); err != nil {
			m.close()
			return nil, err
		}
	}
	return m, nil
}

// run goes on for d and returns the messages echoed meanwhile.
func (m *many) run(d time.Duration) (int64, error) {
	var count int64
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		n, err := unix.EpollWait(m.ep, m.ev, 10000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return count, err
		}
		if n == 0 {
			return count, errors.New("no echo for 10 s")
		}
		for _, e := range m.ev[:n] {
			i := int(e.Fd)
			fd := m.fds[i]
			r, err := unix.Read(fd, m.buf[:len(m.msg)-m.got[i]])
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil {
				return count, fmt.Errorf("read: %w", err)
			}
			if r == 0 {
				return count, io.ErrUnexpectedEOF
			}
			m.got[i] += r
			if m.got[i] == len(m.msg) {
				m.got[i] = 0
				count++
				if _, err := unix.Write(fd, m.msg); err != nil {
					return count, fmt.Errorf("write: %w", err)
				}
			}
		}
	}
	return count, nil
}

func (m *many) close() {
	for _, fd := range m.fds {
		reset(fd)
	}
	unix.Close(m.ep)
}

// openIdle opens n connections, each checked with a one-byte echo, a few
// at a time (a server's accept queue may be short).
func openIdle(port, n int) ([]int, error) {
	const workers = 16
	fds := make([]int, 0, n)
	var (
		mu       sync.Mutex
		next     atomic.Int64
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := []byte{'i'}
			for next.Add(1) <= int64(n) {
				fd, err := dial(port)
				if err == nil {
					if err = writeAll(fd, b); err == nil {
						err = readFull(fd, b)
					}
					if err != nil {
						reset(fd)
					}
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					next.Store(int64(n))
				} else {
					fds = append(fds, fd)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return fds, firstErr
}

// dial connects to 127.0.0.1:port and returns a blocking socket with
// TCP_NODELAY, whose reads and writes fail after 10 s without progress.
func dial(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if err == unix.EINPROGRESS {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		for {
			var n int
			n, err = unix.Poll(pfd, 10000)
			if err == unix.EINTR {
				continue
			}
			if err == nil && n == 0 {
				err = unix.ETIMEDOUT
			}
			break
		}
		if err == nil {
			var soerr int
			soerr, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err == nil && soerr != 0 {
				err = syscall.Errno(soerr)
			}
		}
	}
	if err == nil {
		err = unix.SetNonblock(fd, false)
	}
	if err == nil {
		tv := unix.Timeval{Sec: 10}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect: %w", err)
	}
	return fd, nil
}

// reset closes fd with a TCP reset, leaving no TIME_WAIT behind.
func reset(fd int) {
	unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fd)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func raiseNofile(need int) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("the limit of open descriptors is %d, below the %d needed (ulimit -Hn)", lim.Cur, need)
	}
	return nil
}

// cpuTicks returns the process's utime+stime, in USER_HZ ticks.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return u + st, nil
}

// rss returns the process's resident memory in bytes.
func rss(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	exit  chan struct{}
}

type heapInfo struct{ inuse, alloc, stack uint64 }

func start(args []string, port int) (*server, error) {
	cmd := exec.Command(args[0], append(args[1:], strconv.Itoa(port))...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin, lines: make(chan string, 16), exit: make(chan struct{})}
	go func() {
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	go func() {
		cmd.Wait()
		close(s.exit)
	}()
	if _, err := s.expect("READY", *readyWait); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// expect waits for a line starting with prefix and returns it.
func (s *server) expect(prefix string, d time.Duration) (string, error) {
	timeout := time.After(d)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return "", fmt.Errorf("server exited before printing %s", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line, nil
			}
		case <-timeout:
			return "", fmt.Errorf("no %s from the server within %v", prefix, d)
		}
	}
}

func (s *server) heap() (heapInfo, error) {
	if _, err := io.WriteString(s.stdin, "heap\n"); err != nil {
		return heapInfo{}, err
	}
	line, err := s.expect("HEAP ", 30*time.Second)
	if err != nil {
		return heapInfo{}, err
	}
	var h heapInfo
	for _, kv := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "inuse":
			h.inuse = n
		case "alloc":
			h.alloc = n
		case "stack":
			h.stack = n
		}
	}
	return h, nil
}

// stop sends SIGTERM and returns the exit code; a server that has not
// exited after 10 s is killed (code -1).
func (s *server) stop() int {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exit
		return -1
	}
	s.stdin.Close()
	return s.cmd.ProcessState.ExitCode()
}
