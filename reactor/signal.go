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
	disarmed        bool           // a signal began a stop: the next one kills
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
		s.startBase()
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

func (s *signals) startBase() {
	if s.base != nil || s.closed {
		return
	}
	s.base = make(chan os.Signal, 8)
	signal.Notify(s.base, os.Interrupt, syscall.SIGTERM)
	s.forward(s.base, s.deliverDefault)
	s.disarmed = false
}

func (s *signals) stopBase() {
	if s.base == nil {
		return
	}
	signal.Stop(s.base)
	close(s.base)
	s.base = nil
}

// rearm subscribes the default stop again after a signal disarmed it.
func (s *signals) rearm() {
	if s.disarmed && s.base != nil && !s.closed {
		s.disarmed = false
		signal.Notify(s.base, os.Interrupt, syscall.SIGTERM)
	}
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
		s.r.call(h.f, kindSignal, -1)
	}
}

// deliverDefault stops the reactor on SIGINT or SIGTERM, unless the
// program handles that signal itself. Until the run ends (EndRun), the
// next SIGINT or SIGTERM gets the OS's default action, which ends the
// process: a stop held up by a modal loop or a slow Shutdown trigger
// never makes a second signal go unheard.
func (s *signals) deliverDefault(sig os.Signal) {
	if len(s.handlers[sig]) > 0 || s.disarmed || s.base == nil {
		return
	}
	s.r.log.Info("reactor: stopping on signal; another one ends the process", "signal", sig.String())
	s.disarmed = true
	signal.Stop(s.base)
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
	s.stopBase()
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

// SetStopOnInterrupt says whether SIGINT and SIGTERM stop the reactor
// (see Stop). It is on unless the reactor was made WithoutSignalHandlers.
// A program that embeds the reactor in a loop of its own and keeps its
// own signal behaviour turns it off (gtkloop.Attach does, by default).
// Handlers added with OnSignal are not affected. It must be called on the
// reactor goroutine.
func (r *Reactor) SetStopOnInterrupt(on bool) {
	if r.closed.Load() {
		return
	}
	if r.signals == nil {
		if !on {
			return
		}
		r.signals = newSignals(r)
	}
	s := r.signals
	s.stopOnInterrupt = on
	if !s.started {
		return
	}
	if on {
		s.startBase()
	} else {
		s.stopBase()
	}
}

// StopsOnInterrupt reports whether SIGINT and SIGTERM stop the reactor.
func (r *Reactor) StopsOnInterrupt() bool { return r.signals != nil && r.signals.stopOnInterrupt }
