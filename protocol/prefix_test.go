package protocol_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/loomkit/loom/protocol"
)

// Frames with 1-, 2-, 4- and 8-byte prefixes in either byte order come
// out as they went in, at every split, the longest allowed included; the
// prefixes are the bytes the byte order says.
func TestFramesEveryPrefix(t *testing.T) {
	for _, size := range []int{1, 2, 4, 8} {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			cfg := protocol.FrameConfig{PrefixSize: size, Order: order, MaxLength: 300}
			if size == 1 {
				cfg.MaxLength = 255
			}
			payloads := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte{0xAB}, cfg.MaxLength), []byte("z")}
			var stream []byte
			for _, p := range payloads {
				var err error
				if stream, err = cfg.Append(stream, p); err != nil {
					t.Fatal(err)
				}
			}
			// The first prefix, by hand.
			want := make([]byte, 8)
			order.PutUint64(want, 3)
			if order == binary.BigEndian {
				want = want[8-size:]
			} else {
				want = want[:size]
			}
			if !bytes.Equal(stream[:size], want) {
				t.Fatalf("%d-byte %v prefix of 3: % x, want % x", size, order, stream[:size], want)
			}
			name := fmt.Sprintf("%d-byte %v", size, order)
			eachSplit(string(stream), func(pieces ...string) {
				var got [][]byte
				d := protocol.NewFrameDecoder(cfg, func(f []byte) { got = append(got, bytes.Clone(f)) })
				if err := feedAll(d, pieces...); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(got) != len(payloads) {
					t.Fatalf("%s split %d,%d: %d frames", name, len(pieces[0]), len(pieces[1]), len(got))
				}
				for i := range got {
					if !bytes.Equal(got[i], payloads[i]) {
						t.Fatalf("%s: frame %d is %d bytes, want %d", name, i, len(got[i]), len(payloads[i]))
					}
				}
				if err := d.End(); err != nil {
					t.Fatalf("%s: End: %v", name, err)
				}
			})
		}
	}
}

// One byte over the maximum is refused when sending and when receiving,
// by its prefix, at every split of the prefix; a prefix the size cannot
// count is refused when sending.
func TestFrameMaxPlusOne(t *testing.T) {
	for _, size := range []int{1, 2, 4, 8} {
		cfg := protocol.FrameConfig{PrefixSize: size, MaxLength: 100}
		if _, err := cfg.Append(nil, make([]byte, 101)); !errors.Is(err, protocol.ErrFrameTooLong) {
			t.Fatalf("%d: Append of 101 bytes: %v", size, err)
		}
		hdr := make([]byte, 8)
		binary.BigEndian.PutUint64(hdr, 101)
		stream := append([]byte("\x00\x00\x00\x00\x00\x00\x00\x00"[:size]), hdr[8-size:]...)
		for cut := 0; cut <= len(stream); cut++ {
			n := 0
			d := protocol.NewFrameDecoder(cfg, func([]byte) { n++ })
			err := feedAll(d, string(stream[:cut]), string(stream[cut:]))
			want := fmt.Sprintf("protocol: frame at byte %d: length 101 is over the maximum of 100 bytes", size)
			if !errors.Is(err, protocol.ErrFrameTooLong) || err.Error() != want || n != 1 {
				t.Fatalf("%d-byte prefix cut at %d: %v after %d frames, want %q after 1", size, cut, err, n, want)
			}
		}
	}
	if _, err := (protocol.FrameConfig{PrefixSize: 1}).Append(nil, make([]byte, 256)); !errors.Is(err, protocol.ErrFrameTooLong) {
		t.Fatalf("256 bytes with a 1-byte prefix: %v", err)
	}
	if _, err := (protocol.FrameConfig{PrefixSize: 2, MaxLength: 1 << 20}).Append(nil, make([]byte, 1<<16)); !errors.Is(err, protocol.ErrFrameTooLong) {
		t.Fatalf("64 KiB with a 2-byte prefix: %v", err)
	}
}

