package reactor_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// soakSize is how much TestSoak does per backend: a second or two in all
// by default, about a minute with LOOM_SOAK=long.
type soakSize struct {
	units     int // descriptor pairs, each watched until it removes itself
	live      int // pairs open at once
	callers   int // goroutines flooding CallFromGoroutine
	calls     int // calls each
	signals   int // SIGWINCHs sent to the process
	timeLimit time.Duration
}

func soakSizes() soakSize {
	if os.Getenv("LOOM_SOAK") == "long" {
		return soakSize{units: 600000, live: 4000, callers: 8, calls: 1500000, signals: 5000, timeLimit: 10 * time.Minute}
	}
	return soakSize{units: 10000, live: 1000, callers: 4, calls: 20000, signals: 50, timeLimit: time.Minute}
}

// soakUnit is one pipe or socket pair. A pipe's read end is watched
// while a flooding goroutine writes the unit's number twice; its reader
// takes what arrives, removes and re-adds itself after the first
// message, and removes itself and closes the pair after the second. A
// socket pair's one end gets a writer that writes the two messages and
// removes itself, the other a reader as the pipe's.
type soakUnit struct {
	id       uint64
	rd, wr   int
	socket   bool
	got      []byte
	readded  bool
	done     bool
	calls    int
	wrCalled int
}

// TestSoak: thousands of descriptors registering, becoming ready and
// removing themselves from their own callbacks, under every backend,
// while goroutines flood CallFromGoroutine and SIGWINCH arrives through
// OnSignal. Nothing may be lost or run twice, and no descriptor or
// goroutine may be left behind.
func TestSoak(t *testing.T) {
	size := soakSizes()
	for _, backend := range reactor.Backends() {
		t.Run(backend, func(t *testing.T) { soak(t, backend, size) })
	}
}

