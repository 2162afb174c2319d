package protocol_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/transport"
)

// collector gathers what a decoder delivers.
type collector struct {
	lines []string
	skips []int64
}

func (c *collector) line(b []byte) { c.lines = append(c.lines, string(b)) }
func (c *collector) skip(n int64)  { c.skips = append(c.skips, n) }

func (c *collector) String() string { return fmt.Sprintf("lines %q skips %v", c.lines, c.skips) }

// feedAll feeds each piece in turn and returns the first error.
func feedAll(d interface{ Feed([]byte) error }, pieces ...string) error {
	for _, p := range pieces {
		if err := d.Feed([]byte(p)); err != nil {
			return err
		}
	}
	return nil
}

// The longest line accepted is MaxLength bytes and one more is refused,
// whether the line and its delimiter come in one read or the delimiter
// straddles two (split inside "\r\n", inside a two-byte delimiter, or
// just before it): with OverflowClose by an error wrapping
// ErrLineTooLong that says where the line began, with OverflowSkip by
// OnSkip with its length, the next line then delivered.
func TestLineMaxAcceptedAndMaxPlusOneRefused(t *testing.T) {
	configs := []struct {
		name  string
		cfg   protocol.LineConfig
		max   int
		delim string // what ends the line on the wire
	}{
		{"default", protocol.LineConfig{}, protocol.DefaultMaxLineLength, "\n"},
		{"default-crlf", protocol.LineConfig{}, protocol.DefaultMaxLineLength, "\r\n"},
		{"small-crlf", protocol.LineConfig{MaxLength: 8}, 8, "\r\n"},
		{"keepcr", protocol.LineConfig{MaxLength: 8, KeepCR: true}, 8, "\n"},
		{"delim-crlf", protocol.LineConfig{MaxLength: 8, Delimiter: "\r\n"}, 8, "\r\n"},
		{"delim-3", protocol.LineConfig{MaxLength: 8, Delimiter: "END"}, 8, "END"},
	}
	for _, c := range configs {
		for _, n := range []int{c.max, c.max + 1} {
			line := strings.Repeat("x", n)
			splits := map[string][]string{
				"one-read":     {"ab" + c.delim + line + c.delim + "next" + c.delim},
				"before-delim": {"ab" + c.delim + line, c.delim + "next" + c.delim},
				"byte-by-byte": strings.Split("ab"+c.delim+line+c.delim+"next"+c.delim, ""),
			}
			for i := 1; i < len(c.delim); i++ {
				splits[fmt.Sprintf("delim-split-%d", i)] = []string{"ab" + c.delim + line + c.delim[:i], c.delim[i:] + "next" + c.delim}
			}
			for sname, pieces := range splits {
				name := fmt.Sprintf("%s/%d/%s", c.name, n, sname)
				accepted := n <= c.max
				// OnSkip counts the bytes before the delimiter, a '\r' too.
				skipped := int64(n + len(c.delim) - len(c.cfg.Delimiter))
				if c.cfg.Delimiter == "" {
					skipped = int64(n + len(c.delim) - 1)
				}
				// OverflowClose.
				var got collector
				d := protocol.NewLineDecoder(c.cfg, got.line)
				err := feedAll(d, pieces...)
				if accepted {
					if err != nil || len(got.lines) != 3 || got.lines[1] != line || got.lines[2] != "next" {
						t.Errorf("%s: %v, %v; want the line accepted", name, err, &got)
					}
				} else {
					var fe *protocol.FrameError
					if !errors.Is(err, protocol.ErrLineTooLong) || !errors.As(err, &fe) || fe.Offset != int64(2+len(c.delim)) {
						t.Errorf("%s: error %v, want ErrLineTooLong at byte %d", name, err, 2+len(c.delim))
					}
					if len(got.lines) != 1 || got.lines[0] != "ab" {
						t.Errorf("%s: %v, want only the line before", name, &got)
					}
					if err := d.Feed([]byte("more\n")); !errors.Is(err, protocol.ErrLineTooLong) {
						t.Errorf("%s: Feed after the error returned %v", name, err)
					}
				}
				// OverflowSkip.
				got = collector{}
				cfg := c.cfg
				cfg.Overflow, cfg.OnSkip = protocol.OverflowSkip, got.skip
				d = protocol.NewLineDecoder(cfg, got.line)
				if err := feedAll(d, pieces...); err != nil {
					t.Errorf("%s: skip: %v", name, err)
				}
				switch {
				case accepted && (len(got.lines) != 3 || len(got.skips) != 0):
					t.Errorf("%s: skip: %v, want the line accepted", name, &got)
				case !accepted && (len(got.lines) != 2 || got.lines[1] != "next" || len(got.skips) != 1 || got.skips[0] != skipped):
					t.Errorf("%s: skip: %v, want %d skipped and the next line", name, &got, skipped)
				}
			}
		}
	}
}

