package reactor_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/loomkit/loom/deferred"
	"github.com/loomkit/loom/reactor"
)

// Typed goroutine work: the promise carries f's own result type, so no
// type assertion is needed on the loop.
func ExampleGo() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	r.CallSoon(func() {
		p := reactor.Go(r, func(ctx context.Context) (string, error) {
			return strings.ToUpper("slow work, off the loop"), nil
		})
		p.OnValue(func(s string) { // on the loop goroutine
			fmt.Println(s)
			r.Stop()
		})
	})
	r.Run(context.Background())
	// Output:
	// SLOW WORK, OFF THE LOOP
}

// Goroutine work that reports progress: the reports arrive on the loop as
// deferred.Progress events, coalesced (a progress bar sees the latest),
// and the last one always arrives before the promise settles.
func ExampleGoWithProgress() {
	r, _ := reactor.New(reactor.WithoutSignalHandlers())
	defer r.Close()

	files := []string{"a.txt", "b.txt", "c.txt", "d.txt"}
	r.CallSoon(func() {
		p := reactor.GoWithProgress(r, deferred.Progress,
			func(ctx context.Context, progress func(deferred.Count)) (int, error) {
				size := 0
				for i, name := range files {
					if err := ctx.Err(); err != nil {
						return 0, err // cancelled
					}
					size += len(name) * 100 // slow work, off the loop
					progress(deferred.Count{Done: int64(i + 1), Total: int64(len(files))})
				}
				return size, nil
			})
		deferred.On(p, deferred.Progress, func(c deferred.Count) {
			// bar.SetValue(c.Fraction()) in a real program; how many
			// reports arrive depends on timing, the last one is certain.
			if c.Done == c.Total {
				fmt.Printf("progress: %d/%d, %.0f%%\n", c.Done, c.Total, 100*c.Fraction())
			}
		})
		p.OnValue(func(size int) {
			fmt.Println("size:", size)
			r.Stop()
		})
	})
	r.Run(context.Background())
	// Output:
	// progress: 4/4, 100%
	// size: 2000
}
