package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// mallocs returns how many heap allocations f made (f runs once, unlike
// with testing.AllocsPerRun).
func mallocs(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// A 10 MiB line fed a byte at a time is searched at most twice over (the
// decoder's scan counter: bytes the delimiter search looked at, once per
// look), and its bytes are buffered in a few dozen allocations (a buffer
// that doubles), not one per byte; so is a 1 MiB line for a two-byte
// delimiter and for one whose partial matches overlap ("aab" after a run
// of 'a's: the match stays two bytes long all along). Twisted's
// LineReceiver searched its whole buffer again on every read.
func TestLongLineByteAtATimeIsLinear(t *testing.T) {
	for _, c := range []struct {
		delim string
		size  int
	}{{"\n", 10 << 20}, {"\r\n", 1 << 20}, {"aab", 1 << 20}} {
		delim, size := c.delim, c.size
		t.Run(fmt.Sprintf("delim=%q", delim), func(t *testing.T) {
			var got int
			d := NewLineDecoder(LineConfig{Delimiter: delim, MaxLength: size + 1}, func(l []byte) { got = len(l) })
			line := bytes.Repeat([]byte("a"), size) // for "aab", a partial match all along
			allocs := mallocs(func() {
				for i := range line {
					if err := d.Feed(line[i : i+1]); err != nil {
						t.Fatal(err)
					}
				}
			})
			for i := range len(delim) {
				d.Feed([]byte(delim[i : i+1]))
			}
			total := int64(size + len(delim))
			if got != size {
				t.Fatalf("line of %d bytes, want %d", got, size)
			}
			if d.scanned > 2*total {
				t.Errorf("scanned %d bytes for a %d-byte stream: more than twice", d.scanned, total)
			}
			if allocs > 64 {
				t.Errorf("%v allocations to buffer a %d-byte line", allocs, size)
			}
			t.Logf("scanned %d bytes of %d (%.3f×), %v allocations", d.scanned, total, float64(d.scanned)/float64(total), allocs)
		})
	}
}

// Many lines in random pieces (1 to 200 bytes) are scanned at most twice
// over too, and one-shot about once.
func TestManyLinesScannedLinearly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	for range 20000 {
		stream = append(stream, bytes.Repeat([]byte{'x'}, rng.IntN(300))...)
		stream = append(stream, "\r\n"...)
	}
	for _, delim := range []string{"\n", "\r\n"} {
		n := 0
		d := NewLineDecoder(LineConfig{Delimiter: delim}, func([]byte) { n++ })
		for off := 0; off < len(stream); {
			k := min(1+rng.IntN(200), len(stream)-off)
			d.Feed(stream[off : off+k])
			off += k
		}
		if n != 20000 {
			t.Fatalf("%q: %d lines, want 20000", delim, n)
		}
		if d.scanned > 2*int64(len(stream)) {
			t.Errorf("%q in pieces: scanned %d of %d bytes", delim, d.scanned, len(stream))
		}
		one := NewLineDecoder(LineConfig{Delimiter: delim}, func([]byte) {})
		one.Feed(stream)
		if one.scanned > int64(len(stream)) {
			t.Errorf("%q one-shot: scanned %d of %d bytes", delim, one.scanned, len(stream))
		}
	}
}

// A netstring or a frame of 1 MiB fed a byte at a time is buffered in a
// few dozen allocations.
func TestLongFramesByteAtATimeAreLinear(t *testing.T) {
	const size = 1 << 20
	payload := bytes.Repeat([]byte("z"), size)
	cases := []struct {
		name string
		enc  func([]byte) []byte
		dec  func(func([]byte)) interface{ Feed([]byte) error }
	}{
		{"netstring", func(b []byte) []byte { s, _ := NetstringConfig{MaxLength: size}.Append(nil, b); return s },
			func(f func([]byte)) interface{ Feed([]byte) error } {
				return NewNetstringDecoder(NetstringConfig{MaxLength: size}, f)
			}},
		{"frame", func(b []byte) []byte { s, _ := FrameConfig{MaxLength: size}.Append(nil, b); return s },
			func(f func([]byte)) interface{ Feed([]byte) error } {
				return NewFrameDecoder(FrameConfig{MaxLength: size}, f)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := c.enc(payload)
			var got []byte
			d := c.dec(func(p []byte) { got = p[:len(p):len(p)] })
			allocs := mallocs(func() {
				for i := range stream {
					if err := d.Feed(stream[i : i+1]); err != nil {
						t.Fatal(err)
					}
				}
			})
			if !bytes.Equal(got, payload) {
				t.Fatalf("payload of %d bytes, want %d", len(got), size)
			}
			if allocs > 64 {
				t.Errorf("%v allocations to buffer a %d-byte payload", allocs, size)
			}
		})
	}
}

