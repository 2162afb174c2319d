package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The phases -skip leaves out.
var runCPU, runRTT = true, true

// measureOne runs the one-connection phases: -sporadic, -spaced and
// -syscalls. Each server gets one connection of its own, opened first.
func measureOne(targets []*target, msg []byte) error {
	for _, t := range targets {
		fd, err := dial(t.port)
		if err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		t.one = fd
		t.lat1 = make([]time.Duration, 0, 1<<20)
		if _, err := roundTrips(fd, msg, *warmup, t.lat1); err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
	}
	defer func() {
		for _, t := range targets {
			reset(t.one)
		}
	}()
	if *sporadic {
		if err := measureSporadic(targets, msg); err != nil {
			return err
		}
	}
	if *spaced > 0 {
		if err := measureSpaced(targets, msg); err != nil {
			return err
		}
	}
	if *sysCount {
		measureSyscalls(targets, msg)
	}
	return nil
}

// measureSporadic: ping-pong on one connection, so that every message is
// a wakeup of the server, the servers taking turns as in phase 1; server
// CPU over its turns divided by the round trips made meanwhile.
func measureSporadic(targets []*target, msg []byte) error {
	for _, t := range targets {
		t.cpu1, t.n1, t.dur1, t.tick1 = 0, 0, 0, 0
	}
	lat := make([]time.Duration, 0, 1<<20)
	for s := range *nslices {
		for j := range targets {
			t := targets[(s+j)%len(targets)]
			if _, err := roundTrips(t.one, msg, *slice/5, lat); err != nil {
				return fmt.Errorf("%s: %w", t.label, err)
			}
			c0, k0, err := cpuSample(t.srv.pid())
			if err != nil {
				return err
			}
			st, err := roundTrips(t.one, msg, *slice, lat)
			if err != nil {
				return fmt.Errorf("%s: %w", t.label, err)
			}
			c1, k1, err := cpuSample(t.srv.pid())
			if err != nil {
				return err
			}
			t.cpu1 += cpuDelta(c0, c1)
			t.tick1 += k1 - k0
			t.n1 += st.n
			t.dur1 += st.dur
		}
	}
	for _, t := range targets {
		per := float64(t.cpu1) / float64(t.n1)
		perTicks := float64(t.tick1) * float64(time.Second/userHZ) / float64(t.n1)
		t.res.one = append(t.res.one,
			fmt.Sprintf("sporadic_cpu_ns_per_msg=%.0f", per),
			fmt.Sprintf("sporadic_cpu_stat_ns_per_msg=%.0f", perTicks),
			fmt.Sprintf("sporadic_msgs_per_s=%.0f", float64(t.n1)/t.dur1.Seconds()))
		fmt.Fprintf(os.Stderr, "%s: sporadic %.2f µs CPU per round trip (%.2f µs from /proc/PID/stat ticks), %.0f round trips/s\n",
			t.label, per/1e3, perTicks/1e3, float64(t.n1)/t.dur1.Seconds())
	}
	return nil
}

// measureSpaced: one message every -spaced on one connection (the client
// sleeps until the next multiple of the interval), so that the server
// sleeps between events; the servers take -slices turns of
// -spaced-time/-slices each. Server CPU over the turns divided by the
// events, and the round trips' percentiles.
func measureSpaced(targets []*target, msg []byte) error {
	for _, t := range targets {
		t.cpu1, t.n1, t.lat1 = 0, 0, t.lat1[:0]
	}
	turn := *spacedFor / time.Duration(*nslices)
	for s := range *nslices {
		for j := range targets {
			t := targets[(s+j)%len(targets)]
			if _, err := spacedEvents(t.one, msg, *spaced, 10**spaced, nil); err != nil {
				return fmt.Errorf("%s: %w", t.label, err)
			}
			c0, _, err := cpuSample(t.srv.pid())
			if err != nil {
				return err
			}
			n, err := spacedEvents(t.one, msg, *spaced, turn, &t.lat1)
			if err != nil {
				return fmt.Errorf("%s: %w", t.label, err)
			}
			c1, _, err := cpuSample(t.srv.pid())
			if err != nil {
				return err
			}
			t.cpu1 += cpuDelta(c0, c1)
			t.n1 += n
		}
	}
	for _, t := range targets {
		lat := t.lat1
		slices.Sort(lat)
		per := float64(t.cpu1) / float64(t.n1)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		t.res.one = append(t.res.one,
			fmt.Sprintf("spaced_interval_ns=%d", spaced.Nanoseconds()),
			fmt.Sprintf("spaced_events=%d", t.n1),
			fmt.Sprintf("spaced_cpu_ns_per_msg=%.0f", per),
			fmt.Sprintf("spaced_p50_ns=%d", p50.Nanoseconds()),
			fmt.Sprintf("spaced_p99_ns=%d", p99.Nanoseconds()))
		fmt.Fprintf(os.Stderr, "%s: spaced %v apart: %.2f µs CPU per event (%d events), round trip p50 %v p99 %v\n",
			t.label, *spaced, per/1e3, t.n1, p50, p99)
	}
	return nil
}

