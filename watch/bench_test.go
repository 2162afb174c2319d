package watch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loomkit/loom/reactor"
)

// BenchmarkLatency measures the time from a write to a watched file to
// the Watcher's Written callback: natively, and by polling every 10ms.
func BenchmarkLatency(b *testing.B) {
	for _, m := range []struct {
		name string
		opts Options
	}{
		{"native", Options{}},
		{"poll-10ms", Options{Poll: true, Interval: 10 * time.Millisecond}},
	} {
		b.Run(m.name, func(b *testing.B) {
			r, err := reactor.New(reactor.WithoutSignalHandlers())
			if err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(b.TempDir(), "f")
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				b.Fatal(err)
			}
			got := make(chan struct{}, 1)
			ready := make(chan error, 1)
			done := make(chan struct{})
			r.CallSoon(func() {
				w, err := New(r, func(ev Event) {
					if ev.Op == Written {
						select {
						case got <- struct{}{}:
						default:
						}
					}
				})
				if err == nil {
					err = w.Add(path, m.opts)
				}
				ready <- err
			})
			go func() {
				r.Run(context.Background())
				close(done)
			}()
			if err := <-ready; err != nil {
				b.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			one := []byte("x")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.Write(one); err != nil {
					b.Fatal(err)
				}
				<-got
			}
			b.StopTimer()
			r.CallFromGoroutine(r.Stop)
			<-done
			r.Close()
		})
	}
}
