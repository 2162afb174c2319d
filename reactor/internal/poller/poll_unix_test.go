//go:build unix

package poller

import (
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The poll backend's round-robin start must survive any sequence of
// shrinking and growing sets, and with a batch smaller than what is ready
// it must serve every ready descriptor within a bounded number of waits.
func TestPollRoundRobinSurvivesSetChanges(t *testing.T) {
	p, err := openPoll()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 40
	var rd, wr [n]int
	for i := range n {
		var fds [2]int
		if err := unix.Pipe(fds[:]); err != nil {
			t.Fatal(err)
		}
		rd[i], wr[i] = fds[0], fds[1]
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		unix.Write(wr[i], []byte("x")) // every pipe stays readable
	}
	byFD := map[int32]int{}
	for i, fd := range rd {
		byFD[int32(fd)] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]bool, n)
	events := make([]Event, 3)
	for step := range 5000 {
		// Grow or shrink by a random amount, sometimes to nothing.
		for range rng.IntN(n) {
			i := rng.IntN(n)
			if in[i] {
				if err := p.Delete(rd[i]); err != nil {
					t.Fatal(err)
				}
			} else if err := p.Add(rd[i], Readable); err != nil {
				t.Fatal(err)
			}
			in[i] = !in[i]
		}
		if rng.IntN(10) == 0 {
			for i := range n {
				if in[i] {
					p.Delete(rd[i])
					in[i] = false
				}
			}
		}
		watched := 0
		for _, w := range in {
			if w {
				watched++
			}
		}
		// Everything watched is ready: ceil(watched/3) waits serve all.
		seen := make([]bool, n)
		for range (watched + len(events) - 1) / len(events) {
			k, err := p.Wait(events, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events[:k] {
				i, ok := byFD[e.FD]
				if !ok || !in[i] {
					t.Fatalf("step %d: reported fd %d, which is not watched", step, e.FD)
				}
				seen[i] = true
			}
		}
		for i := range n {
			if in[i] && !seen[i] {
				t.Fatalf("step %d: ready fd %d not served in %d waits of %d with %d watched",
					step, rd[i], (watched+2)/3, len(events), watched)
			}
		}
	}
}

// A descriptor closed while registered, with the poll backend embedded:
// the embedding goroutine's poll(2) holds a reference to every file in
// its snapshot, so the file outlives its last descriptor (a socket's
// peer sees no end of file) for as long as that poll sleeps. It must
// wake within a bounded time to let go.
func TestPollEmbedLetsClosedFilesGo(t *testing.T) {
	defer func(d time.Duration) { embedRecheck = d }(embedRecheck)
	embedRecheck = 50 * time.Millisecond
	p, err := openPoll()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.FD(); err != nil {
		t.Fatal(err)
	}
	s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s[0])
	for _, fd := range s {
		if err := p.Add(fd, Readable); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // the embedder is asleep in poll(2) on both
	unix.Close(s[1])                  // a program bug: closed while registered
	hup := []unix.PollFd{{Fd: int32(s[0]), Events: unix.POLLIN}}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n, _ := unix.Poll(hup, 10); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed socket's peer saw no end of file in 5s: its file is still held")
		}
	}
}
