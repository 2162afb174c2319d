package watch_test

import (
	"fmt"
	"log"

	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/watch"
)

// A folder's whole tree, watched natively where the system allows.
func ExampleWatcher() {
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	w, err := watch.New(r, func(ev watch.Event) {
		switch ev.Op {
		case watch.Renamed:
			fmt.Println("moved", ev.OldPath, "to", ev.Path)
		case watch.Overflow:
			fmt.Println("events were lost; the rescan follows")
		default:
			fmt.Println(ev.Op, ev.Path)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Add("/srv/inbox", watch.Options{Recursive: true}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("served by", w.Backend("/srv/inbox"))
	// r.Run(ctx) ...
}

// A log followed through its rotations.
func ExampleTail() {
	r, err := reactor.New()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	_, err = watch.Tail(r, "/var/log/app.log", watch.TailOptions{
		Line: func(line []byte) { fmt.Printf("%s\n", line) },
		Marker: func(m watch.Marker) {
			if m.Kind == watch.Rotated || m.Kind == watch.Truncated {
				fmt.Println("--", m.Kind, "--")
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// r.Run(ctx) ...
}
