package protocol_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/internal/socktest"
	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/reactor/reactortest"
)

// These tests talk to a real Redis server (Debian's redis-server),
// started by the test on 127.0.0.1 on a free port: a peer written by
// others whose replies are lines ending in "\r\n", split by the kernel
// wherever it likes.

// command encodes a Redis command in its wire form (RESP), which carries
// any bytes.
func command(args ...string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

// redisSession dials addr with a line Receiver made with cfg, sends
// what, and collects the reply lines until stop says it has enough (then
// QUIT) or the connection ends.
func redisSession(t *testing.T, addr string, cfg protocol.LineConfig, what []byte, stop func(lines []string) bool) (lines []string, skips []int64, lost error) {
	t.Helper()
	r := newReactor(t)
	if cfg.Overflow == protocol.OverflowSkip {
		cfg.OnSkip = func(n int64) { skips = append(skips, n) }
	}
	lost = errors.New("ConnectionLost not called")
	quit := false
	dial(t, r, addr, protocol.NewLineReceiver(cfg, &handler{
		made: func(h *handler) {
			if err := h.t.Write(what); err != nil {
				t.Error(err)
			}
		},
		frame: func(h *handler, b []byte) {
			lines = append(lines, string(b))
			if !quit && stop(lines) {
				quit = true
				protocol.WriteLine(h.t, []byte("QUIT"))
			}
		},
		lost: func(_ *handler, err error) { lost = err; r.Stop() },
	}))
	runLoop(t, r, 30*time.Second)
	return lines, skips, lost
}

// A thousand pipelined commands in one write get their thousand replies,
// in order.
func TestRedisPipelinedLines(t *testing.T) {
	reactortest.CheckLeaks(t)
	addr := socktest.StartRedis(t)
	var req []byte
	req = append(req, command("DEL", "n")...)
	for range 1000 {
		req = append(req, "INCR n\r\n"...) // Redis's inline form: a line
	}
	req = append(req, "PING\r\n"...)
	lines, _, lost := redisSession(t, addr, protocol.LineConfig{}, req, func(l []string) bool { return len(l) == 1002 })
	if lost != nil || len(lines) != 1003 {
		t.Fatalf("%d lines, ConnectionLost %v", len(lines), lost)
	}
	for i := 1; i <= 1000; i++ {
		if lines[i] != ":"+strconv.Itoa(i) {
			t.Fatalf("reply %d is %q", i, lines[i])
		}
	}
	if lines[1001] != "+PONG" || lines[1002] != "+OK" {
		t.Fatalf("last replies %q", lines[1001:])
	}
}

// A 200000-byte value GET from Redis is a 200000-byte line that spans
// several reads: with MaxLength 200000 it is delivered whole; with one
// byte less, OverflowClose closes the connection with ErrLineTooLong
// after the lines before it, and OverflowSkip reports it skipped and
// delivers the reply after it.
func TestRedisLongLine(t *testing.T) {
	reactortest.CheckLeaks(t)
	addr := socktest.StartRedis(t)
	value := strings.Repeat("v", 200000)
	req := append(command("SET", "big", value), command("GET", "big")...)
	req = append(req, "PING\r\n"...)

	lines, _, lost := redisSession(t, addr, protocol.LineConfig{MaxLength: len(value)}, req,
		func(l []string) bool { return len(l) == 4 })
	if lost != nil || len(lines) != 5 || lines[0] != "+OK" || lines[1] != "$200000" || lines[2] != value || lines[3] != "+PONG" {
		t.Fatalf("at the maximum: %d lines, ConnectionLost %v", len(lines), lost)
	}

	lines, _, lost = redisSession(t, addr, protocol.LineConfig{MaxLength: len(value) - 1}, req,
		func([]string) bool { return false })
	var fe *protocol.FrameError
	if !errors.Is(lost, protocol.ErrLineTooLong) || !errors.As(lost, &fe) || fe.Offset != int64(len("+OK\r\n$200000\r\n")) {
		t.Fatalf("one over the maximum: ConnectionLost %v", lost)
	}
	if fmt.Sprint(lines) != "[+OK $200000]" {
		t.Fatalf("one over the maximum: lines %q", lines)
	}

	lines, skips, lost := redisSession(t, addr, protocol.LineConfig{MaxLength: len(value) - 1, Overflow: protocol.OverflowSkip}, req,
		func(l []string) bool { return len(l) == 3 })
	// OnSkip counts the bytes dropped, the '\r' before the '\n' too.
	if lost != nil || fmt.Sprint(lines) != "[+OK $200000 +PONG +OK]" || fmt.Sprint(skips) != "[200001]" {
		t.Fatalf("skipping: lines %q, skips %v, ConnectionLost %v", lines, skips, lost)
	}
}
