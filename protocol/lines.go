package protocol

import (
	"bytes"
	"fmt"
	"math"

	"github.com/loomkit/loom/transport"
)

// DefaultMaxLineLength is the longest line a LineDecoder delivers unless
// LineConfig.MaxLength says otherwise: 16 KiB.
const DefaultMaxLineLength = 16 << 10

// Overflow says what a LineDecoder does with a line longer than its
// maximum.
type Overflow uint8

const (
	// OverflowClose stops the decoder with an error wrapping
	// ErrLineTooLong, as soon as the line is known to be too long
	// (before its delimiter arrives); a Receiver closes the connection
	// and hands the error to its handler's ConnectionLost.
	OverflowClose Overflow = iota
	// OverflowSkip drops the line's bytes, holding none of them, up to
	// and including the next delimiter, tells LineConfig.OnSkip how
	// long the line was, and goes on with the next line.
	OverflowSkip
)

// LineConfig configures line framing. The zero value is the default: lines
// end with "\n", a '\r' before it is removed, and a line may be 16 KiB
// long; a longer one stops the decoder.
type LineConfig struct {
	// Delimiter ends each line; "" is "\n". It may be several bytes
	// ("\r\n", "\x00\x00"): a delimiter split across two reads is found
	// all the same.
	Delimiter string
	// KeepCR keeps a '\r' that ends a line; by default it is removed,
	// so "\r\n" and "\n" endings both work with the default delimiter.
	KeepCR bool
	// MaxLength is the longest line delivered, in bytes, the delimiter
	// and a removed '\r' not counted; 0 is DefaultMaxLineLength. A
	// decoder holds at most about this much of a line.
	MaxLength int
	// Overflow says what happens to a longer line (see Overflow).
	Overflow Overflow
	// OnSkip, with OverflowSkip, is called once for each line dropped,
	// when its delimiter arrives, with the number of bytes dropped (the
	// delimiter not counted, a '\r' before it counted). It is called in
	// order with the lines delivered, and is held back by Pause as they
	// are.
	OnSkip func(n int64)
}

// resolved returns the delimiter and maximum c stands for, or an error.
func (c *LineConfig) resolved() (delim string, max int, err error) {
	delim, max = c.Delimiter, c.MaxLength
	if delim == "" {
		delim = "\n"
	}
	if max == 0 {
		max = DefaultMaxLineLength
	}
	switch {
	case max < 0:
		return "", 0, configError("line", "LineConfig.MaxLength %d is negative", c.MaxLength)
	case c.Overflow > OverflowSkip:
		return "", 0, configError("line", "LineConfig.Overflow %d is neither OverflowClose nor OverflowSkip", c.Overflow)
	}
	return delim, max, nil
}

// LineDecoder splits a byte stream into lines. It is a state machine over
// bytes, with no reactor or transport of its own: Feed it what arrives,
// however it is split, and it calls its function once per line, in
// order. A Receiver made by NewLineReceiver drives one on a connection.
//
// The work is linear in the bytes fed whatever the split points: each
// byte is searched for the delimiter once (a partial delimiter at the end
// of one read is remembered, not searched again), and the bytes of a line
// that spans reads are copied once, into a buffer that grows by doubling
// and is reused. A line that lies within one Feed is delivered without a
// copy. Once its buffer has grown to the longest line seen, a decoder
// allocates nothing per line.
//
// A LineDecoder is not safe for concurrent use; with a reactor, use it on
// the reactor goroutine.
type LineDecoder struct {
	flow
	onLine  func(line []byte)
	onSkip  func(n int64)
	delim   []byte
	fail    []int // the delimiter's failure function, for a long one
	max     int
	limit   int // the most of a line held: max, then a '\r' and a partial delimiter
	stripCR bool
	skip    bool

	line     []byte // the bytes of the unfinished line, a partial delimiter included
	partial  int    // how many bytes at the end of line begin the delimiter
	skipping bool   // dropping an overlong line up to its delimiter
	skipN    int64  // bytes of the dropped line so far, partial delimiter included
	pos      int64  // stream offset of the next byte process sees
	start    int64  // stream offset of the unfinished line
	scanned  int64  // bytes the delimiter search looked at, once per look
}

