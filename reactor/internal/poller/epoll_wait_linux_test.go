package poller

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitUntil spins until the poller's reactor side is in the given state.
func waitUntil(t *testing.T, p *epoll, state int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.state.Load() != state {
		if time.Now().After(deadline) {
			t.Fatalf("the wait never reached state %d (at %d)", state, p.state.Load())
		}
		time.Sleep(10 * time.Microsecond)
	}
}

func openTestEpoll(t *testing.T) *epoll {
	t.Helper()
	pp, err := openEpoll()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pp.Close() })
	p := pp.(*epoll)
	if p.rc == nil {
		t.Skip("the runtime does not poll epoll descriptors here")
	}
	return p
}

// busy makes the next wait start in the kernel: a wait ended by a
// descriptor within kernelWindow.
func makeBusy(t *testing.T, p *epoll) {
	t.Helper()
	r, w := testPipe(t)
	if err := p.Add(r, Readable); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		unix.Write(w, []byte("x"))
		waitAll(t, p, -1)
		var b [1]byte
		unix.Read(r, b[:])
		if p.busy {
			break
		}
	}
	p.Delete(r)
	if !p.busy {
		t.Fatal("a descriptor ready at once never made the poller busy")
	}
}

// A Wake from another goroutine ends a Wait however it waits: parked in
// the runtime's netpoller (the deadline), blocked in the kernel (the
// eventfd), or not yet waiting (the flag); and it is consumed: the
// next Wait blocks again.
func TestEpollWakeEndsEveryWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, *epoll)
		state int32
	}{
		{"parked", func(*testing.T, *epoll) {}, parked},
		{"in the kernel", makeBusy, inKernel},
		{"before the wait", func(t *testing.T, p *epoll) { p.Wake() }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openTestEpoll(t)
			tc.setup(t, p)
			woke := make(chan struct{})
			if tc.state >= 0 {
				go func() { waitUntil(t, p, tc.state); p.Wake(); close(woke) }()
			} else {
				close(woke)
			}
			start := time.Now()
			if ev := waitAll(t, p, 10*time.Second); len(ev) != 0 {
				t.Fatalf("a wakeup reported events %v", ev)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("the wakeup took %v", d)
			}
			// Consumed: the next wait times out. (An eventfd write that
			// came after the wait had ended on the flag is left over, a
			// harmless early return; drain it first.)
			<-woke
			if p.woken.Load() {
				t.Fatal("the wait returned without consuming the wakeup")
			}
			waitAll(t, p, 0)
			start = time.Now()
			waitAll(t, p, 30*time.Millisecond)
			if d := time.Since(start); d < 30*time.Millisecond {
				t.Fatalf("the wait after a consumed wakeup returned after %v", d)
			}
		})
	}
}

// A wait that begins in the kernel goes back to parking once
// kernelWindow passes with nothing ready, and a descriptor still wakes
// it there.
func TestEpollBusyWaitParksWhenQuiet(t *testing.T) {
	p := openTestEpoll(t)
	makeBusy(t, p)
	r, w := testPipe(t)
	if err := p.Add(r, Readable); err != nil {
		t.Fatal(err)
	}
	go func() {
		waitUntil(t, p, inKernel)
		waitUntil(t, p, parked)
		unix.Write(w, []byte("x"))
	}()
	ev := waitAll(t, p, 10*time.Second)
	if len(ev) != 1 || int(ev[0].FD) != r || ev[0].Events&Readable == 0 {
		t.Fatalf("events %v, want %d readable", ev, r)
	}
}

// No wakeup is lost, whenever it comes: many Wakes racing with the
// waits. A Wake may be consumed by a Wait that was returning anyway (with
// events), as the contract allows; one that starts after a Wait has
// returned must end the next.
func TestEpollWakeRacesWithWait(t *testing.T) {
	p := openTestEpoll(t)
	r, w := testPipe(t)
	if err := p.Add(r, Readable); err != nil {
		t.Fatal(err)
	}
	n := 5000
	if testing.Short() {
		n = 500
	}
	woke := make(chan struct{})
	var started atomic.Int64 // Wakes begun
	go func() {
		for i := range n {
			<-woke
			if i%7 == 0 {
				// Sometimes a descriptor instead, so the kernel and the
				// parked wait both get their share.
				unix.Write(w, []byte("x"))
			}
			if i%3 != 0 {
				time.Sleep(time.Duration(i%50) * time.Microsecond)
			}
			started.Add(1)
			p.Wake()
		}
	}()
	var b [64]byte
	for i := range n {
		woke <- struct{}{}
		start := time.Now()
		for {
			ev := waitAll(t, p, 5*time.Second)
			if len(ev) > 0 {
				unix.Read(r, b[:])
			}
			if started.Load() > int64(i) {
				break // this Wake had begun before the wait returned
			}
		}
		if time.Since(start) > 4*time.Second {
			t.Fatal("a wakeup was lost")
		}
	}
}

// A Wake that comes before FD is asked for (the reactor embedded only
// later) still makes FD readable.
func TestEpollWakeBeforeFD(t *testing.T) {
	p := openTestEpoll(t)
	p.Wake()
	fd, err := p.FD()
	if err != nil {
		t.Fatal(err)
	}
	if !readableWithin(fd, 1000) {
		t.Fatal("FD is not readable after a Wake that came before it")
	}
	waitAll(t, p, 0)
	if readableWithin(fd, 0) {
		t.Fatal("FD is still readable after the wakeup was consumed")
	}
}
