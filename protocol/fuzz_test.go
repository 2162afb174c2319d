package protocol

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
)

// The fuzz targets feed each decoder the same input one-shot, a byte at a
// time, in random pieces, and in random pieces while a callback pauses
// every few frames (resumed at once, or after more bytes were fed), and
// check that every run gives the frames, the error and the end a simple
// model of the framing gives, that nothing panics, and that a decoder's
// buffers stay within its limits.

// event is one delivery: a frame or, for lines, a skipped line.
type event struct {
	skip bool
	data string
	n    int64
}

func (e event) String() string {
	if e.skip {
		return fmt.Sprintf("skip(%d)", e.n)
	}
	return fmt.Sprintf("%q", e.data)
}

// outcome is what a run produced.
type outcome struct {
	events []event
	err    string // the error Feed or Resume returned
	end    string // what End returned
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (o outcome) diff(want outcome) string {
	if o.err != want.err {
		return fmt.Sprintf("error %q, want %q", o.err, want.err)
	}
	if o.end != want.end {
		return fmt.Sprintf("End %q, want %q", o.end, want.end)
	}
	for i := range min(len(o.events), len(want.events)) {
		if o.events[i] != want.events[i] {
			return fmt.Sprintf("event %d is %v, want %v", i, o.events[i], want.events[i])
		}
	}
	if len(o.events) != len(want.events) {
		return fmt.Sprintf("%d events, want %d", len(o.events), len(want.events))
	}
	return ""
}

// testDecoder is what the three decoders have in common.
type testDecoder interface {
	decoder
	process(b []byte) int
}

// newDecoder makes a decoder that reports to emit.
type newDecoder func(emit func(event)) testDecoder

// plan says how a run feeds the input.
type plan struct {
	pieces     []int // the lengths to feed, in turn
	pauseEvery int   // pause in every pauseEvery'th callback; 0 never
	feedPaused bool  // feed the next piece before resuming
}

func splits(data []byte, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	var p []int
	for left := len(data); left > 0; {
		n := 1 + rng.IntN(min(left, 1+rng.IntN(64)))
		p = append(p, n)
		left -= n
	}
	return p
}

func ones(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = 1
	}
	return p
}

// runPlan feeds data to a decoder made by mk as pl says, and checks its
// limits after each piece with bound.
func runPlan(t *testing.T, mk newDecoder, data []byte, pl plan, bound func(testDecoder, int) string) outcome {
	var o outcome
	var d testDecoder
	count := 0
	longest := 0 // the longest frame delivered
	d = mk(func(e event) {
		o.events = append(o.events, e)
		longest = max(longest, len(e.data))
		count++
		if pl.pauseEvery > 0 && count%pl.pauseEvery == 0 {
			d.Pause()
		}
	})
	resume := func() error {
		for d.Paused() {
			if err := d.Resume(); err != nil {
				return err
			}
		}
		return nil
	}
	off := 0
	for _, n := range pl.pieces {
		err := d.Feed(data[off : off+n])
		off += n
		if err == nil && d.Paused() && !pl.feedPaused {
			err = resume()
		}
		if err != nil {
			o.err = err.Error()
			break
		}
		if msg := bound(d, longest); msg != "" {
			t.Fatalf("after %d of %d bytes: %s", off, len(data), msg)
		}
	}
	if o.err == "" {
		if err := resume(); err != nil {
			o.err = err.Error()
		}
	}
	o.end = errString(d.End())
	return o
}

// checkSplits runs data through every plan and compares each outcome with want.
func checkSplits(t *testing.T, mk newDecoder, data []byte, want outcome, bound func(testDecoder, int) string) {
	t.Helper()
	h := fnv.New64a()
	h.Write(data)
	seed := h.Sum64()
	plans := []struct {
		name string
		plan
	}{
		{"one-shot", plan{pieces: []int{len(data)}}},
		{"byte-at-a-time", plan{pieces: ones(len(data))}},
		{"random", plan{pieces: splits(data, seed)}},
		{"random-pause", plan{pieces: splits(data, seed+1), pauseEvery: 1 + int(seed%3)}},
		{"random-pause-feed", plan{pieces: splits(data, seed+2), pauseEvery: 1 + int(seed%2), feedPaused: true}},
		{"bytes-pause-feed", plan{pieces: ones(len(data)), pauseEvery: 2, feedPaused: true}},
	}
	if len(data) == 0 {
		plans = plans[:1]
		plans[0].pieces = nil
	}
	for _, p := range plans {
		got := runPlan(t, mk, data, p.plan, bound)
		if msg := got.diff(want); msg != "" {
			t.Fatalf("%s: %s\ninput %q\ngot  %v\nwant %v", p.name, msg, data, got, want)
		}
	}
}

// Lines.