// With the default delimiter a "\r" before "\n" is removed, and counts
// for nothing against the maximum; with KeepCR it stays and counts. Only
// one is removed.
func TestLineCarriageReturn(t *testing.T) {
	for _, c := range []struct {
		cfg  protocol.LineConfig
		in   string
		want []string
	}{
		{protocol.LineConfig{}, "a\r\nb\n\r\n\r\r\nc\rd\n", []string{"a", "b", "", "\r", "c\rd"}},
		{protocol.LineConfig{KeepCR: true}, "a\r\nb\n", []string{"a\r", "b"}},
		{protocol.LineConfig{Delimiter: "\r\n"}, "a\r\r\nb\nc\r\n", []string{"a", "b\nc"}},
		{protocol.LineConfig{Delimiter: "\r\n", KeepCR: true}, "a\r\r\n", []string{"a\r"}},
	} {
		var got collector
		d := protocol.NewLineDecoder(c.cfg, got.line)
		if err := d.Feed([]byte(c.in)); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.lines) != fmt.Sprint(c.want) || len(got.lines) != len(c.want) {
			t.Errorf("%+v %q: got %q, want %q", c.cfg, c.in, got.lines, c.want)
		}
	}
	var got collector
	d := protocol.NewLineDecoder(protocol.LineConfig{MaxLength: 3, KeepCR: true}, got.line)
	if err := d.Feed([]byte("abc\r\n")); !errors.Is(err, protocol.ErrLineTooLong) {
		t.Errorf("KeepCR, 3 bytes and a kept \\r: %v, want ErrLineTooLong", err)
	}
}

// Every split of an input gives the same lines: a table of awkward
// inputs cut at each point in two, and at each pair of points in three.
func TestLineEverySplit(t *testing.T) {
	inputs := []struct {
		cfg protocol.LineConfig
		in  string
	}{
		{protocol.LineConfig{}, "one\ntwo\r\n\nthree\r\r\nfour"},
		{protocol.LineConfig{Delimiter: "\r\n"}, "a\r\nb\r\r\n\r\n\rc\r\n"},
		{protocol.LineConfig{Delimiter: "abab"}, "xabababyababababzabab"},
		{protocol.LineConfig{Delimiter: "aab", MaxLength: 4}, "aaaab aaaaaaaab aab"},
		{protocol.LineConfig{MaxLength: 4, Overflow: protocol.OverflowSkip}, "12345\n1234\n123456789\r\n1234\r\n"},
	}
	for _, c := range inputs {
		var want collector
		cfg := c.cfg
		cfg.OnSkip = want.skip
		wantErr := protocol.NewLineDecoder(cfg, want.line).Feed([]byte(c.in))
		for i := 0; i <= len(c.in); i++ {
			for j := i; j <= len(c.in); j++ {
				var got collector
				cfg.OnSkip = got.skip
				err := feedAll(protocol.NewLineDecoder(cfg, got.line), c.in[:i], c.in[i:j], c.in[j:])
				if got.String() != want.String() || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Fatalf("%q split at %d, %d: %v, %v; want %v, %v", c.in, i, j, &got, err, &want, wantErr)
				}
			}
		}
	}
}

