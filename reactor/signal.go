package reactor

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signals forwards OS signals to the reactor goroutine. Its goroutines
// start with the reactor's first pass (or first OnSignal) and end at
// Close.
//
// Go's os/signal can only unsubscribe a whole channel (signal.Stop), and
// a signal nobody is subscribed to gets its default action back: for
// SIGINT and SIGTERM, death. So the subscriptions are split: one channel
// for the default stop on SIGINT/SIGTERM, never changed until Close, and
// one channel per signal that has handlers, stopped when its last handler
// goes. Removing a handler never touches another signal's subscription.
type signals struct {
	r               *Reactor
	stopOnInterrupt bool
	started         bool
	closed          bool
	base            chan os.Signal // SIGINT, SIGTERM: the default stop
	subs            map[os.Signal]chan os.Signal
	wg              sync.WaitGroup
	handlers        map[os.Signal][]*sigHandler
}

type sigHandler struct{ f func() }

func newSignals(r *Reactor) *signals {
	return &signals{r: r, handlers: make(map[os.Signal][]*sigHandler), subs: make(map[os.Signal]chan os.Signal)}
}

func (s *signals) start() error {
	if s.started {
		return nil
	}
	s.started = true
	if s.stopOnInterrupt {
		s.base = make(chan os.Signal, 8)
		signal.Notify(s.base, os.Interrupt, syscall.SIGTERM)
		s.forward(s.base, s.deliverDefault)
	}
	for sig := range s.handlers {
		s.subscribe(sig)
	}
	return nil
}

// forward runs a goroutine that hands each signal of ch to the reactor
// goroutine until ch is closed.
func (s *signals) forward(ch chan os.Signal, deliver func(os.Signal)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for sig := range ch {
			s.r.CallFromGoroutine(func() { deliver(sig) })
		}
	}()
}

func (s *signals) subscribe(sig os.Signal) {
	if _, ok := s.subs[sig]; ok || s.closed {
		return
	}
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, sig)
	s.subs[sig] = ch
	s.forward(ch, s.deliverHandlers)
}

func (s *signals) unsubscribe(sig os.Signal) {
	ch, ok := s.subs[sig]
	if !ok {
		return
	}
	delete(s.subs, sig)
	signal.Stop(ch) // after it returns, ch receives nothing more
	close(ch)
}

func (s *signals) deliverHandlers(sig os.Signal) {
	for _, h := range s.handlers[sig] {
		s.r.call(h.f, "signal", -1)
	}
}

// deliverDefault stops the reactor on SIGINT or SIGTERM, unless the
// program handles that signal itself.
func (s *signals) deliverDefault(sig os.Signal) {
	if len(s.handlers[sig]) > 0 {
		return
	}
	s.r.log.Info("reactor: stopping on signal", "signal", sig.String())
	s.r.Stop()
}

func (s *signals) close() {
	if s.closed {
		return
	}
	s.closed = true
	for sig := range s.subs {
		s.unsubscribe(sig)
	}
	if s.base != nil {
		signal.Stop(s.base)
		close(s.base)
		s.base = nil
	}
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
		s.subscribe(sig)
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
			s.unsubscribe(sig)
		}
	}
}