// NewLineDecoder returns a decoder that calls onLine with each line, its
// delimiter (and by default a '\r' before it) removed. line is valid only
// during the call, for it may be part of the bytes being fed or of the
// decoder's buffer: copy what must be kept. onLine may call Pause and
// Resume, but not Feed.
//
// A configuration it cannot use (a negative MaxLength) makes Feed return
// an error wrapping ErrConfig.
func NewLineDecoder(cfg LineConfig, onLine func(line []byte)) *LineDecoder {
	d := &LineDecoder{onLine: onLine, onSkip: cfg.OnSkip, stripCR: !cfg.KeepCR, skip: cfg.Overflow == OverflowSkip}
	delim, max, err := cfg.resolved()
	if err != nil {
		d.err = err
		return d
	}
	d.delim, d.max = []byte(delim), max
	d.limit = max + len(delim)
	if d.limit < max {
		d.limit = math.MaxInt
	}
	if len(d.delim) > 1 {
		d.fail = failure(d.delim)
	}
	return d
}

// Feed processes b, calling the line function for each line it completes.
// It returns the error the decoder stopped with, if any: a line too long
// for OverflowClose (wrapping ErrLineTooLong; every line before it was
// delivered), and the same error from then on. While the decoder is
// paused, Feed keeps a copy of b and delivers nothing. b is not kept.
func (d *LineDecoder) Feed(b []byte) error { return d.feed(d, b) }

// Resume undoes Pause: it delivers, at once, the lines held in the bytes
// kept since the pause, until they run out or the decoder is paused again.
// Called from the line function, it only lets the delivery in progress go
// on when that function returns. It returns the decoder's error, if
// processing the held bytes stopped it.
func (d *LineDecoder) Resume() error { return d.resume(d) }

// Buffered returns how many bytes the decoder holds: the start of an
// unfinished line, and what was fed while paused.
func (d *LineDecoder) Buffered() int { return len(d.line) + d.heldLen() }

// End tells the decoder the stream has ended. It returns the error the
// decoder stopped with, if any; otherwise, if bytes fed were not all
// delivered as lines (the last line had no delimiter, or the decoder is
// paused holding bytes), an error wrapping ErrTruncated; otherwise nil.
func (d *LineDecoder) End() error {
	if d.err != nil {
		return d.err
	}
	return truncated("line", d.start, d.pos-d.start, d.heldLen())
}

func truncated(codec string, start, begun int64, held int) error {
	switch {
	case held > 0:
		return &FrameError{Codec: codec, Offset: start, Err: ErrTruncated,
			Reason: fmt.Sprintf("the stream ended with %d bytes not yet delivered (the decoder is paused)", begun+int64(held))}
	case begun > 0:
		return &FrameError{Codec: codec, Offset: start, Err: ErrTruncated,
			Reason: fmt.Sprintf("the stream ended %d bytes into it", begun)}
	}
	return nil
}

func (d *LineDecoder) process(b []byte) int {
	k := len(d.delim)
	i := 0
	for i < len(b) && !d.paused && !d.stopped {
		if len(d.line) == 0 && !d.skipping {
			if i = d.within(b, i); i == len(b) || d.paused || d.stopped || d.err != nil {
				break
			}
		}
		rest := b[i:]
		e, st := d.find(rest)
		if e < 0 {
			d.partial = st
			d.unfinished(rest)
			i = len(b)
			break
		}
		d.partial = 0
		i += e
		if d.skipping {
			n := d.skipN + int64(e-k)
			d.skipping, d.skipN = false, 0
			d.start = d.pos + int64(i)
			if d.onSkip != nil {
				d.onSkip(n)
			}
			continue
		}
		held := len(d.line)
		n := held + e - k // the line's length; it ends in line if the delimiter began there
		var last byte
		if n > 0 {
			if n <= held {
				last = d.line[n-1]
			} else {
				last = rest[n-1-held]
			}
		}
		if d.tooLong(n, last) {
			if !d.skip {
				d.err = d.tooLongError()
				return i
			}
			d.line = d.line[:0]
			d.start = d.pos + int64(i)
			if d.onSkip != nil {
				d.onSkip(int64(n))
			}
			continue
		}
		var line []byte
		switch {
		case held == 0:
			line = rest[:n:n]
		case n <= held:
			line = d.line[:n:n]
		default:
			d.line = grow(d.line, n-held, d.limit)
			d.line = append(d.line, rest[:n-held]...)
			line = d.line[:n:n]
		}
		d.line = d.line[:0]
		d.start = d.pos + int64(i)
		if d.stripCR && n > 0 && last == '\r' {
			line = line[: n-1 : n-1]
		}
		d.onLine(line)
	}
	d.pos += int64(i)
	return i
}