// The largest prefix there is stops the decoder with a message that names
// it; a prefix size that does not exist is a configuration error.
func TestFrameHugePrefixAndBadConfig(t *testing.T) {
	d := protocol.NewFrameDecoder(protocol.FrameConfig{PrefixSize: 8}, func([]byte) {})
	err := d.Feed(bytes.Repeat([]byte{0xff}, 8))
	if want := "protocol: frame at byte 0: length 18446744073709551615 is over the maximum of 1048576 bytes"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	for _, cfg := range []protocol.FrameConfig{{PrefixSize: 3}, {PrefixSize: -1}, {MaxLength: -5}} {
		d := protocol.NewFrameDecoder(cfg, func([]byte) { t.Error("delivered") })
		if err := d.Feed([]byte{0, 0, 0, 0}); !errors.Is(err, protocol.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
		if err := cfg.Write(&writes{}, []byte("x")); !errors.Is(err, protocol.ErrConfig) {
			t.Errorf("%+v: Write: %v, want ErrConfig", cfg, err)
		}
	}
}

func TestFrameEnd(t *testing.T) {
	for _, in := range []string{"\x00", "\x00\x00\x00", "\x00\x00\x00\x02", "\x00\x00\x00\x02a"} {
		d := protocol.NewFrameDecoder(protocol.FrameConfig{}, func([]byte) {})
		d.Feed([]byte("\x00\x00\x00\x00" + in))
		err := d.End()
		want := fmt.Sprintf("protocol: frame at byte 4: the stream ended %d bytes into it", len(in))
		if !errors.Is(err, protocol.ErrTruncated) || err.Error() != want {
			t.Errorf("%q: End: %v, want %q", in, err, want)
		}
	}
}

// A decoder paused in its frame function holds the rest and goes on where
// it was.
func TestFramePause(t *testing.T) {
	var got []string
	var d *protocol.FrameDecoder
	d = protocol.NewFrameDecoder(protocol.FrameConfig{PrefixSize: 1}, func(p []byte) {
		got = append(got, string(p))
		if len(got)%2 == 1 {
			d.Pause()
		}
	})
	d.Feed([]byte("\x01a\x01b\x03cd"))
	if fmt.Sprint(got) != "[a]" {
		t.Fatalf("got %q", got)
	}
	d.Feed([]byte("e\x00"))
	d.Resume()
	if fmt.Sprint(got) != "[a b cde]" || !d.Paused() {
		t.Fatalf("got %q", got)
	}
	d.Resume()
	if fmt.Sprint(got) != "[a b cde ]" || d.Paused() || d.Buffered() != 0 {
		t.Fatalf("got %q, %d buffered", got, d.Buffered())
	}
}

// WriteFrame sends the prefix and the payload in one call, allocating
// nothing, a long payload by Writev.
func TestWriteFrame(t *testing.T) {
	w := &writes{}
	long := bytes.Repeat([]byte("f"), 4000)
	protocol.WriteFrame(w, []byte("hi"))
	protocol.WriteFrame(w, long)
	if want := "\x00\x00\x00\x02hi\x00\x00\x0f\xa0" + string(long); w.buf.String() != want || w.calls != 2 || w.vecs != 1 {
		t.Fatalf("wrote %.20q in %d calls (%d Writev)", w.buf.String(), w.calls, w.vecs)
	}
	w.discard = true
	hi := []byte("hi")
	cfg := protocol.FrameConfig{PrefixSize: 2, Order: binary.LittleEndian}
	if a := testing.AllocsPerRun(100, func() { protocol.WriteFrame(w, hi); cfg.Write(w, long) }); a != 0 && !poolDropsUnderRace {
		t.Errorf("WriteFrame: %v allocations", a)
	}
}

func TestFramesAllocateNothing(t *testing.T) {
	var stream []byte
	cfg := protocol.FrameConfig{PrefixSize: 2}
	for i := range 1000 {
		stream, _ = cfg.Append(stream, bytes.Repeat([]byte("s"), i%300))
	}
	n := 0
	d := protocol.NewFrameDecoder(cfg, func([]byte) { n++ })
	feed := func() {
		for off := 0; off < len(stream); off += 999 {
			d.Feed(stream[off:min(off+999, len(stream))])
		}
	}
	feed()
	if a := testing.AllocsPerRun(20, feed); a != 0 {
		t.Errorf("%v allocations per 1000 frames", a)
	}
	if n != 22000 { // AllocsPerRun runs it once more first
		t.Fatalf("%d frames", n)
	}
}