// lineModel is the framing of lines, written plainly.
func lineModel(data []byte, cfg LineConfig) outcome {
	var o outcome
	delim, max, err := cfg.resolved()
	if err != nil {
		o.err, o.end = err.Error(), err.Error()
		return o
	}
	d := []byte(delim)
	strip := !cfg.KeepCR
	tooLong := func(l []byte) bool {
		n := len(l)
		return n > max && !(n == max+1 && strip && l[n-1] == '\r')
	}
	fail := func(at int) outcome {
		msg := fmt.Sprintf("protocol: line at byte %d: longer than the maximum of %d bytes", at, max)
		o.err, o.end = msg, msg
		return o
	}
	pos := 0
	for {
		j := bytes.Index(data[pos:], d)
		if j < 0 {
			tail := data[pos:]
			p := 0 // the longest end of tail that begins the delimiter
			for l := min(len(d)-1, len(tail)); l > 0; l-- {
				if bytes.HasSuffix(tail, d[:l]) {
					p = l
					break
				}
			}
			if tooLong(tail[:len(tail)-p]) && cfg.Overflow == OverflowClose {
				return fail(pos)
			}
			if len(tail) > 0 {
				o.end = fmt.Sprintf("protocol: line at byte %d: the stream ended %d bytes into it", pos, len(tail))
			}
			return o
		}
		line := data[pos : pos+j]
		switch {
		case tooLong(line) && cfg.Overflow == OverflowClose:
			return fail(pos)
		case tooLong(line):
			o.events = append(o.events, event{skip: true, n: int64(len(line))})
		default:
			if strip && len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			o.events = append(o.events, event{data: string(line)})
		}
		pos += j + len(d)
	}
}

func lineMaker(cfg LineConfig) newDecoder {
	return func(emit func(event)) testDecoder {
		cfg := cfg
		cfg.OnSkip = func(n int64) { emit(event{skip: true, n: n}) }
		return NewLineDecoder(cfg, func(l []byte) { emit(event{data: string(l)}) })
	}
}

func lineBound(td testDecoder, _ int) string {
	d := td.(*LineDecoder)
	if limit := d.max + len(d.delim); cap(d.line) > limit || d.limit != limit {
		return fmt.Sprintf("line buffer capacity %d, over the limit %d", cap(d.line), limit)
	}
	if d.partial >= len(d.delim) {
		return fmt.Sprintf("partial match %d of a %d-byte delimiter", d.partial, len(d.delim))
	}
	return ""
}

var fuzzDelims = []string{"\n", "\r\n", "\x00", "ab", "aab", "abab", "aaa", "abcabd", "\n\n"}

// lineConfigFor turns two fuzzed bytes into a configuration.
func lineConfigFor(mode, max uint8) LineConfig {
	return LineConfig{
		Delimiter: fuzzDelims[int(mode)%len(fuzzDelims)],
		KeepCR:    mode&0x10 != 0,
		Overflow:  Overflow(mode >> 5 & 1),
		MaxLength: 1 + int(max)%40,
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n\nlast"), uint8(0), uint8(10))
	f.Add([]byte("a\r\nbb\r\nccc\r\n"), uint8(1), uint8(2))
	f.Add([]byte("aaabaabaaab"), uint8(4), uint8(3))
	f.Add([]byte("abababab ab abab"), uint8(5), uint8(1))
	f.Add([]byte("toolongline\nok\nanothertoolong\nok\r\n"), uint8(0x20), uint8(3))
	f.Add([]byte("xxx\r\nyyyy\r\n"), uint8(0), uint8(2))
	f.Add([]byte("abcabcabdabcabd"), uint8(7), uint8(39))
	f.Add(bytes.Repeat([]byte("a"), 100), uint8(6), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, mode, max uint8) {
		cfg := lineConfigFor(mode, max)
		checkSplits(t, lineMaker(cfg), data, lineModel(data, cfg), lineBound)
	})
}

// Netstrings.

func netstringModel(data []byte, max int) outcome {
	var o outcome
	fail := func(err error, start int, format string, args ...any) outcome {
		msg := fmt.Sprintf("protocol: netstring at byte %d: ", start) + fmt.Sprintf(format, args...)
		o.err, o.end = msg, msg
		return o
	}
	pos := 0
	for pos < len(data) {
		start, n, digits, i := pos, 0, 0, pos
		colon := false
		for i < len(data) && !colon {
			c := data[i]
			switch {
			case '0' <= c && c <= '9':
				if digits > 0 && n == 0 {
					return fail(ErrMalformed, start, "the length has a leading zero")
				}
				v := int(c - '0')
				if n*10+v > max {
					return fail(ErrFrameTooLong, start, "the length, %d so far, is over the maximum of %d bytes", n*10+v, max)
				}
				n = n*10 + v
				digits++
			case c == ':' && digits > 0:
				colon = true
			case digits == 0:
				return fail(ErrMalformed, start, "%q at byte %d where the length's first digit belongs", c, i)
			default:
				return fail(ErrMalformed, start, "%q at byte %d where a digit or ':' belongs", c, i)
			}
			i++
		}
		if !colon || len(data)-i < n+1 {
			o.end = fmt.Sprintf("protocol: netstring at byte %d: the stream ended %d bytes into it", start, len(data)-start)
			return o
		}
		if c := data[i+n]; c != ',' {
			return fail(ErrMalformed, start, "%q at byte %d where ',' belongs, after the %d-byte payload", c, i+n, n)
		}
		o.events = append(o.events, event{data: string(data[i : i+n])})
		pos = i + n + 1
	}
	return o
}

