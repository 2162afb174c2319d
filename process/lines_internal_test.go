package process

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

type piece struct {
	text    string
	partial bool
}

func split(chunks ...string) []piece {
	var ls lineSplitter
	var out []piece
	for _, c := range chunks {
		ls.feed([]byte(c), func(text []byte, partial bool) { out = append(out, piece{string(text), partial}) })
	}
	if rest := ls.rest(); rest != nil {
		out = append(out, piece{string(rest), true})
	}
	return out
}

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("x", LineLimit)
	for _, c := range []struct {
		name   string
		chunks []string
		want   []piece
	}{
		{"empty", nil, nil},
		{"lines", []string{"a\nb\r\n\nc"}, []piece{{"a", false}, {"b", false}, {"", false}, {"c", true}}},
		{"split across reads", []string{"he", "llo\r", "\nwor", "ld\n"}, []piece{{"hello", false}, {"world", false}}},
		{"a line of exactly the limit", []string{long + "\n"}, []piece{{long, false}}},
		{"the limit, then its newline in the next read", []string{long, "\nnext\n"}, []piece{{long, false}, {"next", false}}},
		{"the limit, CR, then LF in the next read", []string{long[1:] + "\r", "\n"}, []piece{{long[1:], false}}},
		{"one byte past the limit", []string{long + "y\n"}, []piece{{long, true}, {"y", false}}},
		{"past the limit in pieces", []string{long[:10], long[10:], long, "zz"}, []piece{{long, true}, {long, true}, {"zz", true}}},
	} {
		got := split(c.chunks...)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %d pieces %.80v, want %d %.80v", c.name, len(got), got, len(c.want), c.want)
		}
	}
}

// TestLineSplitterAnySplit cuts the same output at every place and gets
// the same lines.
func TestLineSplitterAnySplit(t *testing.T) {
	out := "first\r\nsecond\n\nthird line\nno newline"
	want := fmt.Sprint(split(out))
	for i := range len(out) + 1 {
		for j := i; j <= len(out); j++ {
			if got := fmt.Sprint(split(out[:i], out[i:j], out[j:])); got != want {
				t.Fatalf("cut at %d and %d: %s, want %s", i, j, got, want)
			}
		}
	}
}

func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), 3)
	f.Add([]byte("\r\r\n\n\r"), 2)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		cut = min(max(cut, 0), len(b))
		pieces := split(string(b[:cut]), string(b[cut:]))
		var joined bytes.Buffer
		for i, p := range pieces {
			if len(p.text) > LineLimit || strings.Contains(p.text, "\n") {
				t.Fatalf("piece %d: %d bytes, %q", i, len(p.text), p.text)
			}
			if p.partial && i < len(pieces)-1 && len(p.text) != LineLimit {
				t.Fatalf("piece %d: partial with %d bytes, not the last", i, len(p.text))
			}
			joined.WriteString(p.text)
			if !p.partial {
				joined.WriteByte('\n')
			}
		}
		// Every byte comes out, in order, but the CR of each CRLF.
		if want := strings.ReplaceAll(string(b), "\r\n", "\n"); joined.String() != want {
			t.Fatalf("%q gave %q, want %q", b, joined.String(), want)
		}
	})
}