// A line function that pauses is the last called: the lines left in the
// bytes being fed, and the bytes fed while paused, are held and delivered
// in order by Resume, which a pause in a line it delivers stops again.
func TestLinePauseInsideCallback(t *testing.T) {
	var got []string
	var d *protocol.LineDecoder
	pauseAt := map[string]bool{"2": true, "4": true}
	d = protocol.NewLineDecoder(protocol.LineConfig{}, func(l []byte) {
		got = append(got, string(l))
		if pauseAt[string(l)] {
			d.Pause()
		}
	})
	if err := d.Feed([]byte("1\n2\n3\n4\n5\npart")); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2]" || !d.Paused() {
		t.Fatalf("after a pause at 2: %q, paused %v", got, d.Paused())
	}
	if n := d.Buffered(); n != len("3\n4\n5\npart") {
		t.Fatalf("Buffered %d, want the %d bytes after line 2", n, len("3\n4\n5\npart"))
	}
	if err := d.Feed([]byte("ial\n6\n")); err != nil || len(got) != 2 {
		t.Fatalf("Feed while paused delivered %q (%v)", got, err)
	}
	if err := d.Resume(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3 4]" || !d.Paused() {
		t.Fatalf("after Resume and a pause at 4: %q, paused %v", got, d.Paused())
	}
	if err := d.Resume(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3 4 5 partial 6]" || d.Paused() || d.Buffered() != 0 {
		t.Fatalf("after the last Resume: %q, paused %v, %d buffered", got, d.Paused(), d.Buffered())
	}
}

// Pausing and resuming in the same call, or resuming from a later line
// function, lets the delivery go on; Feed from a line function is
// refused, since the bytes being fed are not done with.
func TestLinePauseResumeInCallback(t *testing.T) {
	var got []string
	var d *protocol.LineDecoder
	var feedErr error
	d = protocol.NewLineDecoder(protocol.LineConfig{}, func(l []byte) {
		got = append(got, string(l))
		switch string(l) {
		case "a":
			d.Pause()
			d.Resume()
		case "b":
			feedErr = d.Feed([]byte("x\n"))
		}
	})
	if err := d.Feed([]byte("a\nb\nc\n")); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("got %q", got)
	}
	if feedErr == nil {
		t.Fatal("Feed from the line function was accepted")
	}
}