func netstringMaker(max int) newDecoder {
	return func(emit func(event)) testDecoder {
		return NewNetstringDecoder(NetstringConfig{MaxLength: max}, func(p []byte) { emit(event{data: string(p)}) })
	}
}

// payloadBound checks a payload buffer: never over the maximum, and no
// more than twice the longest payload it has held (one delivered, or the
// one arriving): a peer that announces a long payload and sends little
// of it makes the decoder hold little.
func payloadBound(buf []byte, max, longest int) string {
	if cap(buf) > max {
		return fmt.Sprintf("payload buffer capacity %d, over the maximum %d", cap(buf), max)
	}
	if cap(buf) > 64 && cap(buf) > 2*longest && cap(buf) > 2*len(buf) {
		return fmt.Sprintf("payload buffer of %d bytes for %d received, and payloads of %d at most before", cap(buf), len(buf), longest)
	}
	return ""
}

func netstringBound(td testDecoder, longest int) string {
	d := td.(*NetstringDecoder)
	return payloadBound(d.frame, d.max, longest)
}

func FuzzNetstrings(f *testing.F) {
	f.Add([]byte("5:hello,0:,3:abc,"), uint8(10))
	f.Add([]byte("12:hello, world!,"), uint8(11))
	f.Add([]byte("01:a,"), uint8(10))
	f.Add([]byte("3:abc;"), uint8(10))
	f.Add([]byte(":x,"), uint8(10))
	f.Add([]byte("1x:a,"), uint8(10))
	f.Add([]byte("99999999999999999999999:"), uint8(255))
	f.Add([]byte("40:0123456789012345678901234567890123456789,2:ab"), uint8(40))
	f.Fuzz(func(t *testing.T, data []byte, max uint8) {
		m := 1 + int(max)
		checkSplits(t, netstringMaker(m), data, netstringModel(data, m), netstringBound)
	})
}

// Length-prefixed frames.

func frameModel(data []byte, cfg FrameConfig) outcome {
	var o outcome
	size, order, max, err := cfg.resolved()
	if err != nil {
		o.err, o.end = err.Error(), err.Error()
		return o
	}
	pos := 0
	for pos < len(data) {
		if len(data)-pos < size {
			break
		}
		var buf [8]byte
		copy(buf[8-size:], data[pos:pos+size])
		if order == binary.LittleEndian {
			for i, j := 8-size, 7; i < j; i, j = i+1, j-1 {
				buf[i], buf[j] = buf[j], buf[i]
			}
		}
		v := binary.BigEndian.Uint64(buf[:])
		if v > uint64(max) {
			msg := fmt.Sprintf("protocol: frame at byte %d: length %d is over the maximum of %d bytes", pos, v, max)
			o.err, o.end = msg, msg
			return o
		}
		if uint64(len(data)-pos-size) < v {
			break
		}
		o.events = append(o.events, event{data: string(data[pos+size : pos+size+int(v)])})
		pos += size + int(v)
	}
	if pos < len(data) {
		o.end = fmt.Sprintf("protocol: frame at byte %d: the stream ended %d bytes into it", pos, len(data)-pos)
	}
	return o
}

func frameMaker(cfg FrameConfig) newDecoder {
	return func(emit func(event)) testDecoder {
		return NewFrameDecoder(cfg, func(p []byte) { emit(event{data: string(p)}) })
	}
}

func frameBound(td testDecoder, longest int) string {
	d := td.(*FrameDecoder)
	return payloadBound(d.frame, d.max, longest)
}

func frameConfigFor(mode uint8, max uint16) FrameConfig {
	cfg := FrameConfig{PrefixSize: []int{1, 2, 4, 8}[mode%4], MaxLength: 1 + int(max)}
	if mode&4 != 0 {
		cfg.Order = binary.LittleEndian
	}
	return cfg
}

func FuzzFrames(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x05hello\x00\x00\x00\x00\x00\x00\x00\x01x"), uint8(2), uint16(100))
	f.Add([]byte("\x05hello\x00\x03abc"), uint8(0), uint16(10))
	f.Add([]byte("\x03\x00abc\x01\x00z"), uint8(5), uint16(10))
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff"), uint8(3), uint16(65535))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x02hi\x00\x00\x00\x00\x00\x00\x00\x03ab"), uint8(3), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, max uint16) {
		cfg := frameConfigFor(mode, max)
		checkSplits(t, frameMaker(cfg), data, frameModel(data, cfg), frameBound)
	})
}
