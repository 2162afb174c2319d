package watch

import "bytes"

// lineSplitter cuts a byte stream into lines ending in "\n", with a '\r'
// before it removed. It frames as protocol's LineDecoder does with the
// default delimiter and OverflowSkip: a line longer than max (the '\r'
// not counted) is dropped, none of it held, and its length told. It is
// the part of that codec Tail needs, kept here so that watch does not
// depend on the transport packages; Tail can take the codec instead
// (LineConfig{MaxLength: max, Overflow: OverflowSkip}) with the same
// results.
type lineSplitter struct {
	max      int
	buf      []byte // the unfinished line, at most max+1 bytes
	skipping bool   // dropping a line too long, up to its end
	skipN    int64  // bytes of it so far
}

// feed cuts b, calling line with each line completed (valid only during
// the call) and skip with the length of each line dropped. After each
// call it asks stop, and returns at once if stop says so; the rest of b
// is then dropped.
func (s *lineSplitter) feed(b []byte, line func([]byte), skip func(int64), stop func() bool) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.unfinished(b)
			return
		}
		part := b[:i]
		b = b[i+1:]
		if s.skipping {
			n := s.skipN + int64(len(part))
			s.skipping, s.skipN = false, 0
			skip(n)
		} else {
			ln := part
			if len(s.buf) > 0 {
				s.buf = append(s.buf, part...)
				ln = s.buf
			}
			s.deliver(ln, line, skip)
			s.buf = s.buf[:0]
		}
		if stop() {
			return
		}
	}
}

// unfinished keeps b, the continuation of a line whose end has not come,
// or drops it once the line is known to be too long.
func (s *lineSplitter) unfinished(b []byte) {
	if s.skipping {
		s.skipN += int64(len(b))
		return
	}
	n := len(s.buf) + len(b)
	if n > s.max && !(n == s.max+1 && b[len(b)-1] == '\r') {
		s.skipping, s.skipN = true, int64(n)
		s.buf = s.buf[:0]
		return
	}
	s.buf = append(s.buf, b...)
}

// deliver gives a complete line to line, or its length to skip if it is
// too long.
func (s *lineSplitter) deliver(ln []byte, line func([]byte), skip func(int64)) {
	n := len(ln)
	if n > 0 && ln[n-1] == '\r' {
		ln = ln[:n-1]
	}
	if len(ln) > s.max {
		skip(int64(n))
		return
	}
	line(ln)
}

// end tells the splitter its stream has ended: an unfinished last line
// is delivered (or, too long, skipped) as it is.
func (s *lineSplitter) end(line func([]byte), skip func(int64)) {
	switch {
	case s.skipping:
		n := s.skipN
		s.skipping, s.skipN = false, 0
		skip(n)
	case len(s.buf) > 0:
		ln := s.buf
		s.buf = s.buf[:0]
		s.deliver(ln, line, skip)
	}
}