// spacedEvents sends msg on the blocking connection fd and reads its echo,
// then sleeps until the next multiple of interval (CLOCK_MONOTONIC, an
// absolute clock_nanosleep), again and again for d. It appends each round
// trip to *lat (if lat is not nil) and returns the number of events.
func spacedEvents(fd int, msg []byte, interval, d time.Duration, lat *[]time.Duration) (int64, error) {
	buf := make([]byte, len(msg))
	var n int64
	iv := interval.Nanoseconds()
	end := time.Now().Add(d)
	for {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			return n, err
		}
		next := unix.NsecToTimespec((ts.Nano()/iv + 1) * iv)
		for {
			err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &next, nil)
			if err != unix.EINTR {
				break
			}
		}
		t0 := time.Now()
		if !t0.Before(end) {
			return n, nil
		}
		if err := writeAll(fd, msg); err != nil {
			return n, err
		}
		if err := readFull(fd, buf); err != nil {
			return n, err
		}
		if lat != nil {
			*lat = append(*lat, time.Since(t0))
		}
		n++
	}
}

// cpuSample returns the CPU time of each thread of the process, from
// /proc/PID/task/TID/schedstat (nanoseconds, where utime+stime come in
// 10 ms ticks, too coarse for a few thousand events), and the process's
// utime+stime ticks.
func cpuSample(pid int) (map[int]uint64, uint64, error) {
	ticks, err := cpuTicks(pid)
	if err != nil {
		return nil, 0, err
	}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	m := make(map[int]uint64, len(ents))
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread has exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%s/%s/schedstat: %q", dir, e.Name(), b)
		}
		m[tid] = ns
	}
	return m, ticks, nil
}

// cpuDelta is the CPU the threads of b used since a; a thread that exited
// in between loses its last stretch, one born counts whole.
func cpuDelta(a, b map[int]uint64) time.Duration {
	var d uint64
	for tid, v := range b {
		if v >= a[tid] {
			d += v - a[tid]
		}
	}
	return time.Duration(d)
}

// sysEvents are the tracepoints counted by -syscalls, each reported as
// sys_NAME_per_msg (total: every system call).
var sysEvents = []struct{ name, event string }{
	{"total", "raw_syscalls:sys_enter"},
	{"futex", "syscalls:sys_enter_futex"},
	{"epoll_wait", "syscalls:sys_enter_epoll_wait"},
	{"epoll_pwait", "syscalls:sys_enter_epoll_pwait"},
	{"read", "syscalls:sys_enter_read"},
	{"write", "syscalls:sys_enter_write"},
	{"poll", "syscalls:sys_enter_poll"},
	{"ppoll", "syscalls:sys_enter_ppoll"},
	{"recvmsg", "syscalls:sys_enter_recvmsg"},
	{"nanosleep", "syscalls:sys_enter_nanosleep"},
	{"sched_yield", "syscalls:sys_enter_sched_yield"},
}