// within is process for the common case, no line begun before b[i]: it
// delivers the lines in b from i on and keeps the unfinished one, and
// returns how far it got. It leaves a short rest with no delimiter
// (shorter than the length under which find matches byte by byte) to
// the general case.
func (d *LineDecoder) within(b []byte, i int) int {
	k := len(d.delim)
	for i < len(b) && !d.paused && !d.stopped {
		var j int
		if k == 1 {
			j = bytes.IndexByte(b[i:], d.delim[0])
		} else if len(b)-i < max(shortScan, 2*k) {
			break
		} else {
			j = bytes.Index(b[i:], d.delim)
		}
		if j < 0 {
			rest := b[i:]
			d.scanned += int64(len(rest))
			st := 0
			if k > 1 { // the last k-1 bytes may begin a delimiter
				for _, c := range rest[len(rest)-(k-1):] {
					st = d.step(st, c)
				}
				d.scanned += int64(k - 1)
			}
			d.start, d.partial = d.pos+int64(i), st
			d.unfinished(rest)
			return len(b)
		}
		d.scanned += int64(j + k)
		line := b[i : i+j : i+j]
		if j > d.max && d.tooLong(j, line[j-1]) {
			d.start = d.pos + int64(i)
			if !d.skip {
				d.err = d.tooLongError()
				return i
			}
			i += j + k
			if d.onSkip != nil {
				d.onSkip(int64(j))
			}
			continue
		}
		i += j + k
		if d.stripCR && j > 0 && line[j-1] == '\r' {
			line = line[: j-1 : j-1]
		}
		d.onLine(line)
	}
	d.start = d.pos + int64(i)
	return i
}

// unfinished takes rest, bytes with no delimiter that continue the
// unfinished line: it keeps them, or drops them if the line is being
// skipped or is now known to be too long.
func (d *LineDecoder) unfinished(rest []byte) {
	if d.skipping {
		d.skipN += int64(len(rest))
		return
	}
	held := len(d.line)
	n := held + len(rest) - d.partial // the line is at least this long
	if n > d.max {
		var last byte
		if n <= held {
			last = d.line[n-1]
		} else {
			last = rest[n-1-held]
		}
		if d.tooLong(n, last) {
			if !d.skip {
				d.err = d.tooLongError()
				return
			}
			d.skipping, d.skipN = true, int64(held+len(rest))
			d.line = d.line[:0]
			return
		}
	}
	d.line = grow(d.line, len(rest), d.limit)
	d.line = append(d.line, rest...)
}

// tooLong reports whether a line of n bytes ending with last is longer
// than the maximum; a '\r' that will be removed does not count.
func (d *LineDecoder) tooLong(n int, last byte) bool {
	return n > d.max && !(n == d.max+1 && d.stripCR && last == '\r')
}

func (d *LineDecoder) tooLongError() error {
	return &FrameError{Codec: "line", Offset: d.start, Err: ErrLineTooLong,
		Reason: fmt.Sprintf("longer than the maximum of %d bytes", d.max)}
}

// shortScan is the length under which the rest of a read is matched byte
// by byte rather than searched with bytes.Index and then looked at again
// for a partial delimiter at its end.
const shortScan = 32

