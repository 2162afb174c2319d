package transport_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/loomkit/loom/reactor/reactortest"
	"github.com/loomkit/loom/transport"
	"golang.org/x/sys/unix"
)

func pipe(t *testing.T) (rd, wr int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(p[0])
	unix.CloseOnExec(p[1])
	return p[0], p[1]
}

func TestPipeReadEnd(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	rd, wr := pipe(t)
	var got bytes.Buffer
	lost := errors.New("not called")
	tr, err := transport.Pipe(r, rd, false, &funcs{
		data: func(b []byte) { got.Write(b) },
		lost: func(err error) { lost = err; r.Stop() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Write([]byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Write on a read end: %v, want ErrClosed", err)
	}
	go func() {
		unix.Write(wr, []byte("from the "))
		unix.Write(wr, []byte("writer"))
		unix.Close(wr)
	}()
	run(t, r)
	if got.String() != "from the writer" || lost != nil {
		t.Errorf("read %q, ConnectionLost(%v); want the bytes and nil", got.String(), lost)
	}
}

func TestPipeWriteEnd(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	rd, wr := pipe(t)
	f := os.NewFile(uintptr(rd), "pipe")
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(f)
		f.Close()
		read <- b
	}()
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	peak, pauses := 0, 0
	lost := errors.New("not called")
	var tr transport.Transport
	sent := 0
	var fill func()
	p := &flowFuncs{}
	p.lost = func(err error) { lost = err; r.Stop() }
	fill = func() {
		for !p.paused && sent < len(want) {
			n := min(32<<10, len(want)-sent)
			if err := tr.Write(want[sent : sent+n]); err != nil {
				t.Fatal(err)
			}
			sent += n
			peak = max(peak, tr.Buffered())
		}
		if sent == len(want) {
			tr.LoseWriteConnection()
		}
	}
	p.onPause = func() { pauses++ }
	p.onResume = fill
	var err error
	if tr, err = transport.Pipe(r, wr, true, p); err != nil {
		t.Fatal(err)
	}
	fill()
	run(t, r)
	if b := <-read; !bytes.Equal(b, want) {
		t.Errorf("the reader got %d bytes, want %d", len(b), len(want))
	}
	if lost != nil {
		t.Errorf("ConnectionLost(%v)", lost)
	}
	if peak > transport.DefaultHighWater+32<<10 || pauses == 0 {
		t.Errorf("peak buffered %d with %d pauses: want pauses and at most the high mark plus one write", peak, pauses)
	}
}

func TestPipeReaderGone(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	rd, wr := pipe(t)
	unix.Close(rd)
	var lost error
	tr, err := transport.Pipe(r, wr, true, &funcs{lost: func(err error) { lost = err; r.Stop() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Write([]byte("nobody reads")); !errors.Is(err, transport.ErrReset) {
		t.Errorf("Write to a pipe with no reader: %v, want ErrReset", err)
	}
	run(t, r)
	if !errors.Is(lost, unix.EPIPE) {
		t.Errorf("ConnectionLost(%v), want EPIPE", lost)
	}
}

func TestAdopt(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if _, err := transport.Adopt(r, fds[0], &echo{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		unix.Write(fds[1], []byte("adopted"))
	}()
	buf := make([]byte, 7)
	r.CallFromGoroutine(func() {})
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, _ := io.ReadFull(fdReader(fds[1]), buf)
		buf = buf[:n]
		r.CallFromGoroutine(r.Stop)
	}()
	run(t, r)
	<-done
	if string(buf) != "adopted" {
		t.Errorf("echoed %q", buf)
	}
	rd, wr := pipe(t)
	defer unix.Close(wr)
	if _, err := transport.Adopt(r, rd, &echo{}); err == nil {
		t.Error("Adopt took a pipe")
	}
	unix.Close(rd)
}

type fdReader int

func (f fdReader) Read(b []byte) (int, error) {
	n, err := unix.Read(int(f), b)
	if n < 0 {
		n = 0
	}
	return n, err
}

// flowFuncs is funcs with WriteFlow.
type flowFuncs struct {
	funcs
	paused            bool
	onPause, onResume func()
}

func (f *flowFuncs) PauseWriting() {
	f.paused = true
	if f.onPause != nil {
		f.onPause()
	}
}

func (f *flowFuncs) ResumeWriting() {
	f.paused = false
	if f.onResume != nil {
		f.onResume()
	}
}
