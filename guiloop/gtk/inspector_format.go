package gtkloop

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/loomkit/loom/internal/inspect"
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
		rows[i] = []string{duration(c.Duration), c.Kind, inspect.ShortFunc(c.Func), inspect.ShortSite(c.Site), inspect.ShortSite(c.Until)}
	}
	return rows
}

// fdRows are the rows of the descriptor list: each descriptor, what it
// is, and who reads and writes it.
func fdRows(fds []reactor.Descriptor) [][]string {
	rows := make([][]string, len(fds))
	for i, d := range fds {
		rows[i] = []string{strconv.Itoa(d.FD), inspect.DescribeFD(d.FD), inspect.ShortFunc(d.Reader), inspect.ShortFunc(d.Writer)}
	}
	return rows
}
