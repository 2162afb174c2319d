package hello

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

type view struct {
	clocks, progress, echoes []string
}

func (v *view) SetClock(s string) { v.clocks = append(v.clocks, s) }
func (v *view) SetProgress(f float64, s string) {
	v.progress = append(v.progress, s)
}
func (v *view) SetEcho(s string) { v.echoes = append(v.echoes, s) }

func newReactor(t *testing.T, opts ...reactor.Option) *reactor.Reactor {
	r, err := reactor.New(append(opts, reactor.WithoutSignalHandlers())...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func run(t *testing.T, r *reactor.Reactor) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClockTicksOnTheReactorClock(t *testing.T) {
	reactortest.CheckLeaks(t)
	clk := reactortest.NewClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	r := newReactor(t, reactor.WithClock(clk))
	v := &view{}
	a := New(r, v)
	for range 3 {
		clk.Advance(time.Second)
		r.RunOnce(0)
	}
	a.Close()
	want := "[09:00:00 09:00:01 09:00:02 09:00:03]"
	if got := strings.Join(v.clocks, " "); "["+got+"]" != want {
		t.Errorf("clock showed %v, want %v", v.clocks, want)
	}
}

func TestWorkReportsProgressThenResult(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	v := &view{}
	var a *App
	r.CallSoon(func() {
		a = New(r, v)
		a.StartWork(3, 5*time.Millisecond).AddBoth(func(any) any { a.Close(); r.Stop(); return nil })
	})
	run(t, r)
	want := []string{"working…", "step 1 of 3", "step 2 of 3", "step 3 of 3", "done: 3 steps"}
	if strings.Join(v.progress, "|") != strings.Join(want, "|") {
		t.Errorf("progress %q, want %q", v.progress, want)
	}
}

func TestWorkCancelledBySecondPress(t *testing.T) {
	reactortest.CheckLeaks(t)
	r := newReactor(t)
	v := &view{}
	var err error
	r.CallSoon(func() {
		a := New(r, v)
		d := a.StartWork(100, 20*time.Millisecond)
		d.AddErrback(func(e error) any { err = e; return nil })
		r.CallLater(50*time.Millisecond, func() {
			a.StartWork(100, 20*time.Millisecond) // the same button again
			r.CallLater(50*time.Millisecond, func() { a.Close(); r.Stop() })
		})
	})
	run(t, r)
	if !errors.Is(err, deferred.ErrCancelled) {
		t.Fatalf("work ended with %v, want cancelled", err)
	}
	if last := v.progress[len(v.progress)-1]; !strings.HasPrefix(last, "stopped") {
		t.Errorf("last status %q", last)
	}
}

func TestEchoRoundTrip(t *testing.T) {
	reactortest.CheckLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := EchoServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := newReactor(t)
	v := &view{}
	r.CallSoon(func() {
		a := New(r, v)
		a.Echo(addr, "hello loom").AddBoth(func(any) any {
			a.Echo("127.0.0.1:1", "nobody there").AddBoth(func(any) any { a.Close(); r.Stop(); return nil })
			return nil
		})
	})
	run(t, r)
	cancel()
	if len(v.echoes) != 2 || !strings.HasPrefix(v.echoes[0], `echo "hello loom" in`) || !strings.HasPrefix(v.echoes[1], "echo failed:") {
		t.Errorf("echoes %q", v.echoes)
	}
}
