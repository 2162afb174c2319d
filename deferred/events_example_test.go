package deferred_test

import (
	"fmt"

	"github.com/loomkit/loom/deferred"
)

// Phase is an event key: its name and its payload type are fixed together,
// so a misspelt name or a wrong payload fails to compile.
var Phase = deferred.NewEvent[string]("phase")

// A producer emits typed events before settling its promise; observers get
// the payload with its own type, no assertion needed.
func ExampleOn() {
	download, res := deferred.NewPromise[string]()
	deferred.On(download, Phase, func(s string) { fmt.Println("phase:", s) })
	deferred.On(download, deferred.Progress, func(c deferred.Count) {
		fmt.Printf("%d/%d bytes, %.0f%%\n", c.Done, c.Total, c.Fraction()*100)
	})
	download.OnValue(func(body string) { fmt.Println("got", body) })

	deferred.Emit(res, Phase, "connected")
	deferred.Emit(res, deferred.Progress, deferred.Count{Done: 512, Total: 2048})
	deferred.Emit(res, deferred.Progress, deferred.Count{Done: 2048, Total: 2048})
	res.Resolve("the page")
	deferred.Emit(res, Phase, "done") // dropped: the promise has settled
	// Output:
	// phase: connected
	// 512/2048 bytes, 25%
	// 2048/2048 bytes, 100%
	// got the page
}
