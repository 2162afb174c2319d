package poller

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func readableWithin(fd int, ms int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, ms)
		if err != unix.EINTR {
			return err == nil && n > 0
		}
	}
}

func waitAll(t *testing.T, p Poller, timeout time.Duration) []Event {
	t.Helper()
	events := make([]Event, 64)
	n, err := p.Wait(events, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return events[:n]
}

// leftover registers a pipe's read end, makes it readable, copies it,
// closes it and deletes it: the kernel keeps the registration through
// the copy. It returns the number the registration was under.
func leftover(t *testing.T, p Poller) int {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	rd, wr := fds[0], fds[1]
	cp, err := unix.Dup(rd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(cp); unix.Close(wr) })
	if err := p.Add(rd, Readable); err != nil {
		t.Fatal(err)
	}
	unix.Write(wr, []byte("x"))
	unix.Close(rd)
	p.Delete(rd)
	return rd
}

// A leftover registration (its number closed, its file open through a
// copy) is never reported after Delete, the set is rebuilt without it,
// and everything else stays registered: the other descriptors go on
// being reported, FD keeps its number and its meaning, and a parked
// wait still wakes.
func TestEpollRebuildDropsLeftovers(t *testing.T) {
	p, err := openEpoll()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := p.(*epoll)
	fd, err := p.FD()
	if err != nil {
		t.Fatal(err)
	}
	other, otherW := testPipe(t)
	if err := p.Add(other, Readable); err != nil {
		t.Fatal(err)
	}
	unix.Write(otherW, []byte("x"))
	before := e.ep
	gone := leftover(t, p)
	for range 3 {
		for _, ev := range waitAll(t, p, 0) {
			if int(ev.FD) == gone {
				t.Fatalf("fd %d reported after Delete", gone)
			}
		}
	}
	if e.ep == before {
		t.Fatal("the set was not rebuilt")
	}
	if got, _ := p.FD(); got != fd {
		t.Fatalf("FD changed from %d to %d", fd, got)
	}
	// Everything else is still there.
	if evs := waitAll(t, p, 0); len(evs) != 1 || int(evs[0].FD) != other {
		t.Fatalf("after the rebuild: %v, want fd %d readable", evs, other)
	}
	if !readableWithin(fd, 0) {
		t.Fatal("FD not readable with a descriptor ready")
	}
	var buf [8]byte
	unix.Read(other, buf[:])
	if evs := waitAll(t, p, 0); len(evs) != 0 {
		t.Fatalf("nothing ready, Wait reported %v", evs)
	}
	if readableWithin(fd, 20) {
		t.Fatal("FD readable with nothing ready")
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		p.Wake()
	}()
	if !readableWithin(fd, 5000) {
		t.Fatal("FD not readable after Wake")
	}
	start := time.Now()
	if evs := waitAll(t, p, 10*time.Second); len(evs) != 0 {
		t.Fatalf("a wakeup reported as %v", evs)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		p.Wake()
	}()
	waitAll(t, p, 10*time.Second) // parked in the runtime on the new set
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a parked Wait took %v to see Wake", d)
	}
	unix.Write(otherW, []byte("x"))
	if evs := waitAll(t, p, 10*time.Second); len(evs) != 1 || int(evs[0].FD) != other {
		t.Fatalf("parked Wait: %v, want fd %d readable", evs, other)
	}
}

// A recorded descriptor the rebuild cannot register again (closed
// without Delete) is reported once as Invalid, and not after a Delete.
func TestEpollRebuildReportsClosedOnce(t *testing.T) {
	p, err := openEpoll()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if err := p.Add(fds[0], Readable); err != nil {
		t.Fatal(err)
	}
	leftover(t, p)     // a rebuild on the next report
	unix.Close(fds[0]) // closed, not deleted, no copy
	var invalid int
	for range 3 {
		for _, ev := range waitAll(t, p, 0) {
			if int(ev.FD) == fds[0] && ev.Invalid {
				invalid++
			}
		}
	}
	if invalid != 1 {
		t.Fatalf("closed descriptor reported Invalid %d times, want once", invalid)
	}
	if err := p.Delete(fds[0]); err != nil {
		t.Fatalf("Delete after Invalid: %v, want nil (already forgotten)", err)
	}
}

// A leftover of the very file now registered again under the same
// number (closed, then dup'ed back onto it) is taken over by Add.
func TestEpollAddTakesOverItsOwnLeftover(t *testing.T) {
	p, err := openEpoll()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rd, wr := testPipe(t)
	cp, err := unix.Dup(rd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cp)
	if err := p.Add(rd, Readable); err != nil {
		t.Fatal(err)
	}
	unix.Close(rd)
	p.Delete(rd)
	if err := unix.Dup3(cp, rd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(rd, Readable); err != nil {
		t.Fatalf("Add over its own leftover: %v", err)
	}
	unix.Write(wr, []byte("x"))
	evs := waitAll(t, p, 0)
	if len(evs) != 1 || int(evs[0].FD) != rd || evs[0].Invalid {
		t.Fatalf("got %v, want fd %d readable once", evs, rd)
	}
}