// measureSyscalls counts each server's system calls per round trip on one
// connection: perf stat attached to the server, its counters enabled
// through its control descriptor once attached (and disabled before it
// stops), ping-pong for -syscalls-time while they count. The same
// ping-pong without perf, before and after, tells what perf costs. With
// no perf, or one that cannot count, it warns and reports nothing.
func measureSyscalls(targets []*target, msg []byte) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		fmt.Fprintln(os.Stderr, "load: WARNING: no perf (Debian's linux-perf): system calls not counted")
		return
	}
	have := map[string]bool{}
	if out, err := exec.Command(perf, "list", "tracepoint").Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			have[f] = true
		}
	}
	var events []string
	var names []string
	for _, e := range sysEvents {
		if have[e.event] {
			events = append(events, e.event)
			names = append(names, e.name)
		}
	}
	if len(events) == 0 || events[0] != sysEvents[0].event {
		fmt.Fprintln(os.Stderr, "load: WARNING: perf lists no raw_syscalls:sys_enter tracepoint (tracefs not mounted, or no permission): system calls not counted")
		return
	}
	lat := make([]time.Duration, 0, 1<<20)
	for _, t := range targets {
		if _, err := roundTrips(t.one, msg, *warmup, lat); err != nil {
			fmt.Fprintf(os.Stderr, "load: WARNING: %s: %v: system calls not counted\n", t.label, err)
			continue
		}
		before, err1 := roundTrips(t.one, msg, *sysFor, lat)
		counts, during, err2 := perfCount(perf, t.srv.pid(), events, func() (stats, error) {
			return roundTrips(t.one, msg, *sysFor, lat)
		})
		after, err3 := roundTrips(t.one, msg, *sysFor, lat)
		if err := errors.Join(err1, err2, err3); err != nil {
			fmt.Fprintf(os.Stderr, "load: WARNING: %s: %v: system calls not counted\n", t.label, err)
			continue
		}
		// What perf costs: the median round trip under perf against the
		// mean of those before and after (a median, which other work's
		// bursts on the machine move less than a rate).
		base := (before.perSec + after.perSec) / 2
		p50 := float64(before.p50+after.p50) / 2
		slow := float64(during.p50)/p50 - 1
		t.res.one = append(t.res.one, fmt.Sprintf("sys_msgs=%d", during.n), fmt.Sprintf("sys_perf_slowdown=%.3f", slow),
			fmt.Sprintf("sys_perf_rate_ratio=%.3f", during.perSec/base))
		line := fmt.Sprintf("%s: system calls per round trip (%d round trips; median round trip %v under perf, %v without: %+.1f%%; %.0f/s under perf, %.0f/s without):",
			t.label, during.n, during.p50, time.Duration(p50), 100*slow, during.perSec, base)
		var listed uint64
		for i, name := range names {
			c, ok := counts[events[i]]
			if !ok {
				continue
			}
			per := float64(c) / float64(during.n)
			t.res.one = append(t.res.one, fmt.Sprintf("sys_%s_per_msg=%.3f", name, per))
			if c > 0 {
				line += fmt.Sprintf(" %s %.2f", name, per)
			}
			if i > 0 {
				listed += c
			}
		}
		if other := float64(counts[events[0]]) - float64(listed); len(names) == len(sysEvents) {
			t.res.one = append(t.res.one, fmt.Sprintf("sys_other_per_msg=%.3f", other/float64(during.n)))
			line += fmt.Sprintf(" other %.2f", other/float64(during.n))
		}
		fmt.Fprintln(os.Stderr, line)
	}
}

// perfCount attaches perf stat to pid with its counters disabled, enables
// them, runs work, disables them and returns the counts by event (those
// perf could count) and what work returned.
func perfCount(perf string, pid int, events []string, work func() (stats, error)) (map[string]uint64, stats, error) {
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, stats{}, err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, stats{}, err
	}
	out, err := os.CreateTemp("", "load-perf-*.csv")
	if err != nil {
		return nil, stats{}, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command(perf, "stat", "-x,", "--no-big-num", "-D", "-1", "--control", "fd:3,4",
		"-o", out.Name(), "-e", strings.Join(events, ","), "-p", strconv.Itoa(pid))
	cmd.ExtraFiles = []*os.File{ctlR, ackW}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Start()
	ctlR.Close()
	ackW.Close()
	defer ctlW.Close()
	defer ackR.Close()
	if err != nil {
		return nil, stats{}, err
	}
	done := false
	defer func() {
		if !done {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	ack := bufio.NewReader(ackR)
	command := func(c string) error {
		if _, err := ctlW.WriteString(c + "\n"); err != nil {
			return fmt.Errorf("perf %s: %w", c, err)
		}
		ackR.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := ack.ReadString('\n')
		if err != nil {
			return fmt.Errorf("perf %s: no ack (%v): %s", c, err, strings.TrimSpace(stderr.String()))
		}
		// perf writes "ack\n" and a NUL, which begins the next read.
		if !strings.HasPrefix(strings.TrimLeft(line, "\x00"), "ack") {
			return fmt.Errorf("perf %s: %q", c, line)
		}
		return nil
	}
	if err := command("enable"); err != nil {
		return nil, stats{}, err
	}
	st, werr := work()
	if err := command("disable"); err != nil {
		return nil, stats{}, err
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	done = true
	if werr != nil {
		return nil, stats{}, werr
	}
	// perf stat prints its counts on SIGINT, then dies of it.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); err != nil && !(ok && ws.Signaled() && ws.Signal() == syscall.SIGINT) {
		return nil, stats{}, fmt.Errorf("perf stat: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, stats{}, err
	}
	// CSV lines: count,unit,event,run time,percentage,...
	counts := map[string]uint64{}
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			counts[f[2]] = n
		}
	}
	if _, ok := counts[events[0]]; !ok {
		return nil, stats{}, fmt.Errorf("perf stat counted nothing: %s", strings.TrimSpace(string(b)))
	}
	return counts, st, nil
}
