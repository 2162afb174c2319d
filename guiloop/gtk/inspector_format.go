package gtkloop

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loomkit/loom/reactor"
)

// duration writes d in three significant figures, in the largest unit
// that keeps it at least 1: 0, 850ns, 12.3µs, 4.56ms, 1.23s.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return figures3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return figures3(float64(d)/1e6) + "ms"
	}
	return figures3(float64(d)/1e9) + "s"
}

// figures3 writes v, at least 1, with three significant figures (more
// for v of 1000 and up).
func figures3(v float64) string {
	decimals := 2
	switch {
	case v >= 99.95:
		decimals = 0
	case v >= 9.995:
		decimals = 1
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// rate writes n events in dt as a rate per second.
func rate(n uint64, dt time.Duration) string {
	per := float64(n) / dt.Seconds()
	decimals := 0
	if per < 10 {
		decimals = 1
	}
	return strconv.FormatFloat(per, 'f', decimals, 64) + "/s"
}

// shortSite keeps the last two elements of a file:line's path, the
// folder and the file: ".../guiloop/gtk/inspector.go:12" becomes
// "gtk/inspector.go:12".
func shortSite(site string) string {
	i := strings.LastIndexByte(site, '/')
	if i < 0 {
		return site
	}
	if j := strings.LastIndexByte(site[:i], '/'); j >= 0 {
		return site[j+1:]
	}
	return site
}

// shortFunc drops a function name's import path but for its last
// element: "github.com/loomkit/loom/reactor.(*Reactor).Stop" becomes
// "reactor.(*Reactor).Stop".
func shortFunc(name string) string {
	// The type arguments of a generic function's name may hold import
	// paths of their own: the path ends at the last slash before them.
	path := name
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// slowRows are the rows of the slow-callback list: the slowest first,
// and the latest first among equals.
func slowRows(cbs []reactor.SlowCallback) [][]string {
	cbs = slices.Clone(cbs)
	slices.Reverse(cbs)
	slices.SortStableFunc(cbs, func(a, b reactor.SlowCallback) int {
		return cmp.Compare(b.Duration, a.Duration)
	})
	rows := make([][]string, len(cbs))
	for i, c := range cbs {
		rows[i] = []string{duration(c.Duration), c.Kind, shortFunc(c.Func), shortSite(c.Site), shortSite(c.Until)}
	}
	return rows
}

// fdRows are the rows of the descriptor list: each descriptor, what it
// is, and who reads and writes it.
func fdRows(fds []reactor.Descriptor) [][]string {
	rows := make([][]string, len(fds))
	for i, d := range fds {
		rows[i] = []string{strconv.Itoa(d.FD), fdTarget(d.FD), shortFunc(d.Reader), shortFunc(d.Writer)}
	}
	return rows
}

// fdTarget says what descriptor fd is, as Linux's /proc/self/fd names
// it: "socket:[12345]", "pipe:[678]", "anon_inode:[eventfd]", a file's
// path. It is "" where there is no /proc.
func fdTarget(fd int) string {
	s, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return ""
	}
	return s
}