// The end of the stream in the middle of a line is reported, with where
// the line began and how much of it came; at a line's end it is not.
func TestLineEnd(t *testing.T) {
	d := protocol.NewLineDecoder(protocol.LineConfig{}, func([]byte) {})
	d.Feed([]byte("done\n"))
	if err := d.End(); err != nil {
		t.Fatalf("End after a whole line: %v", err)
	}
	d.Feed([]byte("half"))
	err := d.End()
	var fe *protocol.FrameError
	if !errors.Is(err, protocol.ErrTruncated) || !errors.As(err, &fe) || fe.Offset != 5 {
		t.Fatalf("End inside a line: %v", err)
	}
	if want := "protocol: line at byte 5: the stream ended 4 bytes into it"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestLineConfigRefused(t *testing.T) {
	for _, cfg := range []protocol.LineConfig{{MaxLength: -1}, {Overflow: 7}} {
		d := protocol.NewLineDecoder(cfg, func([]byte) { t.Error("line delivered") })
		if err := d.Feed([]byte("a\n")); !errors.Is(err, protocol.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
		if _, err := cfg.Append(nil, []byte("a")); !errors.Is(err, protocol.ErrConfig) {
			t.Errorf("%+v: Append: %v, want ErrConfig", cfg, err)
		}
	}
}

// Once its buffer has grown, a decoder allocates nothing per line,
// whether the lines lie within one Feed or span two.
func TestLinesAllocateNothing(t *testing.T) {
	var chunk []byte
	for i := range 1000 {
		chunk = append(chunk, strings.Repeat("y", i%200)...)
		chunk = append(chunk, "\r\n"...)
	}
	for _, delim := range []string{"", "\r\n"} {
		n := 0
		d := protocol.NewLineDecoder(protocol.LineConfig{Delimiter: delim}, func([]byte) { n++ })
		half := len(chunk)/2 + 7 // cuts a line
		feed := func() {
			d.Feed(chunk[:half])
			d.Feed(chunk[half:])
		}
		feed()
		if a := testing.AllocsPerRun(20, feed); a != 0 {
			t.Errorf("%q: %v allocations per %d lines", delim, a, 1000)
		}
		if n != 22000 {
			t.Fatalf("%q: %d lines", delim, n)
		}
	}
}

// writes records what is written to it.
type writes struct {
	transport.Transport // nil: only writing is used
	buf                 bytes.Buffer
	calls, vecs         int
	discard             bool
}

func (w *writes) Write(b []byte) error {
	w.calls++
	if !w.discard {
		w.buf.Write(b)
	}
	return nil
}

func (w *writes) Writev(bs [][]byte) error {
	w.calls++
	w.vecs++
	for _, b := range bs {
		if !w.discard {
			w.buf.Write(b)
		}
	}
	return nil
}

// WriteLine and LineConfig.Write send the line and its delimiter in one
// call, a long line by Writev, and allocate nothing; they refuse a line
// that holds the delimiter, also one that would begin it across the
// line's end (a delimiter whose start repeats, "abab"), and one that is
// too long. What Append builds decodes to the lines appended.
func TestWriteLine(t *testing.T) {
	w := &writes{}
	if err := protocol.WriteLine(w, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte("L"), 10000)
	if err := protocol.WriteLine(w, long); err != nil {
		t.Fatal(err)
	}
	if got := w.buf.String(); got != "hello\n"+string(long)+"\n" || w.calls != 2 || w.vecs != 1 {
		t.Fatalf("wrote %d bytes in %d calls (%d Writev)", len(got), w.calls, w.vecs)
	}
	for _, c := range []struct {
		cfg  protocol.LineConfig
		line string
		want error
	}{
		{protocol.LineConfig{}, "a\nb", protocol.ErrMalformed},
		{protocol.LineConfig{}, strings.Repeat("x", protocol.DefaultMaxLineLength+1), protocol.ErrLineTooLong},
		{protocol.LineConfig{}, strings.Repeat("x", protocol.DefaultMaxLineLength) + "\r", nil},
		{protocol.LineConfig{Delimiter: "abab"}, "xab", protocol.ErrMalformed},
		{protocol.LineConfig{Delimiter: "abab"}, "xaba", nil},
		{protocol.LineConfig{Delimiter: "abab"}, "aba", nil},
		{protocol.LineConfig{Delimiter: "abab"}, "ab", protocol.ErrMalformed},
		{protocol.LineConfig{Delimiter: "abab"}, "xabb", nil},
		{protocol.LineConfig{Delimiter: "aab"}, "xa", nil},
		{protocol.LineConfig{Delimiter: "\r\n"}, "a\rb\nc", nil},
		{protocol.LineConfig{Delimiter: "\r\n"}, "a\r", nil},
	} {
		w := &writes{}
		err := c.cfg.Write(w, []byte(c.line))
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%.20q with %+v: %v, want %v", c.line, c.cfg, err, c.want)
			continue
		}
		if err != nil {
			if w.calls != 0 {
				t.Errorf("%.20q: refused but written", c.line)
			}
			continue
		}
		// What was written decodes to the line, one line.
		var got collector
		protocol.NewLineDecoder(c.cfg, got.line).Feed(w.buf.Bytes())
		want := c.line
		if !c.cfg.KeepCR {
			want = strings.TrimSuffix(want, "\r")
		}
		if len(got.lines) != 1 || got.lines[0] != want {
			t.Errorf("%.20q with %+v decodes to %d lines, not to the line", c.line, c.cfg, len(got.lines))
		}
	}
	w.discard = true
	hello := []byte("hello")
	if a := testing.AllocsPerRun(100, func() { protocol.WriteLine(w, hello); protocol.WriteLine(w, long) }); a != 0 && !poolDropsUnderRace {
		t.Errorf("WriteLine: %v allocations", a)
	}
	cfg := protocol.LineConfig{Delimiter: "\r\n"}
	var msg []byte
	for _, l := range []string{"a", "", "b c"} {
		msg, _ = cfg.Append(msg, []byte(l))
	}
	if string(msg) != "a\r\n\r\nb c\r\n" {
		t.Errorf("Append built %q", msg)
	}
}
