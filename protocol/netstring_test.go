package protocol_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/loomkit/loom/protocol"
)

// eachSplit calls f with in cut in two at every point, and in three at
// every pair of points for short inputs.
func eachSplit(in string, f func(pieces ...string)) {
	for i := 0; i <= len(in); i++ {
		f(in[:i], in[i:])
		if len(in) <= 40 {
			for j := i; j <= len(in); j++ {
				f(in[:i], in[i:j], in[j:])
			}
		}
	}
}

func TestNetstrings(t *testing.T) {
	in := "5:hello,0:,13:hello, world!,3:a,b,"
	want := []string{"hello", "", "hello, world!", "a,b"}
	eachSplit(in, func(pieces ...string) {
		var got collector
		d := protocol.NewNetstringDecoder(protocol.NetstringConfig{}, got.line)
		if err := feedAll(d, pieces...); err != nil {
			t.Fatalf("%q: %v", pieces, err)
		}
		if fmt.Sprintf("%q", got.lines) != fmt.Sprintf("%q", want) {
			t.Fatalf("%q: got %q", pieces, got.lines)
		}
		if err := d.End(); err != nil {
			t.Fatalf("%q: End: %v", pieces, err)
		}
	})
}

// Each way a netstring can be malformed stops the decoder with an error
// that says what and where, the same at every split; the netstrings
// before it are delivered. A length over the maximum is refused at the
// digit that takes it over, before its payload is read, and a length of
// many digits cannot overflow.
func TestNetstringErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want error
		msg  string
	}{
		{"2:ok,01:a,", 0, protocol.ErrMalformed, "protocol: netstring at byte 5: the length has a leading zero"},
		{"2:ok,00:,", 0, protocol.ErrMalformed, "protocol: netstring at byte 5: the length has a leading zero"},
		{"2:ok,:a,", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: ':' at byte 5 where the length's first digit belongs`},
		{"2:ok,1x:a,", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: 'x' at byte 6 where a digit or ':' belongs`},
		{"2:ok,-1:a,", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: '-' at byte 5 where the length's first digit belongs`},
		{"2:ok, 1:a,", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: ' ' at byte 5 where the length's first digit belongs`},
		{"2:ok,3:abc;", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: ';' at byte 10 where ',' belongs, after the 3-byte payload`},
		{"2:ok,3:abcd,", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: 'd' at byte 10 where ',' belongs, after the 3-byte payload`},
		{"2:ok,0:x", 0, protocol.ErrMalformed, `protocol: netstring at byte 5: 'x' at byte 7 where ',' belongs, after the 0-byte payload`},
		{"2:ok,1048577:", 0, protocol.ErrFrameTooLong, "protocol: netstring at byte 5: the length, 1048577 so far, is over the maximum of 1048576 bytes"},
		{"2:ok,99999999999999999999999999:", 0, protocol.ErrFrameTooLong, "protocol: netstring at byte 5: the length, 9999999 so far, is over the maximum of 1048576 bytes"},
		{"2:ok,6:hello!,", 5, protocol.ErrFrameTooLong, "protocol: netstring at byte 5: the length, 6 so far, is over the maximum of 5 bytes"},
		{"2:ok,10:", 9, protocol.ErrFrameTooLong, "protocol: netstring at byte 5: the length, 10 so far, is over the maximum of 9 bytes"},
	} {
		eachSplit(c.in, func(pieces ...string) {
			var got collector
			d := protocol.NewNetstringDecoder(protocol.NetstringConfig{MaxLength: c.max}, got.line)
			err := feedAll(d, pieces...)
			if !errors.Is(err, c.want) || err.Error() != c.msg {
				t.Fatalf("%q: %v, want %q", pieces, err, c.msg)
			}
			if len(got.lines) != 1 || got.lines[0] != "ok" {
				t.Fatalf("%q: delivered %q", pieces, got.lines)
			}
			if err := d.End(); err == nil || err.Error() != c.msg {
				t.Fatalf("%q: End: %v", pieces, err)
			}
		})
	}
}

// The maximum is accepted, one more refused, whatever the split.
func TestNetstringMax(t *testing.T) {
	for _, max := range []int{1, 9, 10, 100, protocol.DefaultMaxFrameLength} {
		cfg := protocol.NetstringConfig{MaxLength: max}
		if max == protocol.DefaultMaxFrameLength {
			cfg = protocol.NetstringConfig{}
		}
		payload := strings.Repeat("p", max)
		ok, err := cfg.Append(nil, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{1, len(ok) / 2, len(ok) - 1} {
			var got collector
			d := protocol.NewNetstringDecoder(cfg, got.line)
			if err := feedAll(d, string(ok[:cut]), string(ok[cut:])); err != nil || len(got.lines) != 1 || got.lines[0] != payload {
				t.Fatalf("max %d: %v, %d payloads", max, err, len(got.lines))
			}
		}
		if _, err := cfg.Append(nil, []byte(payload+"p")); !errors.Is(err, protocol.ErrFrameTooLong) {
			t.Fatalf("max %d: Append of max+1: %v", max, err)
		}
		over := fmt.Sprintf("%d:%s,", max+1, payload+"p")
		d := protocol.NewNetstringDecoder(cfg, func([]byte) { t.Fatal("delivered") })
		if err := d.Feed([]byte(over)); !errors.Is(err, protocol.ErrFrameTooLong) {
			t.Fatalf("max %d: max+1: %v", max, err)
		}
	}
}

func TestNetstringEnd(t *testing.T) {
	for _, in := range []string{"1", "12", "3:", "3:ab", "3:abc"} {
		d := protocol.NewNetstringDecoder(protocol.NetstringConfig{}, func([]byte) {})
		d.Feed([]byte("0:," + in))
		err := d.End()
		want := fmt.Sprintf("protocol: netstring at byte 3: the stream ended %d bytes into it", len(in))
		if !errors.Is(err, protocol.ErrTruncated) || err.Error() != want {
			t.Errorf("%q: End: %v, want %q", in, err, want)
		}
	}
}

// A decoder paused in its payload function holds the rest, even in the
// middle of a netstring, and goes on where it was.
func TestNetstringPause(t *testing.T) {
	var got []string
	var d *protocol.NetstringDecoder
	d = protocol.NewNetstringDecoder(protocol.NetstringConfig{}, func(p []byte) {
		got = append(got, string(p))
		d.Pause()
	})
	d.Feed([]byte("1:a,1:b,3:c"))
	d.Feed([]byte("de,"))
	for range 3 {
		if !d.Paused() {
			t.Fatalf("not paused after %q", got)
		}
		if err := d.Resume(); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[a b cde]" || d.Buffered() != 0 {
		t.Fatalf("got %q, %d buffered", got, d.Buffered())
	}
}

// WriteNetstring sends the netstring in one call, allocating nothing,
// a long payload by Writev; a payload over the maximum is refused.
func TestWriteNetstring(t *testing.T) {
	w := &writes{}
	long := bytes.Repeat([]byte("n"), 5000)
	for _, p := range [][]byte{[]byte("hello"), nil, long} {
		if err := protocol.WriteNetstring(w, p); err != nil {
			t.Fatal(err)
		}
	}
	if want := "5:hello,0:,5000:" + string(long) + ","; w.buf.String() != want || w.calls != 3 || w.vecs != 1 {
		t.Fatalf("wrote %.40q in %d calls (%d Writev)", w.buf.String(), w.calls, w.vecs)
	}
	big := make([]byte, protocol.DefaultMaxFrameLength+1)
	if err := protocol.WriteNetstring(w, big); !errors.Is(err, protocol.ErrFrameTooLong) || w.calls != 3 {
		t.Fatalf("payload over the maximum: %v", err)
	}
	w.discard = true
	hello := []byte("hello")
	if a := testing.AllocsPerRun(100, func() { protocol.WriteNetstring(w, hello); protocol.WriteNetstring(w, long) }); a != 0 && !poolDropsUnderRace {
		t.Errorf("WriteNetstring: %v allocations", a)
	}
}

func TestNetstringsAllocateNothing(t *testing.T) {
	var stream []byte
	cfg := protocol.NetstringConfig{}
	for i := range 1000 {
		stream, _ = cfg.Append(stream, bytes.Repeat([]byte("s"), i%300))
	}
	n := 0
	d := protocol.NewNetstringDecoder(cfg, func([]byte) { n++ })
	feed := func() {
		for off := 0; off < len(stream); off += 1000 {
			d.Feed(stream[off:min(off+1000, len(stream))])
		}
	}
	feed()
	if a := testing.AllocsPerRun(20, feed); a != 0 {
		t.Errorf("%v allocations per 1000 netstrings", a)
	}
	if n != 22000 { // AllocsPerRun runs it once more first
		t.Fatalf("%d netstrings", n)
	}
}