func soak(t *testing.T, backend string, size soakSize) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithBackend(backend))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), size.timeLimit)
	defer cancel()

	var (
		units    []*soakUnit
		started  int
		finished int
		mu       sync.Mutex // problems come from the callers too
		problems []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}

	// The flood: each caller sends its calls in order, and writes the
	// messages of the pipe units handed to it.
	pipes := make(chan *soakUnit, size.live)
	received := make([]int, size.callers)
	var flood sync.WaitGroup
	for c := range size.callers {
		flood.Add(1)
		go func() {
			defer flood.Done()
			msg := make([]byte, 8)
			for i := 1; i <= size.calls; i++ {
				r.CallFromGoroutine(func() {
					if received[c] != i-1 {
						problem("caller %d: call %d after %d", c, i, received[c])
					}
					received[c] = i
				})
				select {
				case u := <-pipes:
					binary.LittleEndian.PutUint64(msg, u.id)
					for range 2 {
						if _, err := unix.Write(u.wr, msg); err != nil {
							problem("unit %d: write: %v", u.id, err)
						}
					}
				case <-ctx.Done():
					return
				default:
				}
			}
			// The callers may finish before the last units start.
			for {
				select {
				case u := <-pipes:
					binary.LittleEndian.PutUint64(msg, u.id)
					for range 2 {
						if _, err := unix.Write(u.wr, msg); err != nil {
							problem("unit %d: write: %v", u.id, err)
						}
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	defer flood.Wait()
	defer cancel() // ends the callers, after the run

	// Signals, and the check that the last one is not lost: a handler
	// run after the last kill sees sent == size.signals.
	var sent atomic.Int64
	handled, lastSeen := 0, false
	stopSignals := r.OnSignal(syscall.SIGWINCH, func() {
		handled++
		if sent.Load() == int64(size.signals) {
			lastSeen = true
		}
	})
	defer stopSignals()
	var signaller sync.WaitGroup
	signaller.Add(1)
	go func() {
		defer signaller.Done()
		for range size.signals {
			sent.Add(1)
			syscall.Kill(os.Getpid(), syscall.SIGWINCH)
			time.Sleep(time.Millisecond)
		}
	}()
	defer signaller.Wait()

	check := func() {
		if finished < size.units || !lastSeen {
			return
		}
		for c := range size.callers {
			if received[c] < size.calls {
				return
			}
		}
		r.Stop()
	}

	var startMore func()
	reader := func(u *soakUnit) func() {
		var f func()
		f = func() {
			u.calls++
			if u.done {
				problem("unit %d: reader called after it removed itself", u.id)
				return
			}
			var buf [32]byte
			n, err := unix.Read(u.rd, buf[:])
			if err == unix.EAGAIN {
				return // level-triggered: a report from before a read
			}
			if err != nil || n == 0 {
				problem("unit %d: read %d, %v", u.id, n, err)
				return
			}
			u.got = append(u.got, buf[:n]...)
			if len(u.got) >= 8 && len(u.got) < 16 && !u.readded {
				u.readded = true
				r.RemoveReader(u.rd)
				if err := r.AddReader(u.rd, f); err != nil {
					problem("unit %d: re-add: %v", u.id, err)
				}
				return
			}
			if len(u.got) < 16 {
				return
			}
			want := make([]byte, 16)
			binary.LittleEndian.PutUint64(want, u.id)
			binary.LittleEndian.PutUint64(want[8:], u.id)
			if string(u.got) != string(want) {
				problem("unit %d: got %x, want %x", u.id, u.got, want)
			}
			u.done = true
			r.RemoveReader(u.rd)
			unix.Close(u.rd)
			unix.Close(u.wr)
			finished++
			startMore()
			check()
		}
		return f
	}
	startMore = func() {
		// Every other group of size.live units is a wave: it starts
		// whole once everything before it is done, so the watched set
		// grows by hundreds at once, then shrinks to nothing by hundreds
		// a pass. The other groups refill as units finish.
		if (started/size.live)%2 == 1 && started%size.live == 0 && finished < started {
			return
		}
		for started < size.units && started-finished < size.live {
			u := &soakUnit{id: uint64(started), socket: started%3 == 0}
			mk := nonblockingPipe
			if u.socket {
				mk = nonblockingSocketpair
			}
			var err error
			if u.rd, u.wr, err = mk(); err != nil {
				t.Fatal(err)
			}
			units = append(units, u)
			started++
			if err := r.AddReader(u.rd, reader(u)); err != nil {
				t.Fatal(err)
			}
			if !u.socket {
				pipes <- u // room: at most size.live units are waiting
				continue
			}
			err = r.AddWriter(u.wr, func() {
				u.wrCalled++
				if u.wrCalled > 1 {
					problem("unit %d: writer called after it removed itself", u.id)
					return
				}
				msg := make([]byte, 16)
				binary.LittleEndian.PutUint64(msg, u.id)
				binary.LittleEndian.PutUint64(msg[8:], u.id)
				r.RemoveWriter(u.wr)
				if _, err := unix.Write(u.wr, msg); err != nil {
					problem("unit %d: write: %v", u.id, err)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	r.CallSoon(startMore)
	// The last signal may come after everything else is done.
	var poll func()
	poll = func() {
		check()
		if !r.Stopped() {
			r.CallLater(10*time.Millisecond, poll)
		}
	}
	r.CallLater(10*time.Millisecond, poll)

	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run: %v (finished %d of %d units, calls %v of %d, signals %d handled, last seen %v)",
			err, finished, size.units, received, size.calls, handled, lastSeen)
	}
	mu.Lock()
	for _, p := range problems {
		t.Error(p)
	}
	mu.Unlock()
	if handled == 0 || handled > size.signals {
		t.Errorf("%d SIGWINCH handled for %d sent", handled, size.signals)
	}
	if n := r.Watched(); n != 0 {
		t.Errorf("%d descriptors still watched", n)
	}
	for _, u := range units {
		if !u.done {
			t.Errorf("unit %d not done", u.id)
			unix.Close(u.rd)
			unix.Close(u.wr)
		}
	}
	t.Logf("%s: %d units, %d calls from %d goroutines, %d of %d signals handled",
		backend, size.units, size.callers*size.calls, size.callers, handled, size.signals)
}