// A prefix announcing more than the maximum, up to 2⁶⁴-1, is refused as
// soon as it is read, with nothing allocated for the frame; so is a
// netstring's length, at the digit that takes it over the maximum.
func TestHugeLengthAllocatesNothing(t *testing.T) {
	for _, size := range []int{1, 2, 4, 8} {
		d := NewFrameDecoder(FrameConfig{PrefixSize: size, MaxLength: 100}, func([]byte) { t.Error("frame delivered") })
		hdr := bytes.Repeat([]byte{0xff}, size)
		err := d.Feed(append(hdr, "some payload"...))
		if !errors.Is(err, ErrFrameTooLong) {
			t.Fatalf("prefix of %d bytes: %v, want ErrFrameTooLong", size, err)
		}
		if cap(d.frame) != 0 || d.Buffered() != 0 {
			t.Errorf("prefix of %d bytes: buffer of %d bytes, %d held", size, cap(d.frame), d.Buffered())
		}
	}
	n := NewNetstringDecoder(NetstringConfig{}, func([]byte) { t.Error("payload delivered") })
	err := n.Feed([]byte("1048577:"))
	if !errors.Is(err, ErrFrameTooLong) || cap(n.frame) != 0 {
		t.Fatalf("got %v with a buffer of %d bytes, want ErrFrameTooLong and none", err, cap(n.frame))
	}
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Offset != 0 {
		t.Fatalf("got %#v", err)
	}
	// The digit that takes it over, not the colon, is where it stops.
	n = NewNetstringDecoder(NetstringConfig{}, func([]byte) {})
	if err := n.Feed([]byte("104857")); err != nil {
		t.Fatal(err)
	}
	if err := n.Feed([]byte("7")); !errors.Is(err, ErrFrameTooLong) {
		t.Fatalf("seventh digit: %v, want ErrFrameTooLong", err)
	}
}

// A netstring announcing the maximum, with none of its payload sent yet,
// holds nothing; as the payload arrives the buffer grows with it, not to
// the length announced.
func TestAnnouncedLengthIsNotPreallocated(t *testing.T) {
	d := NewNetstringDecoder(NetstringConfig{}, func([]byte) {})
	d.Feed([]byte("1048576:"))
	if cap(d.frame) != 0 {
		t.Fatalf("%d bytes allocated before any payload", cap(d.frame))
	}
	d.Feed(make([]byte, 1000))
	if cap(d.frame) > 2048 {
		t.Fatalf("%d bytes allocated for 1000 received", cap(d.frame))
	}
	f := NewFrameDecoder(FrameConfig{}, func([]byte) {})
	f.Feed([]byte{0, 0x10, 0, 0})
	f.Feed(make([]byte, 10))
	if cap(f.frame) > 64 {
		t.Fatalf("%d bytes allocated for 10 received", cap(f.frame))
	}
}

// A maximum as large as an int can be still makes a buffer that doubles:
// a 1 MiB line in 100-byte reads takes a few dozen allocations.
func TestLineHugeMaximum(t *testing.T) {
	n := 0
	d := NewLineDecoder(LineConfig{MaxLength: math.MaxInt, Delimiter: "\r\n"}, func(l []byte) { n = len(l) })
	line := bytes.Repeat([]byte("m"), 1<<20)
	allocs := mallocs(func() {
		for i := 0; i < len(line); i += 100 {
			d.Feed(line[i:min(i+100, len(line))])
		}
	})
	d.Feed([]byte("\r\n"))
	if n != len(line) {
		t.Fatalf("a line of %d bytes, want %d", n, len(line))
	}
	if allocs > 64 {
		t.Errorf("%d allocations to buffer a %d-byte line", allocs, len(line))
	}
}