// find looks for the delimiter in b, going on with the partial match that
// the bytes before b ended with. It returns the index just past the
// delimiter, or -1 and the length of the partial match b ends with.
func (d *LineDecoder) find(b []byte) (end, partial int) {
	k := len(d.delim)
	if k == 1 {
		j := bytes.IndexByte(b, d.delim[0])
		if j < 0 {
			d.scanned += int64(len(b))
			return -1, 0
		}
		d.scanned += int64(j + 1)
		return j + 1, 0
	}
	st, i := d.partial, 0
	for ; st > 0 && i < len(b); i++ { // a delimiter begun before b
		if st = d.step(st, b[i]); st == k {
			d.scanned += int64(i + 1)
			return i + 1, 0
		}
	}
	if len(b)-i < max(shortScan, 2*k) {
		for ; i < len(b); i++ {
			if st = d.step(st, b[i]); st == k {
				d.scanned += int64(i + 1)
				return i + 1, 0
			}
		}
		d.scanned += int64(len(b))
		return -1, st
	}
	if j := bytes.Index(b[i:], d.delim); j >= 0 {
		d.scanned += int64(i + j + k)
		return i + j + k, 0
	}
	// No delimiter: the last k-1 bytes may begin one.
	st = 0
	for _, c := range b[len(b)-(k-1):] {
		st = d.step(st, c)
	}
	d.scanned += int64(len(b) + k - 1)
	return -1, st
}

// step advances a partial match of st bytes of the delimiter by c
// (Knuth-Morris-Pratt).
func (d *LineDecoder) step(st int, c byte) int {
	for st > 0 && d.delim[st] != c {
		st = d.fail[st-1]
	}
	if d.delim[st] == c {
		st++
	}
	return st
}

// failure returns the Knuth-Morris-Pratt failure function of p: f[i] is
// the length of the longest proper prefix of p[:i+1] that is also its
// suffix.
func failure(p []byte) []int {
	f := make([]int, len(p))
	for i, k := 1, 0; i < len(p); i++ {
		for k > 0 && p[i] != p[k] {
			k = f[k-1]
		}
		if p[i] == p[k] {
			k++
		}
		f[i] = k
	}
	return f
}

var defaultLines LineConfig

// WriteLine writes line and "\n" to t, as LineConfig's Write with the
// default configuration: a line that holds "\n" or is longer than
// DefaultMaxLineLength is refused.
func WriteLine(t transport.Transport, line []byte) error { return defaultLines.Write(t, line) }

// Write writes line and the delimiter to t, in one call to the transport
// (a long line goes by Writev, without a copy). It refuses, writing
// nothing, a line that a decoder with the same configuration would not
// deliver as it is: one that holds the delimiter (wrapping ErrMalformed)
// or is too long (wrapping ErrLineTooLong).
func (c LineConfig) Write(t transport.Transport, line []byte) error {
	delim, err := c.check(line)
	if err != nil {
		return err
	}
	return getSendBuf().send(t, nil, line, delim)
}

// Append appends line and the delimiter to dst, refusing what Write
// refuses.
func (c LineConfig) Append(dst, line []byte) ([]byte, error) {
	delim, err := c.check(line)
	if err != nil {
		return dst, err
	}
	return append(append(dst, line...), delim...), nil
}

// check returns the delimiter, or why line cannot be sent.
func (c *LineConfig) check(line []byte) (string, error) {
	delim, max, err := c.resolved()
	if err != nil {
		return "", err
	}
	if n := len(line); n > max && !(n == max+1 && !c.KeepCR && line[n-1] == '\r') {
		return "", fmt.Errorf("protocol: a %d-byte line is longer than the maximum of %d bytes: %w", n, max, ErrLineTooLong)
	}
	if earlyDelimiter(line, delim) {
		return "", fmt.Errorf("protocol: a line to send holds its delimiter %q: %w", delim, ErrMalformed)
	}
	return delim, nil
}

// earlyDelimiter reports whether line followed by delim holds delim
// anywhere but at its end: in line, or across the two.
func earlyDelimiter(line []byte, delim string) bool {
	k := len(delim)
	if k == 1 {
		return bytes.IndexByte(line, delim[0]) >= 0
	}
	if bytes.Contains(line, []byte(delim)) {
		return true
	}
	for j := 1; j < k && j <= len(line); j++ {
		// A delimiter that begins j bytes before the end of line.
		if string(line[len(line)-j:]) == delim[:j] && delim[:k-j] == delim[j:] {
			return true
		}
	}
	return false
}
