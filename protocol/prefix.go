package protocol

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/loomkit/loom/transport"
)

// FrameConfig configures length-prefixed framing: each frame is its
// payload's length, an unsigned integer of PrefixSize bytes in Order,
// then the payload. The zero value is the default: a 4-byte big-endian
// prefix (network byte order) and payloads of up to 1 MiB.
type FrameConfig struct {
	// PrefixSize is the length prefix's size in bytes: 1, 2, 4 or 8; 0
	// is 4.
	PrefixSize int
	// Order is the prefix's byte order; nil is binary.BigEndian.
	Order binary.ByteOrder
	// MaxLength is the longest payload accepted, in bytes; 0 is
	// DefaultMaxFrameLength. A prefix announcing more is refused before
	// anything is allocated for it.
	MaxLength int
}

func (c *FrameConfig) resolved() (size int, order binary.ByteOrder, max int, err error) {
	size, order, max = c.PrefixSize, c.Order, c.MaxLength
	if size == 0 {
		size = 4
	}
	if order == nil {
		order = binary.BigEndian
	}
	if max == 0 {
		max = DefaultMaxFrameLength
	}
	switch {
	case size != 1 && size != 2 && size != 4 && size != 8:
		return 0, nil, 0, configError("frame", "FrameConfig.PrefixSize %d is not 1, 2, 4 or 8", c.PrefixSize)
	case max < 0:
		return 0, nil, 0, configError("frame", "FrameConfig.MaxLength %d is negative", c.MaxLength)
	}
	return size, order, max, nil
}

// FrameDecoder splits a byte stream into length-prefixed frames. It is a
// state machine over bytes, as LineDecoder, and as linear: a frame within
// one Feed is delivered without a copy, one that spans reads is copied
// once into a buffer that grows with what arrives (never past the length
// announced) and is reused.
//
// A prefix over the maximum stops it with a *FrameError wrapping
// ErrFrameTooLong; nothing is allocated for the frame announced.
type FrameDecoder struct {
	flow
	onFrame func(frame []byte)
	size    int
	order   binary.ByteOrder
	max     int

	hdr     [8]byte
	hn      int  // prefix bytes in hdr
	inFrame bool // the prefix is read, the payload is not complete
	n       int  // the payload's length
	frame   []byte
	pos     int64 // stream offset of the next byte process sees
	start   int64 // stream offset of the unfinished frame
}

// NewFrameDecoder returns a decoder that calls onFrame with each frame's
// payload. frame is valid only during the call: copy what must be kept.
// onFrame may call Pause and Resume, but not Feed.
//
// A configuration it cannot use (a PrefixSize of 3) makes Feed return an
// error wrapping ErrConfig.
func NewFrameDecoder(cfg FrameConfig, onFrame func(frame []byte)) *FrameDecoder {
	d := &FrameDecoder{onFrame: onFrame}
	d.size, d.order, d.max, d.err = cfg.resolved()
	return d
}

// Feed processes b, calling the frame function for each frame it
// completes, and returns the error the decoder stopped with, if any.
// While the decoder is paused, Feed keeps a copy of b and delivers
// nothing.
func (d *FrameDecoder) Feed(b []byte) error { return d.feed(d, b) }

// Resume undoes Pause, as LineDecoder's.
func (d *FrameDecoder) Resume() error { return d.resume(d) }

// Buffered returns how many bytes the decoder holds: an unfinished
// frame's prefix and payload, and what was fed while paused.
func (d *FrameDecoder) Buffered() int { return d.hn + len(d.frame) + d.heldLen() }

// End tells the decoder the stream has ended, as LineDecoder's: the
// decoder's error, or one wrapping ErrTruncated if the stream stopped
// inside a frame, or nil.
func (d *FrameDecoder) End() error {
	if d.err != nil {
		return d.err
	}
	return truncated("frame", d.start, d.pos-d.start, d.heldLen())
}

func (d *FrameDecoder) length(p []byte) uint64 {
	switch d.size {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(d.order.Uint16(p))
	case 4:
		return uint64(d.order.Uint32(p))
	}
	return d.order.Uint64(p)
}

func (d *FrameDecoder) process(b []byte) int {
	i := 0
	for i < len(b) && !d.paused && !d.stopped {
		if d.inFrame {
			take := min(d.n-len(d.frame), len(b)-i)
			d.frame = grow(d.frame, take, d.n)
			d.frame = append(d.frame, b[i:i+take]...)
			i += take
			if len(d.frame) == d.n {
				frame := d.frame[:d.n:d.n]
				d.frame, d.inFrame = d.frame[:0], false
				d.start = d.pos + int64(i)
				d.onFrame(frame)
			}
			continue
		}
		var v uint64
		if d.hn == 0 && len(b)-i >= d.size {
			v = d.length(b[i : i+d.size])
			i += d.size
		} else {
			c := copy(d.hdr[d.hn:d.size], b[i:])
			d.hn += c
			i += c
			if d.hn < d.size {
				break
			}
			v = d.length(d.hdr[:d.size])
			d.hn = 0
		}
		if v > uint64(d.max) {
			d.err = &FrameError{Codec: "frame", Offset: d.start, Err: ErrFrameTooLong,
				Reason: fmt.Sprintf("length %d is over the maximum of %d bytes", v, d.max)}
			return i
		}
		d.n = int(v)
		if len(b)-i >= d.n {
			frame := b[i : i+d.n : i+d.n]
			i += d.n
			d.start = d.pos + int64(i)
			d.onFrame(frame)
			continue
		}
		d.inFrame = true
	}
	d.pos += int64(i)
	return i
}

var defaultFrames FrameConfig

// WriteFrame writes b to t as a frame with a 4-byte big-endian length
// prefix, as FrameConfig's Write with the default configuration.
func WriteFrame(t transport.Transport, b []byte) error { return defaultFrames.Write(t, b) }

// Write writes the length prefix and b to t, in one call to the transport
// (a long payload goes by Writev, without a copy). A payload longer than
// MaxLength, or than the prefix can count, is refused, nothing written,
// with an error wrapping ErrFrameTooLong.
func (c FrameConfig) Write(t transport.Transport, b []byte) error {
	s := getSendBuf()
	head, err := c.prefix(s.h[:0], len(b))
	if err != nil {
		sendBufs.Put(s)
		return err
	}
	return s.send(t, head, b, "")
}

// Append appends the length prefix and b to dst, refusing what Write
// refuses.
func (c FrameConfig) Append(dst, b []byte) ([]byte, error) {
	dst, err := c.prefix(dst, len(b))
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// prefix appends the prefix for an n-byte payload to dst.
func (c *FrameConfig) prefix(dst []byte, n int) ([]byte, error) {
	size, order, max, err := c.resolved()
	if err != nil {
		return dst, err
	}
	limit := uint64(math.MaxUint64)
	if size < 8 {
		limit = 1<<(8*size) - 1
	}
	if n > max || uint64(n) > limit {
		return dst, fmt.Errorf("protocol: a %d-byte frame is longer than the maximum of %d bytes (or than a %d-byte prefix counts): %w", n, max, size, ErrFrameTooLong)
	}
	if size == 1 {
		return append(dst, byte(n)), nil
	}
	dst = append(dst, make([]byte, size)...)
	p := dst[len(dst)-size:]
	switch size {
	case 2:
		order.PutUint16(p, uint16(n))
	case 4:
		order.PutUint32(p, uint32(n))
	default:
		order.PutUint64(p, uint64(n))
	}
	return dst, nil
}
