package headlesstest

import (
	"fmt"
	"image"
	"image/color"
	"runtime"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"go.uber.org/goleak"

	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the reactor's conformance suite with the reactor
// driven through Fyne's test driver, once per backend.
func TestConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { reactortest.Run(t, newLoop(name)) })
	}
}

type loop struct {
	a fyne.App
	r *reactor.Reactor
}

func (l *loop) Reactor() *reactor.Reactor { return l.r }

func (l *loop) Run() error {
	p, err := fyneloop.Start(l.a, l.r, fyneloop.OnStop(nil))
	if err != nil {
		return err
	}
	<-p.Done()
	return p.Stop()
}

func newLoop(backend string) reactortest.NewLoop {
	return func(t *testing.T, opts ...reactor.Option) reactortest.Loop {
		t.Helper()
		r := newReactor(t, backend, opts...)
		// The poll backend opens its helper's descriptors on the first
		// BackendFD: open them before the case opens and closes
		// descriptors of its own (see the GLFW tests' newLoop).
		if _, err := r.BackendFD(); err != nil {
			t.Fatal(err)
		}
		return &loop{test.NewTempApp(t), r}
	}
}

func newReactor(t *testing.T, backend string, opts ...reactor.Option) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(append([]reactor.Option{reactor.WithBackend(backend)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// TestPassesRunOnThePumpGoroutine: with no loop in the driver, every
// callback runs on one goroutine, the pump's, never the caller's.
func TestPassesRunOnThePumpGoroutine(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	var mu sync.Mutex
	seen := map[uint64]int{}
	note := func() {
		mu.Lock()
		seen[goid()]++
		mu.Unlock()
	}
	n := 0
	var tick func()
	tick = func() {
		note()
		if n++; n == 20 {
			r.Stop()
			return
		}
		r.CallLater(time.Millisecond, tick)
	}
	r.CallSoon(tick)
	go func() {
		for range 20 {
			r.CallFromGoroutine(note)
		}
	}()
	p, err := fyneloop.Start(test.NewTempApp(t), r, fyneloop.OnStop(nil))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("callbacks ran on %d goroutines: %v", len(seen), seen)
	}
	if _, ok := seen[goid()]; ok {
		t.Fatal("callbacks ran on the test's goroutine")
	}
}

// TestStopFromCallbackInline: Stop called by a callback that the pump
// goroutine runs itself returns at once.
func TestStopFromCallbackInline(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t, reactor.Backends()[0])
	var p *fyneloop.Pump
	ready := make(chan struct{})
	returned := make(chan error, 1)
	r.CallSoon(func() {
		<-ready
		returned <- p.Stop()
	})
	p, err := fyneloop.Start(test.NewTempApp(t), r)
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	select {
	case err := <-returned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop in a callback did not return")
	}
	<-p.Done()
	if r.Stopped() {
		t.Error("the reactor stopped with the pump")
	}
}

// TestWidgets updates a Label and a ProgressBar from reactor timers on a
// fake clock, and checks the window: its rendering (Fyne's markup, a
// golden file in testdata) and its pixels at half and full progress.
func TestWidgets(t *testing.T) {
	reactortest.CheckLeaks(t)
	clk := reactortest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := newReactor(t, reactor.Backends()[0], reactor.WithClock(clk))
	a := test.NewTempApp(t)
	label := widget.NewLabel("waiting")
	bar := widget.NewProgressBar()
	w := test.NewTempWindow(t, container.NewVBox(label, bar))
	w.Resize(fyne.NewSize(300, 120))

	step := 0
	ticked := make(chan struct{}, 1)
	var tick func()
	tick = func() {
		defer func() { ticked <- struct{}{} }()
		step++
		bar.SetValue(float64(step) / 10)
		label.SetText(fmt.Sprintf("step %d of 10", step))
		if step == 5 || step == 10 {
			r.Stop()
		}
		if step < 10 {
			r.CallLater(time.Second, tick)
		}
	}
	r.CallLater(time.Second, tick)

	run := func(seconds int) {
		t.Helper()
		p, err := fyneloop.Start(a, r, fyneloop.OnStop(nil))
		if err != nil {
			t.Fatal(err)
		}
		for range seconds {
			clk.Advance(time.Second)
			select {
			case <-ticked:
			case <-time.After(5 * time.Second):
				t.Fatal("no tick 5s after the clock moved")
			}
		}
		<-p.Done()
		if err := p.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	primary := toNRGBA(theme.Color(theme.ColorNamePrimary))

	run(5)
	if step != 5 || bar.Value != 0.5 {
		t.Fatalf("step %d, bar %v after 5s", step, bar.Value)
	}
	half := count(w.Canvas().Capture(), primary)
	// The reactor stays stopped once stopped (an embedded reactor cannot
	// be restarted): a fresh one takes over the rest of the timers.
	r2 := newReactor(t, reactor.Backends()[0], reactor.WithClock(clk))
	r = r2
	r.CallLater(time.Second, tick)
	run(5)
	if step != 10 || bar.Value != 1 || label.Text != "step 10 of 10" {
		t.Fatalf("step %d, bar %v, label %q after 10s", step, bar.Value, label.Text)
	}
	full := count(w.Canvas().Capture(), primary)
	t.Logf("progress bar fill: %d pixels at half, %d at full", half, full)
	if half == 0 || full < half*3/2 || full > half*5/2 {
		t.Errorf("progress bar fill %d pixels at half, %d at full: want about twice", half, full)
	}
	test.AssertRendersToMarkup(t, "widgets.xml", w.Canvas())
}

func count(img image.Image, c color.NRGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if toNRGBA(img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}

func toNRGBA(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

// goid returns the calling goroutine's id, from its stack trace's first
// line, as Fyne's thread checks do.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	for _, c := range buf[len("goroutine "):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
