package transporttest

import (
	"errors"
	"os"
	"strconv"
	"testing"
)

// errNotYet marks a ConnectionLost that has not happened.
var errNotYet = errors.New("transporttest: ConnectionLost was not called")

// bigTransfer is the size of the flow-control case's transfer: 1 GiB, or
// LOOM_BIG_TRANSFER_MIB mebibytes; 64 MiB under -short.
func bigTransfer() int64 {
	if s := os.Getenv("LOOM_BIG_TRANSFER_MIB"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return int64(n) << 20
		}
	}
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

// countdown calls f when done has been called n times. Loop goroutine.
type countdown struct {
	n int
	f func()
}

func (c *countdown) done() {
	if c.n--; c.n == 0 {
		c.f()
	}
}
