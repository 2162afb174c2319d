package fyneloop

import (
	"strconv"
	"strings"
	"time"
)

// formatDuration writes d in the unit that keeps it short: 850ns,
// 12.5µs, 3.2ms, 1.25s. Zero is "0".
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return formatFloat(float64(d)/1e3, 1) + "µs"
	case d < time.Second:
		return formatFloat(float64(d)/1e6, 1) + "ms"
	}
	return formatFloat(d.Seconds(), 2) + "s"
}

// formatFloat writes f with up to prec decimals, without trailing zeros.
func formatFloat(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.ContainsRune(s, '.') {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// formatCount writes n with its digits in groups of three: 1,234,567.
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatRate writes a count per second: 240/s, 2.5/s, 0/s.
func formatRate(perSecond float64) string {
	switch {
	case perSecond >= 100:
		return formatCount(uint64(perSecond+0.5)) + "/s"
	case perSecond >= 10:
		return formatFloat(perSecond, 0) + "/s"
	}
	return formatFloat(perSecond, 1) + "/s"
}
