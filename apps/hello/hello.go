// Package hello is the toolkit-free core of loom's smallest sample app:
// a clock that ticks from a reactor timer, slow work done on a goroutine
// with progress reported back to the loop, and a round trip to an echo
// server on loopback. The GTK front end (hello/gtk) only draws what the
// core tells it; every callback below runs on the reactor goroutine,
// which is the GUI thread there.
package hello

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// View is what the core updates; a front end implements it with widgets.
// Its methods are called on the reactor goroutine only.
type View interface {
	SetClock(s string)
	SetProgress(fraction float64, status string)
	SetEcho(s string)
}

// App is the sample app's state.
type App struct {
	r    *reactor.Reactor
	view View
	tick *reactor.DelayedCall
	work *deferred.Deferred
}

// New makes the app and starts its clock. Call on the reactor goroutine.
func New(r *reactor.Reactor, v View) *App {
	a := &App{r: r, view: v}
	a.onTick()
	return a
}

func (a *App) onTick() {
	a.view.SetClock(a.r.Now().Format("15:04:05"))
	a.tick = a.r.CallLater(time.Second, a.onTick)
}

// StartWork runs a slow job (steps × stepTime of sleeping) on a goroutine;
// the job reports progress through CallFromGoroutine and its result
// arrives as a Deferred. Pressing again while it runs cancels it.
func (a *App) StartWork(steps int, stepTime time.Duration) *deferred.Deferred {
	if a.work != nil {
		a.work.Cancel()
		return nil
	}
	a.view.SetProgress(0, "working…")
	d := a.r.DeferToGoroutine(func(ctx context.Context) (any, error) {
		for i := 1; i <= steps; i++ {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(stepTime):
			}
			f := float64(i) / float64(steps)
			a.r.CallFromGoroutine(func() {
				if a.work != nil {
					a.view.SetProgress(f, fmt.Sprintf("step %d of %d", i, steps))
				}
			})
		}
		return steps, nil
	})
	a.work = d
	d.AddCallbacks(func(v any) any {
		a.view.SetProgress(1, fmt.Sprintf("done: %v steps", v))
		a.work = nil
		return v
	}, func(err error) any {
		a.view.SetProgress(0, "stopped: "+shortError(err))
		a.work = nil
		return err
	})
	return d
}

// Echo sends msg to an echo server at addr from a goroutine and shows the
// answer with its round-trip time.
func (a *App) Echo(addr, msg string) *deferred.Deferred {
	start := time.Now()
	d := a.r.DeferToGoroutine(func(ctx context.Context) (any, error) {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(msg)); err != nil {
			return nil, err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		return string(buf), nil
	})
	d.AddCallbacks(func(v any) any {
		a.view.SetEcho(fmt.Sprintf("echo %q in %v", v, time.Since(start).Round(time.Microsecond)))
		return v
	}, func(err error) any {
		a.view.SetEcho("echo failed: " + shortError(err))
		return err
	})
	return d
}

// Close stops the clock and any work.
func (a *App) Close() {
	a.tick.Cancel()
	if a.work != nil {
		a.work.Cancel()
	}
}

func shortError(err error) string {
	s := err.Error()
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// EchoServer serves TCP echo on 127.0.0.1 until ctx ends; it returns the
// address it listens on.
func EchoServer(ctx context.Context) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	context.AfterFunc(ctx, func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// A plain copy: io.Copy would splice through a pipe pair
				// the runtime keeps cached after the connection ends.
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), nil
}
