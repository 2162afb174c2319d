package filewatch

import "sort"

// ring keeps the newest items pushed into it, at most its capacity,
// each numbered by a sequence number that counts every item ever pushed
// (the first is 1). An item is found by its number in constant time.
type ring[T any] struct {
	items []T
	first uint64 // the number of the oldest item kept; next when empty
	next  uint64 // the number the next item pushed gets
}

func newRing[T any](capacity int) *ring[T] {
	return &ring[T]{items: make([]T, capacity), first: 1, next: 1}
}

// push adds v, dropping the oldest item if the ring is full, and
// returns v's number.
func (r *ring[T]) push(v T) uint64 {
	seq := r.next
	r.items[seq%uint64(len(r.items))] = v
	r.next++
	if r.next-r.first > uint64(len(r.items)) {
		r.first++
	}
	return seq
}

// get returns the item numbered seq, if it is still kept.
func (r *ring[T]) get(seq uint64) (T, bool) {
	if seq < r.first || seq >= r.next {
		var zero T
		return zero, false
	}
	return r.items[seq%uint64(len(r.items))], true
}

func (r *ring[T]) len() int { return int(r.next - r.first) }

// clear drops every item; numbering goes on.
func (r *ring[T]) clear() {
	var zero T
	for i := range r.items {
		r.items[i] = zero
	}
	r.first = r.next
}

// seqList is an ordered list of sequence numbers, added at the back and
// dropped at the front, kept in a circular buffer: the rows a filter
// lets through, in order.
type seqList struct {
	buf   []uint64
	start int // index in buf of the first number
	n     int
}

func newSeqList(capacity int) *seqList { return &seqList{buf: make([]uint64, capacity)} }

func (l *seqList) at(i int) uint64 { return l.buf[(l.start+i)%len(l.buf)] }

func (l *seqList) push(seq uint64) {
	if l.n == len(l.buf) {
		l.start = (l.start + 1) % len(l.buf)
		l.n--
	}
	l.buf[(l.start+l.n)%len(l.buf)] = seq
	l.n++
}

// dropBelow drops the numbers under seq from the front and returns how
// many went.
func (l *seqList) dropBelow(seq uint64) int {
	d := 0
	for l.n > 0 && l.at(0) < seq {
		l.start = (l.start + 1) % len(l.buf)
		l.n--
		d++
	}
	return d
}

func (l *seqList) reset() { l.start, l.n = 0, 0 }

// countUpTo is how many numbers in the list are at most seq.
func (l *seqList) countUpTo(seq uint64) int {
	return sort.Search(l.n, func(i int) bool { return l.at(i) > seq })
}

// A Cursor is what a front end has shown of a list of rows (the event
// list, the tail pane): Changes compares it with the list as it is now
// and says what to do to the widget to bring it in line. The zero Cursor
// has shown nothing.
type Cursor struct {
	gen  uint64 // the list's generation shown: a new filter is a new one
	last uint64 // the number of the newest row shown
	n    int    // how many rows are shown
}

// Changes tell a front end how to bring a widget holding rows in line with
// the list: with Reset, drop every row it holds; then drop the Drop first
// rows; then append rows From to From+Added-1 (indexes in the list as it
// is now, for Row). Drop plus Added is at most the list's capacity (when
// dropping and adding would cost more than the rows the list has, Reset
// starts again with them), however many rows came and went since the
// last Changes: that is the most work a frame does.
type Changes struct {
	Reset bool `json:"reset"`
	Drop  int  `json:"drop"`
	From  int  `json:"from"`
	Added int  `json:"added"`
}

// Empty says there is nothing to do.
func (c Changes) Empty() bool { return !c.Reset && c.Drop == 0 && c.Added == 0 }

// changes compares cur with the list l of generation gen (whose rows'
// numbers are all below next) and moves cur to the list as it is.
func changes(l *seqList, gen, next uint64, cur *Cursor) Changes {
	var c Changes
	kept := 0
	if cur.gen != gen {
		c.Reset = cur.n > 0 || cur.gen != 0
	} else {
		kept = l.countUpTo(cur.last)
		c.Drop = cur.n - kept
		if c.Drop < 0 { // cannot happen: rows only go from the front
			c.Reset, c.Drop, kept = true, 0, 0
		}
	}
	if c.Drop > 0 && c.Drop+l.n-kept > l.n {
		// Dropping and adding would cost more than starting again.
		c.Reset, c.Drop, kept = true, 0, 0
	}
	c.From = kept
	c.Added = l.n - kept
	*cur = Cursor{gen: gen, last: next - 1, n: l.n}
	return c
}
