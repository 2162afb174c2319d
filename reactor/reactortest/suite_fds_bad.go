package reactortest

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/loomkit/loom/reactor"
	"golang.org/x/sys/unix"
)

// Cases on descriptors a reactor must refuse, and refuse the same way
// whichever backend it runs.
func init() {
	// A number the kernel would truncate (it takes an int) must not reach
	// it: fd+2³² names fd to the kernel, and a reactor that believed it
	// registered such a number would size its tables by it.
	add("fds/out-of-range-numbers-are-errors", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		rd, _ := Pipe(t)
		bad := []int{1 << 30} // fits the kernel's int, never opened
		if strconv.IntSize == 64 {
			// Not constants: this file also builds where int has 32 bits.
			shift, shift31 := 32, 31
			bad = append(bad, rd+1<<shift, 1<<shift31, 1<<shift31+rd, math.MaxInt)
		}
		nop := func() {}
		for _, fd := range bad {
			for _, add := range []struct {
				name string
				f    func(int, func()) error
			}{{"AddReader", r.AddReader}, {"AddWriter", r.AddWriter}} {
				err := add.f(fd, nop)
				if !errors.Is(err, unix.EBADF) {
					t.Errorf("%s(%d) = %v, want EBADF", add.name, fd, err)
				} else if !strings.Contains(err.Error(), strconv.Itoa(fd)) {
					t.Errorf("%s(%d): error %q does not name the descriptor", add.name, fd, err)
				}
			}
			r.RemoveReader(fd) // nothing to remove: must do nothing
			r.RemoveWriter(fd)
		}
		if r.Watched() != 0 {
			t.Errorf("refused numbers left %d watched", r.Watched())
		}
		// The descriptor the kernel would have seen is untouched.
		must(t, r.AddReader(rd, nop))
		r.RemoveReader(rd)
		r.CallSoon(r.Stop)
		RunFor(t, l, limit)
	})
}

func init() {
	// What one backend refuses, every backend refuses with the same
	// errno, and what one accepts every one accepts: a program must not
	// change behaviour with LOOM_BACKEND. Linux's epoll is the model
	// there: it refuses what has no readiness to report (regular files
	// and directories, /dev/null and other devices without poll support)
	// with EPERM, which poll(2) would report always ready.
	add("fds/every-backend-gives-the-same-answer", func(t *testing.T, newLoop NewLoop) {
		l := newLoop(t)
		r := l.Reactor()
		refs := map[string]*reactor.Reactor{}
		for _, name := range reactor.Backends() {
			ref, err := reactor.New(reactor.WithBackend(name), reactor.WithoutSignalHandlers())
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			refs[name] = ref
		}
		dir := t.TempDir()
		file, err := os.CreateTemp(dir, "regular")
		if err != nil {
			t.Fatal(err)
		}
		file.Close()
		fifo := filepath.Join(dir, "fifo")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		paths := []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
			"/dev/tty", "/dev/ptmx", "/proc/self/mounts", "/proc/self/status", dir, file.Name(), fifo}
		for _, path := range paths {
			fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
			if err != nil {
				fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
			}
			if err != nil {
				continue // not on this system, or not here (no terminal)
			}
			for _, kind := range []string{"reader", "writer"} {
				add := func(r *reactor.Reactor) error {
					if kind == "reader" {
						err := r.AddReader(fd, func() {})
						r.RemoveReader(fd)
						return err
					}
					err := r.AddWriter(fd, func() {})
					r.RemoveWriter(fd)
					return err
				}
				got := errnoOf(add(r))
				for name, ref := range refs {
					if want := errnoOf(add(ref)); got != want {
						t.Errorf("%s on %s: %s, but %s on the %s backend", kind, path, got, want, name)
					}
				}
				if runtime.GOOS == "linux" && (path == "/dev/null" || path == file.Name() || path == dir) &&
					got != errnoOf(unix.EPERM) {
					t.Errorf("%s on %s: %s, want EPERM as epoll gives", kind, path, got)
				}
			}
			unix.Close(fd)
		}
		if r.Watched() != 0 {
			t.Errorf("%d left watched", r.Watched())
		}
		r.CallSoon(r.Stop)
		RunFor(t, l, limit)
	})
}

// errnoOf names err's kind for comparison: its errno, or "accepted".
func errnoOf(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "accepted"
	case errors.As(err, &errno):
		return "refused with " + errno.Error()
	}
	return "refused with no errno: " + err.Error()
}
