package protocol_test

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/loomkit/loom/protocol"
	"github.com/loomkit/loom/transport"
)

// lineData returns about 4 MiB of lines of random lengths in [lo, hi),
// ending in eol.
func lineData(lo, hi int, eol string) []byte {
	rng := rand.New(rand.NewPCG(9, 9))
	var b []byte
	for len(b) < 4<<20 {
		n := lo + rng.IntN(hi-lo)
		for range n {
			b = append(b, 'a'+byte(rng.IntN(26)))
		}
		b = append(b, eol...)
	}
	return b
}

var lineSets = []struct {
	name string
	data []byte
}{
	{"short", lineData(0, 160, "\n")},
	{"short-crlf", lineData(0, 160, "\r\n")},
	{"long", lineData(3000, 5000, "\n")},
}

// BenchmarkLines compares a LineDecoder fed the bytes in reads of
// transport.ReadSize with bufio.Scanner's ScanLines reading them from a
// bytes.Reader with a buffer of the same size: the same bytes, the same
// lines ('\r' removed by both).
func BenchmarkLines(b *testing.B) {
	for _, set := range lineSets {
		want := 0
		sc := bufio.NewScanner(bytes.NewReader(set.data))
		for sc.Scan() {
			want++
		}
		b.Run(set.name+"/loom", func(b *testing.B) {
			n := 0
			d := protocol.NewLineDecoder(protocol.LineConfig{}, func(l []byte) { n++ })
			b.SetBytes(int64(len(set.data)))
			b.ReportAllocs()
			for b.Loop() {
				for off := 0; off < len(set.data); off += transport.ReadSize {
					d.Feed(set.data[off:min(off+transport.ReadSize, len(set.data))])
				}
			}
			if n != want*b.N {
				b.Fatalf("%d lines, want %d", n, want*b.N)
			}
		})
		b.Run(set.name+"/bufio.Scanner", func(b *testing.B) {
			n := 0
			buf := make([]byte, transport.ReadSize)
			b.SetBytes(int64(len(set.data)))
			b.ReportAllocs()
			for b.Loop() {
				sc := bufio.NewScanner(bytes.NewReader(set.data))
				sc.Buffer(buf, protocol.DefaultMaxLineLength)
				for sc.Scan() {
					n++
				}
			}
			if n != want*b.N {
				b.Fatalf("%d lines, want %d", n, want*b.N)
			}
		})
	}
	b.Run("short-crlf/loom-delim-crlf", func(b *testing.B) {
		data := lineSets[1].data
		d := protocol.NewLineDecoder(protocol.LineConfig{Delimiter: "\r\n"}, func([]byte) {})
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			for off := 0; off < len(data); off += transport.ReadSize {
				d.Feed(data[off:min(off+transport.ReadSize, len(data))])
			}
		}
	})
}

// BenchmarkLinesSmallReads feeds the short lines in reads of 100 bytes,
// so that most lines span two.
func BenchmarkLinesSmallReads(b *testing.B) {
	data := lineSets[0].data
	d := protocol.NewLineDecoder(protocol.LineConfig{}, func([]byte) {})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(data); off += 100 {
			d.Feed(data[off:min(off+100, len(data))])
		}
	}
}

func benchFrames(b *testing.B, d interface{ Feed([]byte) error }, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(data); off += transport.ReadSize {
			if err := d.Feed(data[off:min(off+transport.ReadSize, len(data))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func frameData(appendFrame func(dst, b []byte) ([]byte, error)) []byte {
	rng := rand.New(rand.NewPCG(8, 8))
	var data []byte
	for len(data) < 4<<20 {
		data, _ = appendFrame(data, make([]byte, rng.IntN(200)))
	}
	return data
}

func BenchmarkNetstrings(b *testing.B) {
	cfg := protocol.NetstringConfig{}
	benchFrames(b, protocol.NewNetstringDecoder(cfg, func([]byte) {}), frameData(cfg.Append))
}

func BenchmarkFrames(b *testing.B) {
	cfg := protocol.FrameConfig{}
	benchFrames(b, protocol.NewFrameDecoder(cfg, func([]byte) {}), frameData(cfg.Append))
}

func BenchmarkWriteLine(b *testing.B) {
	w := &writes{discard: true}
	line := []byte("a line of a typical length, some sixty bytes or so, give or take")
	b.SetBytes(int64(len(line) + 1))
	b.ReportAllocs()
	for b.Loop() {
		protocol.WriteLine(w, line)
	}
}
