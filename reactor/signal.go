package reactor

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signals forwards OS signals to the reactor goroutine. Its goroutine
// starts with the reactor's first pass (or first OnSignal) and ends at
// Close.
type signals struct {
	r               *Reactor
	stopOnInterrupt bool
	started         bool
	closed          bool
	ch              chan os.Signal
	done            chan struct{}
	wg              sync.WaitGroup
	handlers        map[os.Signal][]*sigHandler
}

type sigHandler struct{ f func() }

func newSignals(r *Reactor) *signals {
	return &signals{r: r, handlers: make(map[os.Signal][]*sigHandler)}
}

func (s *signals) start() error {
	if s.started {
		return nil
	}
	s.started = true
	s.ch = make(chan os.Signal, 8)
	s.done = make(chan struct{})
	s.notify(false)
	s.wg.Add(1)
	go s.loop()
	return nil
}

func (s *signals) loop() {
	defer s.wg.Done()
	for {
		select {
		case sig := <-s.ch:
			s.r.CallFromGoroutine(func() { s.deliver(sig) })
		case <-s.done:
			return
		}
	}
}

func (s *signals) deliver(sig os.Signal) {
	hs := s.handlers[sig]
	for _, h := range hs {
		s.r.call(h.f, "signal", -1)
	}
	if len(hs) == 0 && s.stopOnInterrupt && (sig == os.Interrupt || sig == syscall.SIGTERM) {
		s.r.log.Info("reactor: stopping on signal", "signal", sig.String())
		s.r.Stop()
	}
}

// notify subscribes the channel to exactly the signals wanted now. When
// a signal is no longer wanted (removed), the subscription is redone so
// that it gets its default behaviour back; adding never unsubscribes, so
// SIGINT and SIGTERM are never briefly left to their default (kill).
func (s *signals) notify(removed bool) {
	if removed {
		signal.Stop(s.ch)
	}
	var sigs []os.Signal
	if s.stopOnInterrupt {
		sigs = append(sigs, os.Interrupt, syscall.SIGTERM)
	}
	for sig := range s.handlers {
		sigs = append(sigs, sig)
	}
	if len(sigs) > 0 {
		signal.Notify(s.ch, sigs...)
	}
}

func (s *signals) close() {
	s.closed = true
	if !s.started {
		return
	}
	signal.Stop(s.ch)
	close(s.done)
	s.wg.Wait()
}

// OnSignal calls f on the reactor goroutine each time the process
// receives sig, until the returned function is called. Handling SIGINT or
// SIGTERM this way replaces the default of stopping the reactor. It must
// be called on the reactor goroutine.
func (r *Reactor) OnSignal(sig os.Signal, f func()) (stop func()) {
	if r.closed.Load() {
		return func() {}
	}
	if r.signals == nil {
		r.signals = newSignals(r)
	}
	s := r.signals
	h := &sigHandler{f}
	s.handlers[sig] = append(s.handlers[sig], h)
	if s.started {
		s.notify(false)
	} else {
		s.start()
	}
	return func() {
		hs := s.handlers[sig]
		for i, x := range hs {
			if x == h {
				s.handlers[sig] = append(hs[:i:i], hs[i+1:]...)
				break
			}
		}
		if len(s.handlers[sig]) == 0 {
			delete(s.handlers, sig)
			if s.started && !s.closed {
				s.notify(true)
			}
		}
	}
}
