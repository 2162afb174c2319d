package protocol

import (
	"fmt"
	"strconv"

	"github.com/loomkit/loom/transport"
)

// DefaultMaxFrameLength is the longest netstring or length-prefixed frame
// a decoder accepts unless its configuration says otherwise: 1 MiB.
const DefaultMaxFrameLength = 1 << 20

// NetstringConfig configures netstring framing. The zero value is the
// default: payloads of up to 1 MiB.
type NetstringConfig struct {
	// MaxLength is the longest payload accepted, in bytes; 0 is
	// DefaultMaxFrameLength. A longer one is refused as soon as its
	// length's digits show it, before any of its payload is read.
	MaxLength int
}

func (c *NetstringConfig) resolved() (int, error) {
	switch {
	case c.MaxLength == 0:
		return DefaultMaxFrameLength, nil
	case c.MaxLength < 0:
		return 0, configError("netstring", "NetstringConfig.MaxLength %d is negative", c.MaxLength)
	}
	return c.MaxLength, nil
}

// Netstring decoding states.
const (
	nsLength  = iota // reading the length's digits, up to ':'
	nsPayload        // reading the payload
	nsComma          // expecting the ','
)

// NetstringDecoder splits a byte stream into netstrings (D. J.
// Bernstein's "12:hello, world!,": the payload's length in decimal, ':',
// the payload, ','). It is a state machine over bytes, as LineDecoder,
// and as linear: a payload within one Feed is delivered without a copy,
// one that spans reads is copied once into a buffer that grows with what
// arrives (never past the length announced) and is reused.
//
// It stops at the first netstring that breaks the format, with a
// *FrameError wrapping ErrMalformed (an empty length, a length with a
// leading zero, a byte that is neither a digit nor ':' in the length, a
// byte other than ',' after the payload) or ErrFrameTooLong (a length over
// the maximum, refused at the digit that takes it over).
type NetstringDecoder struct {
	flow
	onFrame func(payload []byte)
	max     int

	state  uint8
	n      int // the length read so far
	digits int
	frame  []byte
	pos    int64 // stream offset of the next byte process sees
	start  int64 // stream offset of the unfinished netstring
}

// NewNetstringDecoder returns a decoder that calls onFrame with each
// netstring's payload. payload is valid only during the call: copy what
// must be kept. onFrame may call Pause and Resume, but not Feed.
func NewNetstringDecoder(cfg NetstringConfig, onFrame func(payload []byte)) *NetstringDecoder {
	d := &NetstringDecoder{onFrame: onFrame}
	d.max, d.err = cfg.resolved()
	return d
}

// Feed processes b, calling the payload function for each netstring it
// completes, and returns the error the decoder stopped with, if any. While
// the decoder is paused, Feed keeps a copy of b and delivers nothing.
func (d *NetstringDecoder) Feed(b []byte) error { return d.feed(d, b) }

// Resume undoes Pause, as LineDecoder's.
func (d *NetstringDecoder) Resume() error { return d.resume(d) }

// Buffered returns how many bytes of payload the decoder holds, and what
// was fed while paused.
func (d *NetstringDecoder) Buffered() int { return len(d.frame) + d.heldLen() }

// End tells the decoder the stream has ended, as LineDecoder's: the
// decoder's error, or one wrapping ErrTruncated if the stream stopped
// inside a netstring, or nil.
func (d *NetstringDecoder) End() error {
	if d.err != nil {
		return d.err
	}
	return truncated("netstring", d.start, d.pos-d.start, d.heldLen())
}

func (d *NetstringDecoder) malformed(format string, args ...any) {
	d.err = &FrameError{Codec: "netstring", Offset: d.start, Reason: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

func (d *NetstringDecoder) process(b []byte) int {
	i := 0
	for i < len(b) && !d.paused && !d.stopped {
		switch d.state {
		case nsLength:
			c := b[i]
			switch {
			case '0' <= c && c <= '9':
				if d.digits > 0 && d.n == 0 {
					d.malformed("the length has a leading zero")
					return i
				}
				v := int(c - '0')
				if v > d.max || d.n > (d.max-v)/10 {
					digits := string(c)
					if d.digits > 0 {
						digits = strconv.Itoa(d.n) + digits
					}
					d.err = &FrameError{Codec: "netstring", Offset: d.start, Err: ErrFrameTooLong,
						Reason: fmt.Sprintf("the length, %s so far, is over the maximum of %d bytes", digits, d.max)}
					return i
				}
				d.n = d.n*10 + v
				d.digits++
				i++
			case c == ':' && d.digits > 0:
				i++
				if len(b)-i > d.n { // the whole payload and the comma are here
					if c := b[i+d.n]; c != ',' {
						d.missingComma(d.pos+int64(i+d.n), c)
						return i
					}
					payload := b[i : i+d.n : i+d.n]
					i += d.n + 1
					d.next(i)
					d.onFrame(payload)
					continue
				}
				d.state = nsPayload
				if d.n == 0 {
					d.state = nsComma
				}
			default:
				where := "where the length's first digit belongs"
				if d.digits > 0 {
					where = "where a digit or ':' belongs"
				}
				d.malformed("%q at byte %d %s", c, d.pos+int64(i), where)
				return i
			}
		case nsPayload:
			take := min(d.n-len(d.frame), len(b)-i)
			d.frame = grow(d.frame, take, d.n)
			d.frame = append(d.frame, b[i:i+take]...)
			i += take
			if len(d.frame) == d.n {
				d.state = nsComma
			}
		case nsComma:
			if c := b[i]; c != ',' {
				d.missingComma(d.pos+int64(i), c)
				return i
			}
			i++
			payload := d.frame[:d.n:d.n]
			d.frame = d.frame[:0]
			d.next(i)
			d.onFrame(payload)
		}
	}
	d.pos += int64(i)
	return i
}

func (d *NetstringDecoder) missingComma(at int64, c byte) {
	d.malformed("%q at byte %d where ',' belongs, after the %d-byte payload", c, at, d.n)
}

// next resets the state for the netstring that begins at b[i].
func (d *NetstringDecoder) next(i int) {
	d.state, d.n, d.digits = nsLength, 0, 0
	d.start = d.pos + int64(i)
}

var defaultNetstrings NetstringConfig

// WriteNetstring writes b to t as a netstring, as NetstringConfig's
// Write with the default configuration.
func WriteNetstring(t transport.Transport, b []byte) error { return defaultNetstrings.Write(t, b) }

// Write writes b to t as a netstring, in one call to the transport (a
// long payload goes by Writev, without a copy). A payload longer than
// MaxLength is refused, nothing written, with an error wrapping
// ErrFrameTooLong.
func (c NetstringConfig) Write(t transport.Transport, b []byte) error {
	if err := c.check(b); err != nil {
		return err
	}
	s := getSendBuf()
	head := append(strconv.AppendInt(s.h[:0], int64(len(b)), 10), ':')
	return s.send(t, head, b, ",")
}

// Append appends b as a netstring to dst, refusing what Write refuses.
func (c NetstringConfig) Append(dst, b []byte) ([]byte, error) {
	if err := c.check(b); err != nil {
		return dst, err
	}
	dst = append(strconv.AppendInt(dst, int64(len(b)), 10), ':')
	return append(append(dst, b...), ','), nil
}

func (c *NetstringConfig) check(b []byte) error {
	max, err := c.resolved()
	if err != nil {
		return err
	}
	if len(b) > max {
		return fmt.Errorf("protocol: a %d-byte netstring is longer than the maximum of %d bytes: %w", len(b), max, ErrFrameTooLong)
	}
	return nil
}
