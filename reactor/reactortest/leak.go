package reactortest

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// CheckLeaks fails t, when t ends, if it left descriptors open or
// goroutines running that were not there when CheckLeaks was called.
func CheckLeaks(t testing.TB) {
	t.Helper()
	// Go's runtime netpoller opens its own descriptors once per process,
	// on first use: make that happen before counting.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before := OpenFDs(t)
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(opt); err != nil {
			t.Errorf("goroutine leak: %v", err)
		}
		// Descriptors closed by goroutines that are ending (a server's
		// connection handlers) get a moment to settle, as goleak does.
		after := OpenFDs(t)
		for wait := time.Millisecond; after != before && wait < time.Second; wait *= 2 {
			time.Sleep(wait)
			after = OpenFDs(t)
		}
		if after != before {
			t.Errorf("descriptor leak: %d open before, %d after", before, after)
		}
	})
}

// OpenFDs counts the process's open descriptors (Linux's /proc/self/fd;
// elsewhere /dev/fd).
func OpenFDs(t testing.TB) int {
	t.Helper()
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if ents, err := os.ReadDir(dir); err == nil {
			return len(ents) - 1 // the directory's own descriptor
		}
	}
	t.Skip("no /proc/self/fd or /dev/fd to count descriptors")
	return 0
}
