package reactor_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the one suite under every backend this OS has.
func TestConformance(t *testing.T) {
	for _, name := range reactor.Backends() {
		t.Run(name, func(t *testing.T) { reactortest.Run(t, reactortest.Plain(name)) })
	}
}

func TestBackends(t *testing.T) {
	names := reactor.Backends()
	if len(names) == 0 || !slices.Contains(names, "poll") {
		t.Fatalf("Backends() = %v, want at least poll", names)
	}
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := names[0]
	if env := os.Getenv("LOOM_BACKEND"); env != "" {
		want = env
	}
	if r.Backend() != want {
		t.Errorf("default backend %q, want %q", r.Backend(), want)
	}
	_, err = reactor.New(reactor.WithBackend("select"))
	if !errors.Is(err, reactor.ErrUnknownBackend) {
		t.Errorf("unknown backend: %v", err)
	}
}

func TestRunEndsWithContext(t *testing.T) {
	reactortest.CheckLeaks(t)
	for _, name := range reactor.Backends() {
		r, err := reactor.New(reactor.WithBackend(name))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		err = r.Run(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: Run = %v, want the context's error", name, err)
		}
		// And it runs again after that.
		r.CallSoon(r.Stop)
		if err := r.Run(context.Background()); err != nil {
			t.Errorf("%s: second Run: %v", name, err)
		}
		r.Close()
	}
}

func TestStopBeforeRun(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Stop()
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		r.CallFromGoroutine(r.Stop)
		<-done
		t.Fatal("Run after Stop did not return")
	}
}

func TestCloseReleasesDescriptors(t *testing.T) {
	for _, name := range reactor.Backends() {
		before := reactortest.OpenFDs(t)
		r, err := reactor.New(reactor.WithBackend(name))
		if err != nil {
			t.Fatal(err)
		}
		r.BackendFD() // the poll backend opens its embedding descriptors here
		r.RunOnce(0)  // and the signal goroutine starts here
		if reactortest.OpenFDs(t) <= before {
			t.Errorf("%s: the reactor opened no descriptor?", name)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if after := reactortest.OpenFDs(t); after != before {
			t.Errorf("%s: %d descriptors before New, %d after Close", name, before, after)
		}
	}
}

// An embedding loop drives passes itself and ends its run with EndRun.
func TestEmbeddedRunEndsWithEndRun(t *testing.T) {
	reactortest.CheckLeaks(t)
	r, err := reactor.New(reactor.WithoutSignalHandlers())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for round := range 2 {
		passes := 0
		r.CallLater(10*time.Millisecond, r.Stop)
		for !r.Stopped() && passes < 1000 {
			if err := r.RunOnce(-1); err != nil {
				t.Fatal(err)
			}
			passes++
		}
		if !r.Stopped() {
			t.Fatalf("round %d: not stopped after %d passes", round, passes)
		}
		r.EndRun()
		if r.Stopped() || r.NextTimeout() == 0 {
			t.Fatalf("round %d: EndRun left Stopped %v, NextTimeout %v", round, r.Stopped(), r.NextTimeout())
		}
	}
}
