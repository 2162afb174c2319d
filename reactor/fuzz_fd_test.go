package reactor_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"golang.org/x/sys/unix"
)

// FuzzFDs plays random sequences of descriptor operations on every
// backend, checked against a model: pipes and socket pairs are made,
// watched and unwatched, written to, copied with dup, closed (watched or
// not, a program bug the reactor must survive) and their numbers reused
// with dup2, with passes in between. The model checks that
//
//   - nothing crashes and nothing unexpected is logged;
//   - no callback runs for a registration after RemoveReader/RemoveWriter,
//     nor for a closed descriptor whose file is closed everywhere;
//   - readiness is not lost: a reader whose data waits is called within a
//     few passes;
//   - with nothing ready the loop sleeps: no callback, BackendFD not
//     readable, a bounded number of passes in a short real-time window;
//   - no descriptor is left open at the end.
//
// Each input is two bytes per operation: the operation, then which
// descriptor it applies to. The first byte chooses whether BackendFD is
// asked for (embedding, as the GUI loops do).
func FuzzFDs(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0, 0, 2, 0, 6, 0, 10, 0, 11, 0},
		{1, 1, 0, 2, 0, 2, 1, 6, 0, 6, 1, 10, 0, 3, 0, 11, 0},
		// Watched, copied, closed before RemoveReader, then its file made
		// readable through the copy; then its number reused.
		{0, 0, 0, 2, 0, 8, 0, 7, 0, 3, 0, 6, 0, 11, 0},
		{1, 0, 0, 2, 0, 8, 0, 7, 0, 3, 0, 6, 0, 11, 0},
		{0, 0, 0, 2, 0, 8, 0, 6, 0, 10, 0, 7, 0, 10, 0, 3, 0, 9, 0, 2, 0, 6, 1, 11, 0},
		{1, 1, 0, 2, 0, 8, 0, 7, 0, 6, 0, 9, 1, 10, 0, 3, 0, 2, 0, 6, 0, 11, 0},
		{0, 0, 0, 2, 0, 8, 0, 7, 0, 3, 0, 0, 0, 2, 1, 6, 0, 11, 0, 6, 2, 11, 0},
		// Writers on sockets, removed by their own callbacks.
		{0, 1, 0, 4, 0, 2, 1, 6, 1, 10, 0, 10, 0, 5, 0, 11, 0},
		// Many readers, the set shrinking between passes.
		{0, 0, 0, 0, 1, 0, 2, 1, 0, 1, 1, 2, 0, 2, 1, 2, 2, 2, 3, 2, 4, 6, 4, 10, 0,
			3, 0, 3, 1, 3, 2, 6, 3, 10, 0, 11, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		for _, backend := range reactor.Backends() {
			m := newFDModel(t, backend, len(ops) > 0 && ops[0]&1 != 0)
			if len(ops) > 0 {
				ops := ops[1:]
				for i := 0; i+1 < len(ops) && !t.Failed(); i += 2 {
					m.step(ops[i], ops[i+1])
				}
			}
			m.settle()
			m.quiet()
			m.end()
			if t.Failed() {
				t.Fatalf("backend %s, ops %v", backend, ops)
			}
		}
	})
}

// fzFile is an open file description of the model: a pipe's read end,
// its write end, or one end of a socket pair.
type fzFile struct {
	kind    string // "pipe-r", "pipe-w", "sock"
	peer    *fzFile
	fds     map[int]bool // the descriptors that refer to it
	pending int          // bytes written to it, not read yet
}

func (f *fzFile) alive() bool    { return len(f.fds) > 0 }
func (f *fzFile) readable() bool { return f.kind != "pipe-w" }
func (f *fzFile) anyFD() int {
	for fd := range f.fds {
		return fd
	}
	return -1
}

// eof: no descriptor of the peer is open, so reads return end of file.
func (f *fzFile) eof() bool { return !f.peer.alive() }

// fzReg is one AddReader or AddWriter as the model knows it.
type fzReg struct {
	num    int
	file   *fzFile // what num named when it was added
	writer bool
	// poisoned: num was closed while registered (or shares its number
	// with a registration that was); the backend may report it until
	// it is removed, or forget it.
	poisoned bool
	removed  bool
	calls    int
}

type fdModel struct {
	t       *testing.T
	backend string
	r       *reactor.Reactor
	bfd     int // -1 unless BackendFD was asked for
	log     bytes.Buffer

	byNum   map[int]*fzFile
	readers map[int]*fzReg
	writers map[int]*fzReg
	closed  []int // numbers this model closed, candidates for reuse
	calls   int   // callbacks run, in total
	before  int   // descriptors open before the model made any

	quietChecks int
}

const fzMaxOpen = 24

func newFDModel(t *testing.T, backend string, embed bool) *fdModel {
	m := &fdModel{t: t, backend: backend, bfd: -1,
		byNum: map[int]*fzFile{}, readers: map[int]*fzReg{}, writers: map[int]*fzReg{}}
	m.before = reactortest.OpenFDs(t)
	r, err := reactor.New(reactor.WithBackend(backend), reactor.WithoutSignalHandlers(),
		reactor.WithLogger(slog.New(slog.NewTextHandler(&m.log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	m.r = r
	if embed {
		if m.bfd, err = r.BackendFD(); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *fdModel) fail(format string, args ...any) {
	m.t.Helper()
	m.t.Errorf("%s: "+format, append([]any{m.backend}, args...)...)
}

// nums lists the open numbers of the model that pass keep, in order.
func (m *fdModel) nums(keep func(int, *fzFile) bool) []int {
	var out []int
	for fd := 0; len(out) < len(m.byNum) && fd < 1<<16; fd++ {
		if f, ok := m.byNum[fd]; ok && keep(fd, f) {
			out = append(out, fd)
		}
	}
	return out
}

func pick(nums []int, arg byte) (int, bool) {
	if len(nums) == 0 {
		return -1, false
	}
	return nums[int(arg)%len(nums)], true
}

func (m *fdModel) own(fd int, f *fzFile) {
	m.byNum[fd] = f
	f.fds[fd] = true
}

func (m *fdModel) step(op, arg byte) {
	switch op % 12 {
	case 0, 1: // a new pipe, or socket pair
		if len(m.byNum)+2 > fzMaxOpen {
			return
		}
		a := &fzFile{fds: map[int]bool{}}
		b := &fzFile{fds: map[int]bool{}, peer: a}
		a.peer = b
		mk := nonblockingPipe
		a.kind, b.kind = "pipe-r", "pipe-w"
		if op%12 == 1 {
			mk = nonblockingSocketpair
			a.kind, b.kind = "sock", "sock"
		}
		x, y, err := mk()
		if err != nil {
			m.t.Fatal(err)
		}
		m.own(x, a)
		m.own(y, b)
	case 2: // AddReader
		fd, ok := pick(m.nums(func(fd int, f *fzFile) bool { return f.readable() }), arg)
		if ok {
			m.add(fd, false)
		}
	case 3: // RemoveReader
		if fd, ok := pick(m.regNums(m.readers), arg); ok {
			m.remove(fd, false)
		}
	case 4: // AddWriter: sockets only, which stay writable
		fd, ok := pick(m.nums(func(fd int, f *fzFile) bool { return f.kind == "sock" }), arg)
		if ok {
			m.add(fd, true)
		}
	case 5: // RemoveWriter
		if fd, ok := pick(m.regNums(m.writers), arg); ok {
			m.remove(fd, true)
		}
	case 6: // make a file readable: write to it through its peer
		fd, ok := pick(m.nums(func(fd int, f *fzFile) bool { return f.readable() && f.peer.alive() }), arg)
		if !ok {
			return
		}
		f := m.byNum[fd]
		if n, err := unix.Write(f.peer.anyFD(), []byte{arg}); err == nil && n == 1 {
			f.pending++
		}
	case 7: // close a descriptor, watched or not
		if fd, ok := pick(m.nums(func(int, *fzFile) bool { return true }), arg); ok {
			m.close(fd)
		}
	case 8: // dup
		if len(m.byNum) >= fzMaxOpen {
			return
		}
		fd, ok := pick(m.nums(func(int, *fzFile) bool { return true }), arg)
		if !ok {
			return
		}
		cp, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			m.t.Fatal(err)
		}
		m.own(cp, m.byNum[fd])
	case 9: // reuse a number this model closed, for a copy of another
		if len(m.closed) == 0 {
			return
		}
		num := m.closed[int(arg)%len(m.closed)]
		src, ok := pick(m.nums(func(int, *fzFile) bool { return true }), arg/3)
		if !ok {
			return
		}
		if _, err := unix.FcntlInt(uintptr(num), unix.F_GETFD, 0); err != unix.EBADF {
			return // taken since (by the model, or by the reactor)
		}
		if err := dupOnto(src, num); err != nil {
			m.t.Fatal(err)
		}
		m.own(num, m.byNum[src])
	case 10: // a pass that does not block
		m.pass(0)
	case 11: // settle, then check that the loop sleeps
		m.settle()
		if m.quietChecks < 6 { // each takes milliseconds
			m.quietChecks++
			m.quiet()
		}
	}
}

func (m *fdModel) regNums(regs map[int]*fzReg) []int {
	var out []int
	for fd := 0; len(out) < len(regs) && fd < 1<<16; fd++ {
		if _, ok := regs[fd]; ok {
			out = append(out, fd)
		}
	}
	return out
}

// poisonedOn reports whether a registration on num is poisoned.
func (m *fdModel) poisonedOn(num int) bool {
	rd, wr := m.readers[num], m.writers[num]
	return rd != nil && rd.poisoned || wr != nil && wr.poisoned
}

func (m *fdModel) forget(num int) {
	for _, regs := range []map[int]*fzReg{m.readers, m.writers} {
		if g := regs[num]; g != nil {
			g.removed = true
			delete(regs, num)
		}
	}
}

func (m *fdModel) add(fd int, writer bool) {
	regs, add, what := m.readers, m.r.AddReader, "AddReader"
	if writer {
		regs, add, what = m.writers, m.r.AddWriter, "AddWriter"
	}
	g := &fzReg{num: fd, file: m.byNum[fd], writer: writer, poisoned: m.poisonedOn(fd)}
	err := add(fd, func() { m.called(g) })
	old := regs[fd]
	switch {
	case err == nil:
		if old != nil && !old.poisoned {
			m.fail("%s(%d) twice succeeded", what, fd)
		}
		if old != nil {
			old.removed = true // the reactor had forgotten it
		}
		regs[fd] = g
	case errors.Is(err, reactor.ErrAlreadyWatched):
		if old == nil {
			m.fail("%s(%d): %v, but nothing watched it", what, fd, err)
		}
	case m.poisonedOn(fd):
		// A Modify of a closed registration fails: the reactor forgets
		// every registration on the number.
		m.forget(fd)
	default:
		m.fail("%s(%d) of an open descriptor: %v", what, fd, err)
	}
}

func (m *fdModel) remove(fd int, writer bool) {
	regs := m.readers
	if writer {
		regs = m.writers
		m.r.RemoveWriter(fd)
	} else {
		m.r.RemoveReader(fd)
	}
	if g := regs[fd]; g != nil {
		g.removed = true
		delete(regs, fd)
	}
	if m.poisonedOn(fd) {
		// The other direction's Modify may have failed: the reactor
		// forgot it too, or still has it; either is allowed.
		for _, g := range []*fzReg{m.readers[fd], m.writers[fd]} {
			if g != nil {
				g.poisoned = true
			}
		}
	}
}

func (m *fdModel) close(fd int) {
	f := m.byNum[fd]
	if err := unix.Close(fd); err != nil {
		m.t.Fatal(err)
	}
	delete(m.byNum, fd)
	delete(f.fds, fd)
	m.closed = append(m.closed, fd)
	if len(m.closed) > 8 {
		m.closed = m.closed[1:]
	}
	for _, g := range []*fzReg{m.readers[fd], m.writers[fd]} {
		if g != nil {
			g.poisoned = true
		}
	}
	if !f.alive() {
		f.pending = 0
	}
}

// called is every callback: it checks the registration may be called,
// then does what a program would: a reader drains what it reads and
// removes itself at end of file, a writer removes itself.
func (m *fdModel) called(g *fzReg) {
	m.calls++
	g.calls++
	if g.removed {
		m.fail("callback for fd %d (writer %v) after its removal", g.num, g.writer)
		return
	}
	_, open := m.byNum[g.num]
	if !open && !g.file.alive() {
		m.fail("callback for fd %d (writer %v), closed, its file closed everywhere", g.num, g.writer)
	}
	if g.writer {
		m.r.RemoveWriter(g.num)
		g.removed = true
		delete(m.writers, g.num)
		return
	}
	eof := m.drain(g.file)
	if cur := m.byNum[g.num]; cur != nil && cur != g.file {
		eof = m.drain(cur) || eof
	}
	if eof {
		m.r.RemoveReader(g.num)
		g.removed = true
		delete(m.readers, g.num)
	}
}

// drain reads f empty through any of its descriptors and reports end of
// file (or a reset).
func (m *fdModel) drain(f *fzFile) bool {
	fd := f.anyFD()
	if fd < 0 || !f.readable() {
		return false
	}
	var buf [256]byte
	for {
		n, err := unix.Read(fd, buf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		case err != nil || n == 0:
			f.pending = 0
			return true
		}
		f.pending -= n
	}
}

func (m *fdModel) pass(timeout time.Duration) {
	if err := m.r.RunOnce(timeout); err != nil {
		m.t.Fatal(err)
	}
}

// ready reports whether, in the model, something is there to dispatch.
func (m *fdModel) ready() (any, lost bool) {
	if len(m.writers) > 0 {
		return true, false
	}
	for num, g := range m.readers {
		files := []*fzFile{g.file}
		if cur := m.byNum[num]; g.poisoned && cur != nil && cur != g.file {
			files = append(files, cur)
		}
		for _, f := range files {
			if f.alive() && (f.pending > 0 || f.eof()) {
				any = true
				lost = lost || !g.poisoned
			}
		}
	}
	return any, lost
}

// settle runs passes until, in the model, nothing is ready.
func (m *fdModel) settle() {
	for range 20 {
		if any, _ := m.ready(); !any {
			return
		}
		m.pass(0)
	}
	if _, lost := m.ready(); lost && m.backend == "poll" && m.bfd >= 0 {
		// The embedding goroutine's poll(2) may hold a file closed
		// while registered, its peer's end of file with it, until it
		// wakes (within a second; the poller's own test checks that):
		// a wakeup makes it let go now.
		m.r.CallFromGoroutine(func() {})
		for start := time.Now(); lost && time.Since(start) < 3*time.Second; _, lost = m.ready() {
			m.pass(5 * time.Millisecond)
		}
	}
	if _, lost := m.ready(); lost {
		m.fail("readiness lost: after 20 passes a reader still has data or end of file waiting (readers %v)", m.describe())
	}
}

func (m *fdModel) describe() string {
	var b strings.Builder
	for num, g := range m.readers {
		fmt.Fprintf(&b, "fd %d: pending %d eof %v poisoned %v calls %d; ", num, g.file.pending, g.file.eof(), g.poisoned, g.calls)
	}
	return b.String()
}

// quiet checks, when nothing is ready, that the loop sleeps.
func (m *fdModel) quiet() {
	if any, _ := m.ready(); any {
		return // a poisoned registration the backend kept: nothing to say
	}
	m.pass(0) // a leftover's one early return, if any
	calls := m.calls
	passes := 0
	for start := time.Now(); time.Since(start) < 2*time.Millisecond; passes++ {
		m.pass(time.Millisecond)
	}
	if m.calls != calls {
		m.fail("%d callbacks with nothing ready", m.calls-calls)
	}
	// Sleeping, a pass takes 1ms; spinning, microseconds.
	if passes > 20 {
		m.fail("%d passes in 2ms with nothing ready: the loop spins", passes)
	}
	if m.bfd >= 0 {
		p := []unix.PollFd{{Fd: int32(m.bfd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(p, 1); n > 0 {
			m.fail("BackendFD readable with nothing ready")
		}
	}
}

// end removes and closes everything and checks nothing is left open.
func (m *fdModel) end() {
	m.r.RemoveAll()
	for fd := range m.byNum {
		unix.Close(fd)
	}
	if err := m.r.Close(); err != nil {
		m.fail("Close: %v", err)
	}
	if after := reactortest.OpenFDs(m.t); after != m.before {
		m.fail("%d descriptors open before, %d after", m.before, after)
	}
	for _, line := range strings.Split(strings.TrimSpace(m.log.String()), "\n") {
		if line != "" && !strings.Contains(line, "closed while watched") {
			m.fail("unexpected log: %s", line)
		}
	}
}
